"""Discretionary credit limits (DCL): cover the policyholder may give itself on a buyer, within
the policy's DCL rules, without asking the insurer (pure: no database).

The rule (`discretionary_limit`):

- The policy offers a DCL only when `dcl_max_amount` > 0.
- The buyer needs an own credit limit (`own_limit`, in the policy currency, above zero): the
  DCL never exceeds the credit the policyholder itself is prepared to give.
- At least one of the configured conditions holds (either suffices):
  - a credit report not older than `dcl_report_max_age_days` on `as_of`
    (as_of − report date ≤ that many days), when the policy sets a maximum age;
  - at least `dcl_min_on_time_payments` invoices paid on time within the lookback, when the
    policy sets a number.
- Then the DCL is min(`dcl_max_amount`, own limit); otherwise there is none (0).

Evidence, as the callers gather it (`policies.insurance.policy_selectors.dcl_evidence`):

- the credit report date is the date the buyer's newest financial statement was recorded;
- an on-time payment is a paid invoice whose payment date is on or before its due date and
  within the lookback (`dcl_payment_lookback_days` up to `as_of`, see `paid_on_time`).

The result carries reason codes (`DclReason`) so a page can say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from buyers.receivables import PAID_INVOICE_STATUS

ZERO = Decimal("0")


class DclTerms(Protocol):
    """The DCL rules of a policy version (a `PolicyVersion` or `terms.PolicyTerms`)."""

    @property
    def dcl_max_amount(self) -> Decimal: ...

    @property
    def dcl_report_max_age_days(self) -> int | None: ...

    @property
    def dcl_min_on_time_payments(self) -> int | None: ...


@dataclass(frozen=True)
class DclEvidence:
    """What the DCL rules are checked on. `own_limit` is in the policy currency (None: the buyer
    has no usable own limit, or it cannot be converted)."""

    credit_report_date: date | None
    on_time_payments: int
    own_limit: Decimal | None


class DclReason(StrEnum):
    NO_DCL = "no_dcl"  # the policy offers no DCL
    NO_CONDITION = "no_condition"  # the policy names no condition (invalid terms)
    NO_OWN_LIMIT = "no_own_limit"
    REPORT_RECENT = "report_recent"
    REPORT_MISSING = "report_missing"
    REPORT_TOO_OLD = "report_too_old"
    PAYMENTS_ON_TIME = "payments_on_time"
    TOO_FEW_PAYMENTS = "too_few_payments"
    CAPPED_BY_OWN_LIMIT = "capped_by_own_limit"
    CAPPED_BY_DCL_MAXIMUM = "capped_by_dcl_maximum"


@dataclass(frozen=True)
class DclResult:
    amount: Decimal
    eligible: bool
    reasons: list[str] = field(default_factory=list)


def report_is_recent(*, report_date: date | None, max_age_days: int, as_of: date) -> bool:
    return report_date is not None and (as_of - report_date).days <= max_age_days


def paid_on_time(
    *, status: str, due_date: date, paid_date: date | None, as_of: date, lookback_days: int
) -> bool:
    """An invoice paid on or before its due date, the payment within `lookback_days` up to
    `as_of` (`policy_selectors.on_time_q` is the same rule for the ORM)."""
    return (
        status == PAID_INVOICE_STATUS
        and paid_date is not None
        and as_of - timedelta(days=lookback_days) <= paid_date <= as_of
        and paid_date <= due_date
    )


def discretionary_limit(terms: DclTerms, evidence: DclEvidence, as_of: date) -> DclResult:
    """The DCL a buyer may have under `terms` on `as_of` (see the module docstring)."""
    if terms.dcl_max_amount <= ZERO:
        return DclResult(ZERO, False, [DclReason.NO_DCL.value])
    max_age = terms.dcl_report_max_age_days
    min_payments = terms.dcl_min_on_time_payments
    if max_age is None and min_payments is None:
        return DclResult(ZERO, False, [DclReason.NO_CONDITION.value])
    reasons: list[str] = []
    met = False
    if max_age is not None:
        if report_is_recent(
            report_date=evidence.credit_report_date, max_age_days=max_age, as_of=as_of
        ):
            reasons.append(DclReason.REPORT_RECENT.value)
            met = True
        elif evidence.credit_report_date is None:
            reasons.append(DclReason.REPORT_MISSING.value)
        else:
            reasons.append(DclReason.REPORT_TOO_OLD.value)
    if min_payments is not None:
        if evidence.on_time_payments >= min_payments:
            reasons.append(DclReason.PAYMENTS_ON_TIME.value)
            met = True
        else:
            reasons.append(DclReason.TOO_FEW_PAYMENTS.value)
    if evidence.own_limit is None or evidence.own_limit <= ZERO:
        return DclResult(ZERO, False, [DclReason.NO_OWN_LIMIT.value, *reasons])
    if not met:
        return DclResult(ZERO, False, reasons)
    if evidence.own_limit < terms.dcl_max_amount:
        return DclResult(evidence.own_limit, True, [*reasons, DclReason.CAPPED_BY_OWN_LIMIT.value])
    return DclResult(terms.dcl_max_amount, True, [*reasons, DclReason.CAPPED_BY_DCL_MAXIMUM.value])
