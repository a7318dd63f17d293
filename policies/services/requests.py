"""Limit requests and decisions: request, decide (four-eyes, authority), answer a request for
information, withdraw. The rules of a decision are in `policies.approval`; the edge (API
serializer or page form) parses the input and these services trust the typed values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.api.models import ApiKey
from creditguard.audit.services import actor_label, audit_record, snapshot
from creditguard.dates import today
from creditguard.tenancy.models import Tenant

from .. import approval, selectors
from ..models import CreditPolicy, CreditPolicyBand, LimitDecision, LimitRequest
from ..recommendation import Recommendation
from ..texts import amount_text, breach_text, objection_text
from .limits import credit_limit_set
from .notifications import notify

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

ZERO = Decimal("0")
REQUEST_FIELDS = ["amount", "payment_terms_days", "status", "round", "granted_amount"]


class DecisionNotAllowed(Exception):
    """The actor may not take this decision on this request (see `objections`)."""

    def __init__(self, objections: Sequence[approval.Objection]) -> None:
        self.objections = list(objections)
        super().__init__(" ".join(objection_text(objection) for objection in self.objections))

    @property
    def messages(self) -> list[str]:
        return [objection_text(objection) for objection in self.objections]


def _recommendation_snapshot(recommendation: Recommendation | None) -> dict[str, Any]:
    if recommendation is None:
        return {}
    return {
        "amount": str(recommendation.amount),
        "payment_terms_days": recommendation.payment_terms_days,
        "binding": recommendation.binding,
        "steps": [
            {"code": step.code, "amount": None if step.amount is None else str(step.amount)}
            for step in recommendation.steps
        ],
        "warnings": [step.code for step in recommendation.warnings],
    }


def _current_recommendation(
    *, tenant: Tenant, request: LimitRequest, as_of: date
) -> tuple[CreditPolicy | None, int | None, Recommendation | None]:
    """The policy in force, the buyer's grade and the recommendation on the request now."""
    figures = selectors.buyer_figures(tenant=tenant, buyer_ids=[request.buyer_id], as_of=as_of)[
        request.buyer_id
    ]
    policy = selectors.policy_in_force(on=as_of)
    recommendation = selectors.recommend_for(
        figures=figures,
        policy=policy,
        requested_amount=request.amount,
        requested_terms_days=request.payment_terms_days,
    )
    return policy, figures.grade, recommendation


def policy_limits_for(
    *, policy: CreditPolicy | None, grade: int | None, recommendation: Recommendation | None
) -> approval.PolicyLimits | None:
    """What the policy in force allows the buyer (None without a policy): the input of
    `approval.breaches`, and what the decision form shows beside its inputs."""
    if policy is None or recommendation is None:
        return None
    band = selectors.band_for(policy, grade)
    return approval.policy_limits(
        grade=grade,
        lowest_acceptable_grade=policy.lowest_acceptable_grade,
        band=selectors.pure_band(band) if band else None,
        recommendation=recommendation,
    )


def limit_request_breaches(
    *,
    tenant: Tenant,
    request: LimitRequest,
    amount: Decimal | None = None,
    payment_terms_days: int | None = None,
    as_of: date | None = None,
) -> list[approval.PolicyBreach]:
    """How approving `amount` (default: the amount on the table) at `payment_terms_days`
    (default: the requested terms within the band's maximum) would leave the credit policy."""
    as_of = as_of or today()
    policy, grade, recommendation = _current_recommendation(
        tenant=tenant, request=request, as_of=as_of
    )
    limits = policy_limits_for(policy=policy, grade=grade, recommendation=recommendation)
    if amount is None:
        amount = approval.amount_on_the_table(
            requested_amount=request.amount, approvals=selectors.current_round_approvals(request)
        )
    terms = approval.decided_terms(
        limits=limits,
        terms_days=payment_terms_days,
        requested_terms_days=request.payment_terms_days,
    )
    return approval.breaches(limits=limits, amount=amount, terms_days=terms)


