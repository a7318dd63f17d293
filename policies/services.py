"""Writes for credit policy, limit requests and decisions, credit limits, insurer cover and
notifications. Each service takes the tenant and the actor, runs in a transaction and writes
the audit record; the rules themselves are in the pure modules (`approval`, `recommendation`,
`schedule`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.api.models import ApiKey
from creditguard.audit.services import actor_label, audit_record, snapshot
from creditguard.tenancy.models import Tenant

from . import approval, schedule, selectors
from .models import (
    CreditLimit,
    CreditPolicy,
    CreditPolicyBand,
    InsurerCover,
    LimitDecision,
    LimitRequest,
    Notification,
)
from .recommendation import Recommendation
from .texts import amount_text, objection_text

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

ZERO = Decimal("0")
MAX_AMOUNT = Decimal("9999999999999999.99")
MAX_TERMS_DAYS = 365
CURRENCY = re.compile(r"^[A-Z]{3}$")
POLICY_LOCK_NAMESPACE = 5_001  # pg_advisory_xact_lock(namespace, tenant id)
POLICY_FIELDS = [
    "version",
    "effective_from",
    "currency",
    "four_eyes_threshold",
    "lowest_acceptable_grade",
    "overdue_hold_days",
    "overdue_hold_amount",
    "limit_without_financials",
    "notes",
]
BAND_FIELDS = [
    "grade_from",
    "grade_to",
    "max_payment_terms_days",
    "max_limit",
    "max_limit_equity_pct",
    "max_limit_revenue_pct",
    "insurance_required_above",
    "approval_level",
]
LIMIT_FIELDS = [
    "amount",
    "currency",
    "payment_terms_days",
    "status",
    "grade",
    "risk_class",
    "granted_on",
    "review_date",
    "expiry_date",
    "blocked_reason",
]
COVER_FIELDS = [
    "insurer",
    "policy_number",
    "decision_reference",
    "amount",
    "currency",
    "decision_date",
    "expiry_date",
    "status",
    "notes",
]
REQUEST_FIELDS = ["amount", "payment_terms_days", "status", "round", "granted_amount"]


class DecisionNotAllowed(Exception):
    """The actor may not take this decision on this request (see `objections`)."""

    def __init__(self, objections: Sequence[approval.Objection]) -> None:
        self.objections = list(objections)
        super().__init__(" ".join(objection_text(objection) for objection in self.objections))

    @property
    def messages(self) -> list[str]:
        return [objection_text(objection) for objection in self.objections]


# --- Validation helpers ----------------------------------------------------------------------


def _decimal(
    value: Any, *, field: str, errors: dict, required: bool = True, maximum: Decimal = MAX_AMOUNT
) -> Decimal | None:
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    if not number.is_finite() or number < 0 or number > maximum:
        errors.setdefault(field, []).append(
            _("Enter a number between 0 and %(max)s.") % {"max": maximum}
        )
        return None
    return number.quantize(Decimal("0.01"))


def _integer(
    value: Any, *, field: str, errors: dict, low: int, high: int, required: bool = True
) -> int | None:
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return None
    try:
        number = int(str(value))
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a whole number."))
        return None
    if not low <= number <= high:
        errors.setdefault(field, []).append(
            _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
        )
        return None
    return number


def _date(value: Any, *, field: str, errors: dict, required: bool = True) -> date | None:
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date as YYYY-MM-DD."))
        return None


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


# --- Credit policy ---------------------------------------------------------------------------


def validate_bands(bands: Sequence[Mapping[str, Any]]) -> tuple[list[dict], dict]:
    """Bands must cover grades 1 to 10, each grade exactly once."""
    cleaned: list[dict] = []
    errors: dict[str, list[str]] = {}
    for index, band in enumerate(bands):
        band_errors: dict[str, list[str]] = {}
        row = {
            "grade_from": _integer(
                band.get("grade_from"), field="grade_from", errors=band_errors, low=1, high=10
            ),
            "grade_to": _integer(
                band.get("grade_to"), field="grade_to", errors=band_errors, low=1, high=10
            ),
            "max_payment_terms_days": _integer(
                band.get("max_payment_terms_days"),
                field="max_payment_terms_days",
                errors=band_errors,
                low=0,
                high=MAX_TERMS_DAYS,
            ),
            "max_limit": _decimal(band.get("max_limit"), field="max_limit", errors=band_errors),
            "max_limit_equity_pct": _decimal(
                band.get("max_limit_equity_pct"),
                field="max_limit_equity_pct",
                errors=band_errors,
                required=False,
                maximum=Decimal("100"),
            ),
            "max_limit_revenue_pct": _decimal(
                band.get("max_limit_revenue_pct"),
                field="max_limit_revenue_pct",
                errors=band_errors,
                required=False,
                maximum=Decimal("100"),
            ),
            "insurance_required_above": _decimal(
                band.get("insurance_required_above"),
                field="insurance_required_above",
                errors=band_errors,
                required=False,
            ),
            "approval_level": band.get("approval_level") or CreditPolicyBand.ApprovalLevel.STANDARD,
        }
        if row["approval_level"] not in CreditPolicyBand.ApprovalLevel.values:
            band_errors.setdefault("approval_level", []).append(_("Choose a valid approval level."))
        if (
            row["grade_from"] is not None
            and row["grade_to"] is not None
            and row["grade_from"] > row["grade_to"]
        ):
            band_errors.setdefault("grade_to", []).append(_("Must not be below the first grade."))
        for field, messages in band_errors.items():
            errors.setdefault(f"bands[{index}].{field}", []).extend(messages)
        cleaned.append(row)
    if not errors:
        covered = sorted(
            grade for row in cleaned for grade in range(row["grade_from"], row["grade_to"] + 1)
        )
        if covered != list(range(1, 11)):
            errors["bands"] = [
                _("The bands must cover every grade from 1 to 10 exactly once, without gaps.")
            ]
    return sorted(cleaned, key=lambda row: row["grade_from"] or 0), errors


@transaction.atomic
def credit_policy_create(
    *,
    tenant: Tenant,
    actor: Actor,
    data: Mapping[str, Any],
    bands: Sequence[Mapping[str, Any]],
    as_of: date | None = None,
) -> CreditPolicy:
    """A new version of the tenant's credit policy, effective today or later."""
    as_of = as_of or selectors.today()
    errors: dict[str, list[str]] = {}
    effective_from = _date(data.get("effective_from"), field="effective_from", errors=errors)
    if effective_from is not None and effective_from < as_of:
        errors.setdefault("effective_from", []).append(
            _("A new version cannot take effect in the past.")
        )
    values = {
        "effective_from": effective_from,
        "four_eyes_threshold": _decimal(
            data.get("four_eyes_threshold"), field="four_eyes_threshold", errors=errors
        ),
        "lowest_acceptable_grade": _integer(
            data.get("lowest_acceptable_grade"),
            field="lowest_acceptable_grade",
            errors=errors,
            low=1,
            high=10,
        ),
        "overdue_hold_days": _integer(
            data.get("overdue_hold_days"),
            field="overdue_hold_days",
            errors=errors,
            low=0,
            high=MAX_TERMS_DAYS,
        ),
        "overdue_hold_amount": _decimal(
            data.get("overdue_hold_amount"), field="overdue_hold_amount", errors=errors
        ),
        "limit_without_financials": _decimal(
            data.get("limit_without_financials"), field="limit_without_financials", errors=errors
        ),
        "notes": str(data.get("notes") or "")[:5000],
    }
    cleaned_bands, band_errors = validate_bands(bands)
    errors.update(band_errors)
    _raise(errors)
    # Versions are append-only (no UPDATE privilege, so no row lock): a transaction-level
    # advisory lock per tenant numbers concurrent versions one after the other.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [POLICY_LOCK_NAMESPACE, tenant.pk])
    latest = CreditPolicy.objects.order_by("-version").first()
    policy = CreditPolicy.objects.create(
        tenant=tenant,
        version=(latest.version + 1) if latest else 1,
        currency=tenant.base_currency,
        created_by=actor if isinstance(actor, AbstractBaseUser) else None,
        **values,
    )
    CreditPolicyBand.objects.bulk_create(
        [CreditPolicyBand(tenant=tenant, policy=policy, **row) for row in cleaned_bands]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_policy.create",
        obj=policy,
        after={
            **snapshot(policy, POLICY_FIELDS),
            "bands": [snapshot(band, BAND_FIELDS) for band in policy.bands.order_by("grade_from")],
        },
    )
    return policy


