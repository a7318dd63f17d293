""" "May I ship this order?" — the credit check ERPs call before delivering (pure).

Every amount is in the tenant's base currency. The answer is `approve` unless at least one
reason to hold applies; all reasons that apply are returned, in this order:

- `blocked`: the buyer is on hold, insolvent or closed, or its limit is blocked;
- `no_limit`: the buyer has no credit limit, or it has expired or been cancelled;
- `over_limit`: exposure + order amount > limit (a blocked limit still counts as a limit);
- `overdue_beyond_threshold`: the amount overdue by more than the policy's number of days is
  larger than the policy's tolerated amount;
- `grade_below_minimum`: the buyer's grade is worse (numerically higher) than the policy's lowest
  grade accepted for new orders; an unrated buyer is not held for its grade (the limit decision
  already looked at it);
- `terms_beyond_policy`: the order's payment terms are longer than the policy band allows for
  the buyer's grade or than the terms approved with the limit, whichever is shorter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

ZERO = Decimal("0")
BLOCKING_BUYER_STATUSES = frozenset({"on_hold", "insolvent", "closed"})
USABLE_LIMIT_STATUSES = frozenset({"active", "blocked"})

# A figure behind a reason: an amount, a grade, a number of days, a status or a date.
ReasonValue: TypeAlias = Decimal | int | str | date | None


class Decision(StrEnum):
    APPROVE = "approve"
    HOLD = "hold"


class ReasonCode(StrEnum):
    BLOCKED = "blocked"
    NO_LIMIT = "no_limit"
    OVER_LIMIT = "over_limit"
    OVERDUE_BEYOND_THRESHOLD = "overdue_beyond_threshold"
    GRADE_BELOW_MINIMUM = "grade_below_minimum"
    TERMS_BEYOND_POLICY = "terms_beyond_policy"


@dataclass(frozen=True)
class LimitState:
    amount: Decimal
    status: str  # CreditLimit.Status value
    payment_terms_days: int | None = None
    expiry_date: date | None = None


@dataclass(frozen=True)
class CheckRules:
    """The credit policy's settings for this buyer (band terms for its grade)."""

    overdue_days: int
    overdue_amount: Decimal
    lowest_acceptable_grade: int | None = None
    max_terms_days: int | None = None


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    values: dict[str, ReasonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class CreditCheckResult:
    decision: Decision
    reasons: tuple[Reason, ...]
    limit: Decimal | None
    exposure: Decimal
    available: Decimal


def evaluate(
    *,
    order_amount: Decimal,
    order_terms_days: int | None,
    buyer_status: str,
    limit: LimitState | None,
    exposure: Decimal,
    overdue_beyond_days: Decimal,
    grade: int | None,
    rules: CheckRules,
) -> CreditCheckResult:
    reasons: list[Reason] = []
    usable = limit if limit is not None and limit.status in USABLE_LIMIT_STATUSES else None

    if buyer_status in BLOCKING_BUYER_STATUSES or (limit is not None and limit.status == "blocked"):
        reasons.append(
            Reason(
                ReasonCode.BLOCKED,
                {"buyer_status": buyer_status, "limit_status": limit.status if limit else None},
            )
        )
    if usable is None:
        reasons.append(
            Reason(
                ReasonCode.NO_LIMIT,
                {
                    "limit_status": limit.status if limit else None,
                    "expiry_date": limit.expiry_date if limit else None,
                },
            )
        )
    elif exposure + order_amount > usable.amount:
        reasons.append(
            Reason(
                ReasonCode.OVER_LIMIT,
                {
                    "limit": usable.amount,
                    "exposure": exposure,
                    "order_amount": order_amount,
                    "excess": exposure + order_amount - usable.amount,
                },
            )
        )
    if overdue_beyond_days > rules.overdue_amount:
        reasons.append(
            Reason(
                ReasonCode.OVERDUE_BEYOND_THRESHOLD,
                {
                    "overdue_amount": overdue_beyond_days,
                    "days": rules.overdue_days,
                    "threshold": rules.overdue_amount,
                },
            )
        )
    if (
        grade is not None
        and rules.lowest_acceptable_grade is not None
        and grade > rules.lowest_acceptable_grade
    ):
        reasons.append(
            Reason(
                ReasonCode.GRADE_BELOW_MINIMUM,
                {"grade": grade, "lowest_acceptable_grade": rules.lowest_acceptable_grade},
            )
        )
    allowed_terms = [
        days
        for days in (
            rules.max_terms_days,
            usable.payment_terms_days if usable is not None else None,
        )
        if days is not None
    ]
    if order_terms_days is not None and allowed_terms and order_terms_days > min(allowed_terms):
        reasons.append(
            Reason(
                ReasonCode.TERMS_BEYOND_POLICY,
                {"terms_days": order_terms_days, "max_terms_days": min(allowed_terms)},
            )
        )

    limit_amount = usable.amount if usable is not None else None
    available = max(limit_amount - exposure, ZERO) if limit_amount is not None else ZERO
    return CreditCheckResult(
        decision=Decision.HOLD if reasons else Decision.APPROVE,
        reasons=tuple(reasons),
        limit=limit_amount,
        exposure=exposure,
        available=available,
    )
