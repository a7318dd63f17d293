"""The insurer's cover on a buyer over time: when a decision takes effect, and the amount in
force on a day.

- A grant or an increase takes effect on its decision date; a reduction or a withdrawal only
  after the policy's notice period (`cover_notice_days`), so deliveries made in the meantime
  keep the previous cover; a refusal or an expiry records the end on its date.
- The cover in force on a day is the amount of the latest decision effective on or before it
  (ties: the later recorded), and nothing when that decision is a withdrawal, refusal or
  expiry, or when the day is after its expiry date.

Pure (`effective_date`, `amount_in_force`) and SQL (`COVER_IN_FORCE_CTE`), kept in agreement
by tests/insurance/test_scope.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ..models import CoverDecision

Kind = CoverDecision.Kind
ZERO = Decimal("0.00")
AFTER_NOTICE = frozenset({Kind.REDUCTION.value, Kind.WITHDRAWAL.value})
ENDING = frozenset({Kind.WITHDRAWAL.value, Kind.REFUSAL.value, Kind.EXPIRY.value})


@dataclass(frozen=True)
class DecisionFigure:
    """One recorded decision, as the rules read it (`id` orders decisions of one day)."""

    id: int
    kind: str
    amount: Decimal
    effective_date: date
    expiry_date: date | None = None


def effective_date(*, kind: str, decision_date: date, notice_days: int) -> date:
    """When a decision of `kind` made on `decision_date` takes effect."""
    if kind in AFTER_NOTICE:
        return decision_date + timedelta(days=notice_days)
    return decision_date


def amount_in_force(decisions: Sequence[DecisionFigure], day: date) -> Decimal:
    """The cover in force on `day` after `decisions` (any order)."""
    effective = [decision for decision in decisions if decision.effective_date <= day]
    if not effective:
        return ZERO
    latest = max(effective, key=lambda decision: (decision.effective_date, decision.id))
    if latest.kind in ENDING or (latest.expiry_date is not None and latest.expiry_date < day):
        return ZERO
    return latest.amount


# The same rule in SQL. Parameters: %(tenant)s, %(as_of)s. Defines
#   cover_in_force(cover_id, buyer_id, policy_id, insurer, amount, currency)
# with one row per cover that has an amount in force on as_of (in the decision's currency).
COVER_IN_FORCE_CTE = """
cover_latest AS (
    SELECT DISTINCT ON (d.cover_id)
           d.cover_id, d.kind, d.amount, d.currency, d.expiry_date
    FROM policies_coverdecision d
    WHERE d.tenant_id = %(tenant)s AND d.effective_date <= %(as_of)s
    ORDER BY d.cover_id, d.effective_date DESC, d.id DESC
),
cover_in_force AS (
    SELECT l.cover_id, c.buyer_id, c.policy_id, c.insurer, l.amount, l.currency
    FROM cover_latest l
    JOIN policies_insurercover c ON c.tenant_id = %(tenant)s AND c.id = l.cover_id
    WHERE l.kind NOT IN ('withdrawal', 'refusal', 'expiry')
      AND (l.expiry_date IS NULL OR l.expiry_date >= %(as_of)s)
      AND l.amount > 0
)
"""
