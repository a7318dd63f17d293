"""The claim workflow: which status may follow which, and the service level of each step.

    draft → submitted → under_review → approved | partially_approved | rejected
    approved | partially_approved → paid
    draft | submitted | under_review → withdrawn

Every other move is refused with `TransitionNotAllowed` (pages show its message, the API
answers 409). The calculation may be recomputed only while the claim is open for it
(`RECOMPUTABLE`).

Service level (`sla_due_on`, the date the next step is due), set by each transition:

- submitted → the insurer acknowledges within `ACKNOWLEDGE_DAYS` (5) days;
- review started → the insurer decides within `DECISION_DAYS` (30) days;
- approved / partially approved → the insurer pays within `PAYMENT_DAYS` (10) days;
- any other status → nothing is due (None).

Pure: no Django model or database access.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from django.utils.translation import gettext as _

from policies.services.transitions import TransitionNotAllowed

DRAFT: Final = "draft"
SUBMITTED: Final = "submitted"
UNDER_REVIEW: Final = "under_review"
APPROVED: Final = "approved"
PARTIALLY_APPROVED: Final = "partially_approved"
PAID: Final = "paid"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"

ALLOWED: Final[dict[str, frozenset[str]]] = {
    DRAFT: frozenset({SUBMITTED, WITHDRAWN}),
    SUBMITTED: frozenset({UNDER_REVIEW, WITHDRAWN}),
    UNDER_REVIEW: frozenset({APPROVED, PARTIALLY_APPROVED, REJECTED, WITHDRAWN}),
    APPROVED: frozenset({PAID}),
    PARTIALLY_APPROVED: frozenset({PAID}),
    PAID: frozenset(),
    REJECTED: frozenset(),
    WITHDRAWN: frozenset(),
}
DECISIONS: Final = (APPROVED, PARTIALLY_APPROVED, REJECTED)
RECOMPUTABLE: Final = frozenset({DRAFT, SUBMITTED, UNDER_REVIEW})
# Open claims: still waiting for a decision or a payment.
OPEN: Final = frozenset({DRAFT, SUBMITTED, UNDER_REVIEW, APPROVED, PARTIALLY_APPROVED})
# Claims whose indemnity counts against the policy's maximum liability.
COMMITTED: Final = frozenset({APPROVED, PARTIALLY_APPROVED, PAID})
# Final statuses: the claim is closed.
CLOSED: Final = frozenset({PAID, REJECTED, WITHDRAWN})

# Days the insurer has to acknowledge a submitted claim.
ACKNOWLEDGE_DAYS: Final = 5
# Days the insurer has to decide once it started the review.
DECISION_DAYS: Final = 30
# Days the insurer has to pay an approved claim.
PAYMENT_DAYS: Final = 10
SLA_DAYS: Final[dict[str, int]] = {
    SUBMITTED: ACKNOWLEDGE_DAYS,
    UNDER_REVIEW: DECISION_DAYS,
    APPROVED: PAYMENT_DAYS,
    PARTIALLY_APPROVED: PAYMENT_DAYS,
}


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    """Refuse a move the workflow does not allow."""
    if not can_transition(current, target):
        raise TransitionNotAllowed(
            _("A claim cannot go from %(current)s to %(target)s.")
            % {"current": current, "target": target},
            code="transition_not_allowed",
        )


def sla_due_on(status: str, *, on: date) -> date | None:
    """The date the next step is due after moving to `status` on `on`."""
    days = SLA_DAYS.get(status)
    return None if days is None else on + timedelta(days=days)


def check_recomputable(status: str) -> None:
    if status not in RECOMPUTABLE:
        raise TransitionNotAllowed(
            _("The calculation of a claim can only change before it is decided."),
            code="not_recomputable",
        )