# --- Limit requests --------------------------------------------------------------------------


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


def _refresh_recommendation(*, tenant: Tenant, request: LimitRequest, as_of: date) -> None:
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
    request.policy = policy
    request.recommended_amount = recommendation.amount if recommendation else None
    request.recommended_terms_days = recommendation.payment_terms_days if recommendation else None
    request.recommendation = _recommendation_snapshot(recommendation)


def _request_values(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if not partial or data.get("amount") not in (None, ""):
        values["amount"] = _decimal(data.get("amount"), field="amount", errors=errors)
        if values["amount"] is not None and values["amount"] <= 0:
            errors.setdefault("amount", []).append(_("Enter an amount greater than zero."))
    if not partial or data.get("payment_terms_days") not in (None, ""):
        values["payment_terms_days"] = _integer(
            data.get("payment_terms_days"),
            field="payment_terms_days",
            errors=errors,
            low=0,
            high=MAX_TERMS_DAYS,
        )
    justification = str(data.get("justification") or "").strip()
    if not partial and not justification:
        errors.setdefault("justification", []).append(_("Say why the buyer needs this limit."))
    values["justification"] = justification
    _raise(errors)
    return values


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {
        "requested_by": actor if isinstance(actor, AbstractBaseUser) else None,
        "requested_by_api_key": actor if isinstance(actor, ApiKey) else None,
        "requested_by_label": actor_label(actor),
    }


@transaction.atomic
def limit_request_create(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    data: Mapping[str, Any],
    as_of: date | None = None,
) -> LimitRequest:
    """A request for a credit limit of `amount` (base currency) on `buyer`; the approvers whose
    authority covers it are notified."""
    as_of = as_of or selectors.today()
    values = _request_values(data)
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
        **values,
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
    actor: AbstractBaseUser,
    membership: Membership,
    request: LimitRequest,
    kind: str,
    amount: Any = None,
    payment_terms_days: Any = None,
    comment: str = "",
    as_of: date | None = None,
) -> LimitRequest:
    """Approve, approve partially, refuse or ask for information (see `approval` for the rules).

    Raises DecisionNotAllowed when the actor may not take the decision, ValidationError for bad
    input. When the approvals of the round suffice, the limit is granted."""
    as_of = as_of or selectors.today()
    request = _locked(request)
    if kind not in LimitDecision.Kind.values:
        raise ValidationError(
            {"decision": [_("Choose approve, approve partially, refuse or ask for information.")]}
        )
    comment = (comment or "").strip()
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
        decided_amount = _decimal(amount, field="amount", errors=errors)
        if decided_amount is not None and decided_amount <= 0:
            errors.setdefault("amount", []).append(
                objection_text(approval.Objection.AMOUNT_NOT_POSITIVE)
            )
        elif decided_amount is not None and decided_amount >= on_the_table:
            errors.setdefault("amount", []).append(
                objection_text(approval.Objection.AMOUNT_NOT_BELOW)
                + " "
                + _("(%(amount)s)") % {"amount": amount_text(on_the_table, request.currency)}
            )
    if approving:
        terms = _integer(
            payment_terms_days,
            field="payment_terms_days",
            errors=errors,
            low=0,
            high=MAX_TERMS_DAYS,
            required=False,
        )
    elif not comment:
        errors.setdefault("comment", []).append(objection_text(approval.Objection.COMMENT_REQUIRED))

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
    )
    if found:
        raise DecisionNotAllowed(found)
    _raise(errors)

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
    )
    before = snapshot(request, REQUEST_FIELDS)
    if kind == LimitDecision.Kind.REFUSE:
        request.status = LimitRequest.Status.REFUSED
        request.decided_at = timezone.now()
    elif kind == LimitDecision.Kind.REQUEST_INFORMATION:
        request.status = LimitRequest.Status.INFORMATION_REQUESTED
    else:
        _approve(tenant=tenant, actor=actor, request=request, as_of=as_of)
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
            "comment": comment,
        },
    )
    _notify_after_decision(tenant=tenant, actor=actor, request=request, kind=kind, comment=comment)
    return request


