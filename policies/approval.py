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

Approvals keep the credit policy (`breaches`). An approval is outside the policy when:
- the buyer's grade is worse (higher) than the policy's lowest acceptable grade, or its band
  grants no credit (maximum limit 0);
- the amount is above one of the band's caps on this buyer (its maximum limit, its % of equity
  or of revenue, or the limit without financial statements), unless the insurer's cover lifted
  the recommendation above that cap, as the recommendation rules allow;
- otherwise, the amount is above the recommendation (e.g. credit above the band's insurance
  threshold that is not insured);
- the terms are above the band's maximum payment terms.
Empty terms grant the requested terms within the band's maximum (`decided_terms`).
Such an approval is refused unless it is an explicit override: a reason is given, and the
approver's role may override the credit policy (those who may change it). Each approver of a
round answers for their own approval, so under four-eyes both approvals must be overrides,
and authority and four-eyes rules apply to overrides unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .recommendation import Band, Recommendation

ZERO = Decimal("0")


class Objection(StrEnum):
    NOT_PENDING = "not_pending"
    NO_PERMISSION = "no_permission"
    OWN_REQUEST = "own_request"
    ABOVE_AUTHORITY = "above_authority"
    ALREADY_APPROVED = "already_approved"
    AMOUNT_NOT_BELOW = "amount_not_below"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    COMMENT_REQUIRED = "comment_required"
    OVERRIDE_NOT_ALLOWED = "override_not_allowed"


class Breach(StrEnum):
    """How an approval would leave the credit policy."""

    GRADE_BELOW_MINIMUM = "grade_below_minimum"
    NO_CREDIT_BAND = "no_credit_band"
    AMOUNT_ABOVE_BAND_MAXIMUM = "amount_above_band_maximum"
    AMOUNT_ABOVE_EQUITY_CAP = "amount_above_equity_cap"
    AMOUNT_ABOVE_REVENUE_CAP = "amount_above_revenue_cap"
    AMOUNT_ABOVE_NO_FINANCIALS_CAP = "amount_above_no_financials_cap"
    AMOUNT_ABOVE_RECOMMENDATION = "amount_above_recommendation"
    TERMS_ABOVE_MAXIMUM = "terms_above_maximum"


# The recommendation step that states each cap of the band on this buyer.
CAP_STEPS: dict[str, Breach] = {
    "band_maximum": Breach.AMOUNT_ABOVE_BAND_MAXIMUM,
    "equity_cap": Breach.AMOUNT_ABOVE_EQUITY_CAP,
    "revenue_cap": Breach.AMOUNT_ABOVE_REVENUE_CAP,
    "no_financials_cap": Breach.AMOUNT_ABOVE_NO_FINANCIALS_CAP,
}
# The input of the decision each breach is about (form field and API field).
BREACH_FIELDS: dict[Breach, str] = {
    Breach.GRADE_BELOW_MINIMUM: "decision",
    Breach.NO_CREDIT_BAND: "amount",
    Breach.AMOUNT_ABOVE_BAND_MAXIMUM: "amount",
    Breach.AMOUNT_ABOVE_EQUITY_CAP: "amount",
    Breach.AMOUNT_ABOVE_REVENUE_CAP: "amount",
    Breach.AMOUNT_ABOVE_NO_FINANCIALS_CAP: "amount",
    Breach.AMOUNT_ABOVE_RECOMMENDATION: "amount",
    Breach.TERMS_ABOVE_MAXIMUM: "payment_terms_days",
}


@dataclass(frozen=True)
class PolicyBreach:
    """`value` is what the approval grants (amount, days or the buyer's grade), `limit` what
    the policy allows."""

    code: Breach
    value: Decimal | int
    limit: Decimal | int

    @property
    def field(self) -> str:
        return BREACH_FIELDS[self.code]

    @classmethod
    def from_json(cls, row: dict[str, str | int]) -> PolicyBreach:
        def figure(value: str | int) -> Decimal | int:
            return Decimal(value) if isinstance(value, str) else value

        return cls(Breach(str(row["code"])), figure(row["value"]), figure(row["limit"]))

    def as_json(self) -> dict[str, str | int]:
        return {
            "code": self.code.value,
            "value": str(self.value) if isinstance(self.value, Decimal) else self.value,
            "limit": str(self.limit) if isinstance(self.limit, Decimal) else self.limit,
        }


