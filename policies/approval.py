"""Who may approve a limit request, and when a request is decided (pure).

- Only a member whose role may decide limits can decide, and never on their own request.
- An approver's approval authority (converted to base currency) must cover the amount they
  approve; refusing or asking for information needs no particular authority.
- Four-eyes: two *distinct* approvers are needed when the amount exceeds the credit policy's
  four-eyes threshold, or when the policy band of the buyer's grade always requires two.
- Each approval approves an amount: "approve" takes the amount on the table (the requested
  amount, or a lower amount an earlier approver of the same round approved); "approve
  partially" names a lower amount. The granted amount is the smallest approved amount, and
  the number of approvals needed is computed for that amount.
- A refusal by any approver ends the request. Asking for information returns it to the
  requester; when they resubmit, a new round starts and earlier approvals no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Objection(StrEnum):
    NOT_PENDING = "not_pending"
    NO_PERMISSION = "no_permission"
    OWN_REQUEST = "own_request"
    ABOVE_AUTHORITY = "above_authority"
    ALREADY_APPROVED = "already_approved"
    AMOUNT_NOT_BELOW = "amount_not_below"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    COMMENT_REQUIRED = "comment_required"


@dataclass(frozen=True)
class Approval:
    approver_id: int | None  # None: the approver's user account has been deleted since
    amount: Decimal


def required_approvals(
    *, amount: Decimal, four_eyes_threshold: Decimal, band_four_eyes: bool
) -> int:
    return 2 if band_four_eyes or amount > four_eyes_threshold else 1


def amount_on_the_table(*, requested_amount: Decimal, approvals: list[Approval]) -> Decimal:
    return min([requested_amount, *(approval.amount for approval in approvals)])


def objections(
    *,
    is_pending: bool,
    may_decide: bool,
    decider_id: int,
    requester_id: int | None,
    approving: bool,
    amount: Decimal | None,
    authority: Decimal | None,
    earlier_approver_ids: set[int | None],
) -> list[Objection]:
    """Why this decision may not be taken (empty: it may).

    `authority` is the decider's approval authority in base currency (None: unknown, e.g. no
    exchange rate for its currency, which never covers anything).
    """
    found: list[Objection] = []
    if not is_pending:
        found.append(Objection.NOT_PENDING)
    if not may_decide:
        found.append(Objection.NO_PERMISSION)
    if requester_id is not None and decider_id == requester_id:
        found.append(Objection.OWN_REQUEST)
    if approving:
        if decider_id in earlier_approver_ids:
            found.append(Objection.ALREADY_APPROVED)
        if amount is not None and (authority is None or amount > authority):
            found.append(Objection.ABOVE_AUTHORITY)
    return found


@dataclass(frozen=True)
class RoundOutcome:
    granted_amount: Decimal | None  # None: more approvals needed
    approvals_needed: int
    approvals_given: int


def round_outcome(
    *,
    requested_amount: Decimal,
    approvals: list[Approval],
    four_eyes_threshold: Decimal,
    band_four_eyes: bool,
) -> RoundOutcome:
    amount = amount_on_the_table(requested_amount=requested_amount, approvals=approvals)
    needed = required_approvals(
        amount=amount, four_eyes_threshold=four_eyes_threshold, band_four_eyes=band_four_eyes
    )
    distinct = len({approval.approver_id for approval in approvals})
    return RoundOutcome(
        granted_amount=amount if approvals and distinct >= needed else None,
        approvals_needed=needed,
        approvals_given=distinct,
    )