class PolicyOverrideRequired(ValidationError):
    """An approval outside the credit policy without a reason to override it. Each breach is
    an error of the input it is about, and `override_reason` says what is missing."""

    def __init__(
        self, breaches: Sequence[approval.PolicyBreach], *, currency: str, may_override: bool
    ) -> None:
        self.breaches = list(breaches)
        self.currency = currency
        errors: dict[str, list[str]] = {}
        for breach in self.breaches:
            errors.setdefault(breach.field, []).append(breach_text(breach, currency))
        errors["override_reason"] = [
            _("Outside the credit policy: give a reason to approve it as an override.")
            if may_override
            else objection_text(approval.Objection.OVERRIDE_NOT_ALLOWED)
        ]
        super().__init__(errors)


def _refresh_recommendation(*, tenant: Tenant, request: LimitRequest, as_of: date) -> None:
    policy, _grade, recommendation = _current_recommendation(
        tenant=tenant, request=request, as_of=as_of
    )
    request.policy = policy
    request.recommended_amount = recommendation.amount if recommendation else None
    request.recommended_terms_days = recommendation.payment_terms_days if recommendation else None
    request.recommendation = _recommendation_snapshot(recommendation)


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {
        "requested_by": actor if isinstance(actor, User) else None,
        "requested_by_api_key": actor if isinstance(actor, ApiKey) else None,
        "requested_by_label": actor_label(actor),
    }


@transaction.atomic
def limit_request_create(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    amount: Decimal,
    payment_terms_days: int,
    justification: str,
    as_of: date | None = None,
) -> LimitRequest:
    """A request for a credit limit of `amount` (base currency) on `buyer`; the approvers whose
    authority covers it are notified."""
    as_of = as_of or today()
    if amount <= 0:
        raise ValidationError({"amount": [_("Enter an amount greater than zero.")]})
    if LimitRequest.objects.filter(buyer=buyer, status__in=LimitRequest.OPEN_STATUSES).exists():
        raise ValidationError(
            {
                "buyer": [
                    _("This buyer already has an open limit request; decide or withdraw it first.")
                ]
            }
        )
    request = LimitRequest(
        tenant=tenant,
        buyer=buyer,
        currency=tenant.base_currency,
        source=LimitRequest.Source.API if isinstance(actor, ApiKey) else LimitRequest.Source.WEB,
        amount=amount,
        payment_terms_days=payment_terms_days,
        justification=justification,
        **_actor_fields(actor),
    )
    _refresh_recommendation(tenant=tenant, request=request, as_of=as_of)
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as error:  # a concurrent request for the same buyer won the race
        raise ValidationError(
            {
                "buyer": [
                    _("This buyer already has an open limit request; decide or withdraw it first.")
                ]
            }
        ) from error
    audit_record(
        tenant=tenant,
        actor=actor,
        action="limit_request.create",
        obj=request,
        after={
            "buyer": buyer.erp_reference,
            **snapshot(request, ["amount", "currency", "payment_terms_days", "justification"]),
            "recommended_amount": request.recommended_amount,
        },
    )
    _notify_deciders(
        tenant=tenant,
        request=request,
        exclude_user_id=request.requested_by_id,
        message=_("Limit request: %(amount)s for %(buyer)s awaits a decision.")
        % {"amount": amount_text(request.amount, request.currency), "buyer": buyer.legal_name},
    )
    return request


def _request_link(request: LimitRequest) -> str:
    return reverse("limits:request-detail", args=[request.pk])


def _notify_deciders(
    *,
    tenant: Tenant,
    request: LimitRequest,
    message: str,
    exclude_user_id: int | None,
    skip: Iterable[int] = (),
) -> None:
    skipped = {exclude_user_id, *skip}
    users = [
        membership.user
        for membership in selectors.deciders(tenant=tenant, minimum_authority=request.amount)
        if membership.user_id not in skipped
    ]
    notify(tenant=tenant, users=users, message=message, link=_request_link(request))