@dataclass(frozen=True)
class PolicyLimits:
    """What the credit policy in force allows one buyer, amounts in base currency: shown beside
    the decision inputs and checked by `breaches`."""

    grade: int | None
    lowest_acceptable_grade: int
    band: Band | None  # None: the buyer is unrated (or no band covers its grade)
    caps: tuple[tuple[Breach, Decimal], ...]
    recommended_amount: Decimal
    recommended_terms_days: int | None

    @property
    def max_terms_days(self) -> int | None:
        return None if self.band is None else self.band.max_payment_terms_days

    @property
    def cap(self) -> Decimal | None:
        """The tightest of the band's caps on this buyer."""
        return min((amount for _code, amount in self.caps), default=None)

    @property
    def no_credit(self) -> bool:
        return self.band is not None and self.band.max_limit <= 0

    @property
    def grade_below_minimum(self) -> bool:
        return self.grade is not None and self.grade > self.lowest_acceptable_grade


def policy_limits(
    *,
    grade: int | None,
    lowest_acceptable_grade: int,
    band: Band | None,
    recommendation: Recommendation,
) -> PolicyLimits:
    return PolicyLimits(
        grade=grade,
        lowest_acceptable_grade=lowest_acceptable_grade,
        band=band,
        caps=tuple(
            (CAP_STEPS[step.code], step.amount)
            for step in recommendation.steps
            if step.code in CAP_STEPS and step.amount is not None
        ),
        recommended_amount=recommendation.amount,
        recommended_terms_days=recommendation.payment_terms_days,
    )


def decided_terms(
    *, limits: PolicyLimits | None, terms_days: int | None, requested_terms_days: int
) -> int:
    """The terms an approval grants: those entered, else the requested terms within the band's
    maximum (never the requested terms above it)."""
    if terms_days is not None:
        return terms_days
    if limits is None or limits.max_terms_days is None:
        return requested_terms_days
    return min(requested_terms_days, limits.max_terms_days)


def breaches(
    *, limits: PolicyLimits | None, amount: Decimal, terms_days: int
) -> list[PolicyBreach]:
    """How approving `amount` at `terms_days` leaves the credit policy (empty: it keeps it).
    Without a policy in force (`limits` None) there is nothing to keep."""
    if limits is None:
        return []
    found: list[PolicyBreach] = []
    if limits.grade is not None and limits.grade_below_minimum:
        found.append(
            PolicyBreach(Breach.GRADE_BELOW_MINIMUM, limits.grade, limits.lowest_acceptable_grade)
        )
    if limits.no_credit:
        if amount > 0:
            found.append(PolicyBreach(Breach.NO_CREDIT_BAND, amount, ZERO))
    elif amount > limits.recommended_amount:
        # Insurer cover may lift the recommendation above a cap (recommendation step 6a): such
        # a cap no longer binds, and the amount is measured against the recommendation.
        exceeded = [
            PolicyBreach(code, amount, cap)
            for code, cap in limits.caps
            if amount > cap >= limits.recommended_amount
        ]
        found.extend(
            exceeded
            or [PolicyBreach(Breach.AMOUNT_ABOVE_RECOMMENDATION, amount, limits.recommended_amount)]
        )
    if limits.max_terms_days is not None and terms_days > limits.max_terms_days:
        found.append(PolicyBreach(Breach.TERMS_ABOVE_MAXIMUM, terms_days, limits.max_terms_days))
    return found


def override_needed(*, found: Sequence[PolicyBreach], override_reason: str) -> bool:
    """An approval outside the policy needs a reason to be taken as an override."""
    return bool(found) and not override_reason.strip()


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
    overriding: bool = False,
    may_override: bool = False,
) -> list[Objection]:
    """Why this decision may not be taken (empty: it may).

    `authority` is the decider's approval authority in base currency (None: unknown, e.g. no
    exchange rate for its currency, which never covers anything). `overriding`: the approval
    is outside the credit policy and given as an override (with a reason); only a member who
    `may_override` takes it.
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
        if overriding and not may_override:
            found.append(Objection.OVERRIDE_NOT_ALLOWED)
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