def _approve(
    *, tenant: Tenant, actor: AbstractBaseUser, request: LimitRequest, as_of: date
) -> None:
    decisions = list(
        request.decisions.filter(round=request.round, kind__in=LimitDecision.APPROVALS).order_by(
            "id"
        )
    )
    approvals = [approval.Approval(approver_id=d.decided_by_id, amount=d.amount) for d in decisions]
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
    )


def _notify_after_decision(
    *, tenant: Tenant, actor: AbstractBaseUser, request: LimitRequest, kind: str, comment: str
) -> None:
    buyer = request.buyer.legal_name
    requester = [request.requested_by] if request.requested_by_id else []
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
    messages = {
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
        return isinstance(actor, AbstractBaseUser) and actor.pk == request.requested_by_id
    return actor is not None


@transaction.atomic
def limit_request_resubmit(
    *,
    tenant: Tenant,
    actor: Actor,
    request: LimitRequest,
    data: Mapping[str, Any],
    as_of: date | None = None,
) -> LimitRequest:
    """The requester answers a request for information: a new round of approvals starts."""
    as_of = as_of or selectors.today()
    request = _locked(request)
    if request.status != LimitRequest.Status.INFORMATION_REQUESTED:
        raise ValidationError(_("This request is not waiting for information."))
    if not _may_answer(actor, request):
        raise DecisionNotAllowed([approval.Objection.NO_PERMISSION])
    values = _request_values(data, partial=True)
    if not values["justification"]:
        raise ValidationError({"justification": [_("Give the information that was asked for.")]})
    before = snapshot(request, REQUEST_FIELDS)
    request.amount = values.get("amount") or request.amount
    request.payment_terms_days = (
        values["payment_terms_days"]
        if values.get("payment_terms_days") is not None
        else request.payment_terms_days
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    request.justification = (
        f"{request.justification}\n\n— {stamp} {actor_label(actor)}: {values['justification']}"
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
        after={**snapshot(request, REQUEST_FIELDS), "information": values["justification"]},
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


# --- Credit limits ---------------------------------------------------------------------------


@transaction.atomic
def credit_limit_set(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    amount: Decimal,
    payment_terms_days: int,
    grade: int | None,
    granted_on: date,
    request: LimitRequest | None = None,
    owner: AbstractBaseUser | None = None,
) -> CreditLimit:
    """Grant or change the buyer's limit; review and expiry dates follow from its risk class."""
    plan = schedule.limit_schedule(grade=grade, granted_on=granted_on)
    limit = CreditLimit.objects.select_for_update().filter(buyer=buyer).first()
    before = snapshot(limit, LIMIT_FIELDS) if limit else None
    if limit is None:
        limit = CreditLimit(tenant=tenant, buyer=buyer)
    limit.amount = amount
    limit.currency = tenant.base_currency
    limit.payment_terms_days = payment_terms_days
    limit.status = CreditLimit.Status.ACTIVE
    limit.blocked_reason = ""
    limit.grade = grade
    limit.risk_class = plan.risk_class.value
    limit.granted_on = granted_on
    limit.review_date = plan.review_date
    limit.expiry_date = plan.expiry_date
    limit.request = request
    limit.owner = owner if owner is not None else limit.owner
    limit.reminder_stage, limit.reminder_for = "", None
    limit.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_limit.change" if before else "credit_limit.grant",
        obj=limit,
        before=before,
        after={**snapshot(limit, LIMIT_FIELDS), "request": request.pk if request else None},
    )
    return limit


@transaction.atomic
def credit_limit_block(
    *, tenant: Tenant, actor: Actor, limit: CreditLimit, reason: str
) -> CreditLimit:
    """Stop new orders on the buyer's limit (credit checks answer hold)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the limit is blocked.")]})
    limit = CreditLimit.objects.select_for_update().get(pk=limit.pk)
    if limit.status != CreditLimit.Status.ACTIVE:
        raise ValidationError(_("Only an active limit can be blocked."))
    before = snapshot(limit, ["status", "blocked_reason"])
    limit.status, limit.blocked_reason = CreditLimit.Status.BLOCKED, reason[:300]
    limit.save(update_fields=["status", "blocked_reason", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_limit.block",
        obj=limit,
        before=before,
        after=snapshot(limit, ["status", "blocked_reason"]),
    )
    return limit


@transaction.atomic
def credit_limit_unblock(*, tenant: Tenant, actor: Actor, limit: CreditLimit) -> CreditLimit:
    limit = CreditLimit.objects.select_for_update().get(pk=limit.pk)
    if limit.status != CreditLimit.Status.BLOCKED:
        raise ValidationError(_("Only a blocked limit can be unblocked."))
    before = snapshot(limit, ["status", "blocked_reason"])
    limit.status, limit.blocked_reason = CreditLimit.Status.ACTIVE, ""
    limit.save(update_fields=["status", "blocked_reason", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_limit.unblock",
        obj=limit,
        before=before,
        after=snapshot(limit, ["status", "blocked_reason"]),
    )
    return limit


# --- Insurer cover ---------------------------------------------------------------------------


def _cover_values(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    insurer = str(data.get("insurer") or "").strip()
    if not insurer:
        errors.setdefault("insurer", []).append(_("This field is required."))
    currency = str(data.get("currency") or "").strip().upper()
    if not CURRENCY.match(currency):
        errors.setdefault("currency", []).append(_("Use a three-letter ISO 4217 code, e.g. EUR."))
    status = data.get("status") or InsurerCover.Status.GRANTED
    if status not in InsurerCover.Status.values:
        errors.setdefault("status", []).append(_("Choose a valid status."))
    values = {
        "insurer": insurer[:120],
        "policy_number": str(data.get("policy_number") or "").strip()[:60],
        "decision_reference": str(data.get("decision_reference") or "").strip()[:60],
        "amount": _decimal(data.get("amount"), field="amount", errors=errors),
        "currency": currency,
        "decision_date": _date(data.get("decision_date"), field="decision_date", errors=errors),
        "expiry_date": _date(
            data.get("expiry_date"), field="expiry_date", errors=errors, required=False
        ),
        "status": status,
        "notes": str(data.get("notes") or "").strip()[:5000],
    }
    if (
        values["expiry_date"] is not None
        and values["decision_date"] is not None
        and values["expiry_date"] < values["decision_date"]
    ):
        errors.setdefault("expiry_date", []).append(
            _("The cover cannot expire before the decision.")
        )
    _raise(errors)
    return values


@transaction.atomic
def insurer_cover_save(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    data: Mapping[str, Any],
    cover: InsurerCover | None = None,
) -> InsurerCover:
    """Record an insurer's decision on a buyer, or change it (`data` may be partial then)."""
    current = snapshot(cover, COVER_FIELDS) if cover else {}
    values = _cover_values({**current, **data})
    clash = InsurerCover.objects.filter(buyer=buyer, insurer__iexact=values["insurer"])
    if cover is not None:
        clash = clash.exclude(pk=cover.pk)
    if clash.exists():
        raise ValidationError(
            {"insurer": [_("This insurer already has a cover on this buyer; change that one.")]}
        )
    if cover is None:
        cover = InsurerCover(tenant=tenant, buyer=buyer)
    for name, value in values.items():
        setattr(cover, name, value)
    cover.save()
    after = snapshot(cover, COVER_FIELDS)
    if after != current:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="insurer_cover.update" if current else "insurer_cover.create",
            obj=cover,
            before={k: v for k, v in current.items() if after.get(k) != v} or None,
            after={k: v for k, v in after.items() if current.get(k) != v},
        )
    return cover


# --- Reviews, expiry and reminders -----------------------------------------------------------


def limit_reviews_run(*, tenant: Tenant, as_of: date | None = None) -> dict[str, int]:
    """Daily: expire lapsed limits and covers, remind owners of reviews due. Idempotent: every
    change is a compare-and-set, so a rerun (or a redelivered task) changes nothing."""
    as_of = as_of or selectors.today()
    counts = {"expired_limits": 0, "expired_covers": 0, "reminders": 0}
    for limit in CreditLimit.objects.filter(
        status__in=selectors.USABLE_LIMIT_STATUSES, expiry_date__lt=as_of
    ).select_related("buyer", "owner"):
        claimed = CreditLimit.objects.filter(pk=limit.pk, status=limit.status).update(
            status=CreditLimit.Status.EXPIRED, updated_at=timezone.now()
        )
        if not claimed:
            continue
        counts["expired_limits"] += 1
        audit_record(
            tenant=tenant,
            actor=None,
            action="credit_limit.expire",
            obj=limit,
            before={"status": limit.status},
            after={"status": CreditLimit.Status.EXPIRED, "expiry_date": limit.expiry_date},
        )
        notify(
            tenant=tenant,
            users=_limit_owners(tenant, limit),
            message=_("The credit limit of %(buyer)s expired on %(date)s.")
            % {"buyer": limit.buyer.legal_name, "date": limit.expiry_date.isoformat()},
            link=reverse("limits:buyer", args=[limit.buyer_id]),
        )
    for cover in InsurerCover.objects.filter(
        status__in=InsurerCover.IN_FORCE, expiry_date__lt=as_of
    ):
        if InsurerCover.objects.filter(pk=cover.pk, status=cover.status).update(
            status=InsurerCover.Status.EXPIRED, updated_at=timezone.now()
        ):
            counts["expired_covers"] += 1
            audit_record(
                tenant=tenant,
                actor=None,
                action="insurer_cover.expire",
                obj=cover,
                before={"status": cover.status},
                after={"status": InsurerCover.Status.EXPIRED},
            )
    window_end = as_of + timedelta(days=schedule.REMINDER_DAYS)
    for limit in CreditLimit.objects.filter(
        status__in=selectors.USABLE_LIMIT_STATUSES, review_date__lte=window_end
    ).select_related("buyer", "owner"):
        stage = schedule.review_reminder_stage(review_date=limit.review_date, as_of=as_of)
        if stage is None or (
            limit.reminder_stage == stage and limit.reminder_for == limit.review_date
        ):
            continue
        claimed = CreditLimit.objects.filter(
            pk=limit.pk, reminder_stage=limit.reminder_stage, reminder_for=limit.reminder_for
        ).update(reminder_stage=stage.value, reminder_for=limit.review_date)
        if not claimed:
            continue
        counts["reminders"] += 1
        if stage == schedule.ReminderStage.OVERDUE:
            message = _("The review of the credit limit of %(buyer)s is overdue (due %(date)s).")
        else:
            message = _("The credit limit of %(buyer)s is due for review on %(date)s.")
        notify(
            tenant=tenant,
            users=_limit_owners(tenant, limit),
            message=message
            % {"buyer": limit.buyer.legal_name, "date": limit.review_date.isoformat()},
            link=reverse("limits:buyer", args=[limit.buyer_id]),
        )
    return counts


def _limit_owners(tenant: Tenant, limit: CreditLimit) -> list[AbstractBaseUser]:
    """The limit's credit manager, or every member who may decide on limits."""
    owner = limit.owner
    if (
        owner is not None
        and owner.is_active
        and Membership.objects.filter(user=owner, is_active=True).exists()
    ):
        return [owner]
    return [membership.user for membership in selectors.deciders(tenant=tenant)]


# --- Notifications ---------------------------------------------------------------------------


def notify(
    *, tenant: Tenant, users: Iterable[AbstractBaseUser], message: str, link: str = ""
) -> list[Notification]:
    """In-app notifications, each also sent by email once the transaction commits."""
    from .tasks import notification_email_send

    created = Notification.objects.bulk_create(
        [
            Notification(tenant=tenant, user=user, message=message[:300], link=link[:300])
            for user in {user.pk: user for user in users}.values()
        ]
    )
    for notification in created:
        transaction.on_commit(
            lambda pk=notification.pk: notification_email_send.delay(pk, tenant_id=tenant.pk)
        )
    return created


def notifications_mark_read(
    *, user: AbstractBaseUser, notification_ids: Iterable[int] | None = None
) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