def _locked(request: LimitRequest) -> LimitRequest:
    return (
        LimitRequest.objects.select_for_update(of=("self",))
        .select_related("buyer", "requested_by")
        .get(pk=request.pk)
    )


@transaction.atomic
def limit_request_decide(
    *,
    tenant: Tenant,
    actor: User,
    membership: Membership,
    request: LimitRequest,
    kind: str,
    amount: Decimal | None = None,
    payment_terms_days: int | None = None,
    comment: str = "",
    override_reason: str = "",
    as_of: date | None = None,
) -> LimitRequest:
    """Approve, approve partially, refuse or ask for information (see `approval` for the rules).

    An approval outside the credit policy needs `override_reason` and a role that may override
    the policy; it is recorded as an override. Raises DecisionNotAllowed when the actor may not
    take the decision, PolicyOverrideRequired (a ValidationError) for an approval outside the
    policy without a reason, ValidationError for bad input. When the approvals of the round
    suffice, the limit is granted."""
    as_of = as_of or today()
    request = _locked(request)
    comment = comment.strip()
    override_reason = override_reason.strip()
    approving = kind in LimitDecision.APPROVALS
    approvals = selectors.current_round_approvals(request)
    on_the_table = approval.amount_on_the_table(
        requested_amount=request.amount, approvals=approvals
    )
    errors: dict[str, list[str]] = {}
    decided_amount: Decimal | None = None
    terms: int | None = None
    if kind == LimitDecision.Kind.APPROVE:
        decided_amount = on_the_table
    elif kind == LimitDecision.Kind.APPROVE_PARTIALLY:
        decided_amount = amount
        if decided_amount is None:
            errors["amount"] = [_("Enter the amount to approve.")]
        elif decided_amount <= 0:
            errors["amount"] = [objection_text(approval.Objection.AMOUNT_NOT_POSITIVE)]
        elif decided_amount >= on_the_table:
            errors["amount"] = [
                objection_text(approval.Objection.AMOUNT_NOT_BELOW)
                + " "
                + _("(%(amount)s)") % {"amount": amount_text(on_the_table, request.currency)}
            ]
    found_breaches: list[approval.PolicyBreach] = []
    limits: approval.PolicyLimits | None = None
    if approving:
        policy, grade, recommendation = _current_recommendation(
            tenant=tenant, request=request, as_of=as_of
        )
        limits = policy_limits_for(policy=policy, grade=grade, recommendation=recommendation)
        terms = approval.decided_terms(
            limits=limits,
            terms_days=payment_terms_days,
            requested_terms_days=request.payment_terms_days,
        )
        if decided_amount is not None and not errors:
            found_breaches = approval.breaches(
                limits=limits, amount=decided_amount, terms_days=terms
            )
    elif not comment:
        errors["comment"] = [objection_text(approval.Objection.COMMENT_REQUIRED)]
    may_override = membership.allows(Permission.MANAGE_CREDIT_POLICY)

    authority = selectors.authority_in_base(tenant=tenant, membership=membership, as_of=as_of)
    found = approval.objections(
        is_pending=request.status == LimitRequest.Status.PENDING,
        may_decide=membership.user_id == actor.pk and membership.allows(Permission.DECIDE_LIMIT),
        decider_id=actor.pk,
        requester_id=request.requested_by_id,
        approving=approving,
        amount=decided_amount,
        authority=authority,
        earlier_approver_ids={a.approver_id for a in approvals},
        overriding=bool(found_breaches and override_reason),
        may_override=may_override,
    )
    if found:
        raise DecisionNotAllowed(found)
    if errors:
        raise ValidationError(errors)
    if approval.override_needed(found=found_breaches, override_reason=override_reason):
        raise PolicyOverrideRequired(
            found_breaches, currency=request.currency, may_override=may_override
        )
    if not found_breaches:
        override_reason = ""  # within the policy: nothing to override

    LimitDecision.objects.create(
        tenant=tenant,
        request=request,
        round=request.round,
        kind=kind,
        amount=decided_amount,
        payment_terms_days=terms,
        comment=comment,
        decided_by=actor,
        decided_by_label=actor_label(actor),
        authority=authority,
        policy_breaches=[breach.as_json() for breach in found_breaches],
        override_reason=override_reason,
    )
    before = snapshot(request, REQUEST_FIELDS)
    if kind == LimitDecision.Kind.REFUSE:
        request.status = LimitRequest.Status.REFUSED
        request.decided_at = timezone.now()
    elif kind == LimitDecision.Kind.REQUEST_INFORMATION:
        request.status = LimitRequest.Status.INFORMATION_REQUESTED
    else:
        _approve(tenant=tenant, actor=actor, request=request, limits=limits, as_of=as_of)
    request.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"limit_request.{kind}",
        obj=request,
        before=before,
        after={
            **snapshot(request, REQUEST_FIELDS),
            "decided_amount": decided_amount,
            "decided_terms_days": terms,
            "comment": comment,
            **(
                {
                    "policy_override": True,
                    "override_reason": override_reason,
                    "policy_breaches": [breach.code.value for breach in found_breaches],
                }
                if found_breaches
                else {}
            ),
        },
    )
    _notify_after_decision(tenant=tenant, actor=actor, request=request, kind=kind, comment=comment)
    return request


