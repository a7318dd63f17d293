"""Whether a claimed invoice is eligible for indemnity: the checks, each with its reason.

Per invoice (facts gathered by `claims.selectors.invoice_facts`), every check below must pass:

- ``cover_in_force`` — the insurer's cover on the buyer in force at the invoice's delivery (its
  issue date) is more than zero.
- ``notified_in_time`` — the overdue was notified to the insurer on or before ``notify_by``
  (`policies.insurance.coverage.is_cover_lost` is false for the claim's filing date). An
  insolvency claim on an invoice not yet due on the insolvency date needs no notification.
- ``waiting_period`` — protracted default only: the claim is filed on or after
  ``earliest_claim`` (due date + waiting period). Other causes pass.
- ``not_disputed`` — the invoice has no open dispute.
- ``within_max_extension`` — the terms were not extended beyond the maximum extension period
  (due date + ``max_extension_days``) without the insurer's consent; a granted extension
  request on the invoice counts as consent up to its date.
- ``filed_in_time`` — the claim is filed on or before ``claim_by``.
- ``risk_covered`` — the claim's cause is one of the policy's covered risks.

Pure: no Django model or database access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from django.utils.translation import gettext_lazy as _

from policies.insurance.coverage import is_cover_lost

COVER_IN_FORCE: Final = "cover_in_force"
NOTIFIED_IN_TIME: Final = "notified_in_time"
WAITING_PERIOD: Final = "waiting_period"
NOT_DISPUTED: Final = "not_disputed"
WITHIN_MAX_EXTENSION: Final = "within_max_extension"
FILED_IN_TIME: Final = "filed_in_time"
RISK_COVERED: Final = "risk_covered"
CHECKS: Final = (
    COVER_IN_FORCE,
    NOTIFIED_IN_TIME,
    WAITING_PERIOD,
    NOT_DISPUTED,
    WITHIN_MAX_EXTENSION,
    FILED_IN_TIME,
    RISK_COVERED,
)

CHECK_LABELS: Final = {
    COVER_IN_FORCE: _("Cover in force at delivery"),
    NOTIFIED_IN_TIME: _("Overdue notified in time"),
    WAITING_PERIOD: _("Waiting period elapsed"),
    NOT_DISPUTED: _("Not disputed"),
    WITHIN_MAX_EXTENSION: _("Within the maximum extension period"),
    FILED_IN_TIME: _("Claim filed before the deadline"),
    RISK_COVERED: _("Risk covered by the policy"),
}

INSOLVENCY: Final = "insolvency"
PROTRACTED_DEFAULT: Final = "protracted_default"


@dataclass(frozen=True)
class InvoiceFacts:
    """What the checks need to know about one claimed invoice (amounts in policy currency)."""

    invoice_id: int
    issue_date: date
    due_date: date
    cover_at_delivery: Decimal
    disputed: bool
    notify_by: date
    sent_on: date | None
    earliest_claim: date
    claim_by: date
    max_extension_end: date
    extended_until: date | None = None
    consented_until: date | None = None


@dataclass(frozen=True)
class ClaimFacts:
    cause: str
    loss_date: date
    filed_on: date
    covered_risks: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    reason: str
    params: dict[str, str]

    def as_json(self) -> dict[str, object]:
        return {
            "check": self.code,
            "passed": self.passed,
            "reason": self.reason,
            "params": dict(self.params),
        }


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def cover_check(facts: InvoiceFacts) -> Check:
    passed = facts.cover_at_delivery > 0
    return Check(
        COVER_IN_FORCE,
        passed,
        "cover_positive" if passed else "no_cover_at_delivery",
        {"delivered_on": _day(facts.issue_date), "cover": str(facts.cover_at_delivery)},
    )


def notification_check(facts: InvoiceFacts, claim: ClaimFacts) -> Check:
    params = {"notify_by": _day(facts.notify_by), "sent_on": _day(facts.sent_on)}
    if claim.cause == INSOLVENCY and facts.due_date > claim.loss_date:
        return Check(NOTIFIED_IN_TIME, True, "not_due_at_insolvency", params)
    lost = is_cover_lost(notify_by=facts.notify_by, as_of=claim.filed_on, sent_on=facts.sent_on)
    if not lost:
        reason = "notified" if facts.sent_on is not None else "deadline_not_passed"
        return Check(NOTIFIED_IN_TIME, True, reason, params)
    reason = "notified_late" if facts.sent_on is not None else "not_notified"
    return Check(NOTIFIED_IN_TIME, False, reason, params)


def waiting_period_check(facts: InvoiceFacts, claim: ClaimFacts) -> Check:
    params = {"earliest_claim": _day(facts.earliest_claim), "filed_on": _day(claim.filed_on)}
    if claim.cause != PROTRACTED_DEFAULT:
        return Check(WAITING_PERIOD, True, "not_applicable", params)
    passed = claim.filed_on >= facts.earliest_claim
    return Check(WAITING_PERIOD, passed, "elapsed" if passed else "too_early", params)


def dispute_check(facts: InvoiceFacts) -> Check:
    return Check(
        NOT_DISPUTED,
        not facts.disputed,
        "disputed" if facts.disputed else "undisputed",
        {},
    )


def extension_check(facts: InvoiceFacts) -> Check:
    params = {
        "max_extension_end": _day(facts.max_extension_end),
        "extended_until": _day(facts.extended_until),
        "consented_until": _day(facts.consented_until),
    }
    extended = facts.extended_until
    if extended is None or extended <= facts.max_extension_end:
        return Check(WITHIN_MAX_EXTENSION, True, "within_period", params)
    if facts.consented_until is not None and facts.consented_until >= extended:
        return Check(WITHIN_MAX_EXTENSION, True, "insurer_consented", params)
    return Check(WITHIN_MAX_EXTENSION, False, "extended_without_consent", params)


def filing_check(facts: InvoiceFacts, claim: ClaimFacts) -> Check:
    passed = claim.filed_on <= facts.claim_by
    return Check(
        FILED_IN_TIME,
        passed,
        "in_time" if passed else "filed_late",
        {"claim_by": _day(facts.claim_by), "filed_on": _day(claim.filed_on)},
    )


def risk_check(claim: ClaimFacts) -> Check:
    passed = claim.cause in claim.covered_risks
    return Check(
        RISK_COVERED,
        passed,
        "covered" if passed else "risk_not_covered",
        {"cause": claim.cause, "covered_risks": ",".join(claim.covered_risks)},
    )


def invoice_checks(facts: InvoiceFacts, claim: ClaimFacts) -> list[Check]:
    """Every check of one invoice, in the order of `CHECKS`."""
    return [
        cover_check(facts),
        notification_check(facts, claim),
        waiting_period_check(facts, claim),
        dispute_check(facts),
        extension_check(facts),
        filing_check(facts, claim),
        risk_check(claim),
    ]


def is_eligible(checks: Sequence[Check]) -> bool:
    return all(check.passed for check in checks)


def max_extension_end(*, due_date: date, max_extension_days: int) -> date:
    """The end of the maximum extension period without consent."""
    return due_date + timedelta(days=max_extension_days)