def _approve(
    *,
    tenant: Tenant,
    actor: User,
    request: LimitRequest,
    limits: approval.PolicyLimits | None,
    as_of: date,
) -> None:
    decisions = list(
        request.decisions.filter(round=request.round, kind__in=LimitDecision.APPROVALS).order_by(
            "id"
        )
    )
    approvals = [
        approval.Approval(approver_id=d.decided_by_id, amount=d.amount)
        for d in decisions
        if d.amount is not None  # always: an approval records the approved amount
    ]
    policy = selectors.policy_in_force(on=as_of)
    grade = selectors.latest_grades(buyer_ids=[request.buyer_id]).get(request.buyer_id)
    band = selectors.band_for(policy, grade)
    outcome = approval.round_outcome(
        requested_amount=request.amount,
        approvals=approvals,
        four_eyes_threshold=policy.four_eyes_threshold if policy else ZERO,
        band_four_eyes=bool(
            band and band.approval_level == CreditPolicyBand.ApprovalLevel.FOUR_EYES
        ),
    )
    if outcome.granted_amount is None:
        return  # the second approver is still needed
    terms = min(
        [
            request.payment_terms_days,
            *(d.payment_terms_days for d in decisions if d.payment_terms_days is not None),
        ]
    )
    # The limit granted is outside the policy when the amount and terms granted are (a lower
    # partial approval may have brought an overridden amount back within it).
    outside = approval.breaches(limits=limits, amount=outcome.granted_amount, terms_days=terms)
    override_reasons = (
        [f"{d.decided_by_label}: {d.override_reason}" for d in decisions if d.is_override]
        if outside
        else []
    )
    request.granted_amount = outcome.granted_amount
    request.granted_terms_days = terms
    request.status = (
        LimitRequest.Status.APPROVED
        if outcome.granted_amount == request.amount
        else LimitRequest.Status.PARTIALLY_APPROVED
    )
    request.decided_at = timezone.now()
    credit_limit_set(
        tenant=tenant,
        actor=actor,
        buyer=request.buyer,
        amount=outcome.granted_amount,
        payment_terms_days=terms,
        grade=grade,
        granted_on=as_of,
        request=request,
        owner=actor,
        override_reason="\n".join(override_reasons),
    )


def _notify_after_decision(
    *, tenant: Tenant, actor: User, request: LimitRequest, kind: str, comment: str
) -> None:
    buyer = request.buyer.legal_name
    requester = [request.requested_by] if request.requested_by is not None else []
    if request.status == LimitRequest.Status.PENDING:
        _notify_deciders(
            tenant=tenant,
            request=request,
            exclude_user_id=request.requested_by_id,
            skip=[actor.pk],
            message=_("Second approval needed: limit request for %(buyer)s (%(amount)s).")
            % {"buyer": buyer, "amount": amount_text(request.amount, request.currency)},
        )
        return
    messages: dict[str, str] = {
        LimitRequest.Status.APPROVED: _(
            "Your limit request for %(buyer)s was approved: %(amount)s."
        ),
        LimitRequest.Status.PARTIALLY_APPROVED: _(
            "Your limit request for %(buyer)s was partially approved: %(amount)s."
        ),
        LimitRequest.Status.REFUSED: _("Your limit request for %(buyer)s was refused: %(comment)s"),
        LimitRequest.Status.INFORMATION_REQUESTED: _(
            "More information is needed on your limit request for %(buyer)s: %(comment)s"
        ),
    }
    message = messages[request.status] % {
        "buyer": buyer,
        "amount": amount_text(request.granted_amount, request.currency),
        "comment": comment,
    }
    notify(tenant=tenant, users=requester, message=message, link=_request_link(request))


def _may_answer(actor: Actor, request: LimitRequest) -> bool:
    """The requester answers; a request an ERP sent may be answered by the ERP or any member."""
    if request.requested_by_id is not None:
        return isinstance(actor, User) and actor.pk == request.requested_by_id
    return actor is not None


@transaction.atomic
def limit_request_resubmit(
    *,
    tenant: Tenant,
    actor: Actor,
    request: LimitRequest,
    justification: str,
    amount: Decimal | None = None,
    payment_terms_days: int | None = None,
    as_of: date | None = None,
) -> LimitRequest:
    """The requester answers a request for information (`justification`, and a changed amount
    or terms if any): a new round of approvals starts."""
    as_of = as_of or today()
    request = _locked(request)
    if request.status != LimitRequest.Status.INFORMATION_REQUESTED:
        raise ValidationError(_("This request is not waiting for information."))
    if not _may_answer(actor, request):
        raise DecisionNotAllowed([approval.Objection.NO_PERMISSION])
    if amount is not None and amount <= 0:
        raise ValidationError({"amount": [_("Enter an amount greater than zero.")]})
    before = snapshot(request, REQUEST_FIELDS)
    request.amount = amount or request.amount
    if payment_terms_days is not None:
        request.payment_terms_days = payment_terms_days
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    request.justification = (
        f"{request.justification}\n\n— {stamp} {actor_label(actor)}: {justification}"
    )
    request.round += 1
    request.status = LimitRequest.Status.PENDING
    _refresh_recommendation(tenant=tenant, request=request, as_of=as_of)
    request.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="limit_request.resubmit",
        obj=request,
        before=before,
        after={**snapshot(request, REQUEST_FIELDS), "information": justification},
    )
    _notify_deciders(
        tenant=tenant,
        request=request,
        exclude_user_id=request.requested_by_id,
        message=_("Information added: limit request for %(buyer)s (%(amount)s) awaits a decision.")
        % {
            "buyer": request.buyer.legal_name,
            "amount": amount_text(request.amount, request.currency),
        },
    )
    return request


@transaction.atomic
def limit_request_withdraw(*, tenant: Tenant, actor: Actor, request: LimitRequest) -> LimitRequest:
    request = _locked(request)
    if not request.is_open:
        raise ValidationError(_("Only an open request can be withdrawn."))
    if not _may_answer(actor, request):
        raise DecisionNotAllowed([approval.Objection.NO_PERMISSION])
    before = snapshot(request, REQUEST_FIELDS)
    request.status = LimitRequest.Status.WITHDRAWN
    request.decided_at = timezone.now()
    request.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="limit_request.withdraw",
        obj=request,
        before=before,
        after=snapshot(request, REQUEST_FIELDS),
    )
    return request
