"""Limit pages: overview, approval queue, requests, a buyer's limit, insurer cover, credit
policy and notifications.

Views parse input, call one service or selector and render. Objects are looked up through
tenant-scoped managers, so another tenant's object is "not found", exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from buyers.models import Buyer
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.audit.activity import describe_events
from creditguard.web.decorators import tenant_view

from . import approval, selectors, services
from .approval import Objection
from .forms import (
    BandForm,
    BlockForm,
    CreditPolicyForm,
    DecisionForm,
    InsurerCoverForm,
    LimitFilterForm,
    LimitRequestForm,
    ResubmitForm,
)
from .models import CreditLimit, CreditPolicy, InsurerCover, LimitDecision, LimitRequest
from .texts import breach_text, objection_text, step_text

PAGE_SIZE = 50
QUEUE_PAGE_SIZE = 20  # request cards per page of the approval queue
HISTORY_SHOWN = 100
MAX_BANDS = 10


# --- Helpers ---------------------------------------------------------------------------------


def _add_service_errors(form: forms.Form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(key if key in form.fields else None, message)


def _buyer_or_404(buyer_id: int) -> Buyer:
    buyer = Buyer.objects.select_related("country").filter(pk=buyer_id).first()
    if buyer is None:
        raise Http404
    return buyer


def _request_or_404(request_id: int) -> LimitRequest:
    limit_request = (
        selectors.limit_requests().prefetch_related("decisions").filter(pk=request_id).first()
    )
    if limit_request is None:
        raise Http404
    return limit_request


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


def _explained(recommendation: Any, currency: str) -> dict[str, Any] | None:
    """A recommendation with its steps as sentences, for the templates."""
    if recommendation is None:
        return None
    return {
        "amount": recommendation.amount,
        "payment_terms_days": recommendation.payment_terms_days,
        "binding": recommendation.binding,
        "steps": [
            {
                "code": step.code,
                "text": step_text(step, currency),
                "binding": step.code == recommendation.binding,
            }
            for step in recommendation.steps
        ],
        "warnings": [step_text(step, currency) for step in recommendation.warnings],
    }


def _overrides(limit_request: LimitRequest, *, current_round: bool) -> list[LimitDecision]:
    """The approvals given as overrides of the credit policy (prefetched decisions)."""
    return [
        decision
        for decision in limit_request.decisions.all()
        if decision.is_override and (not current_round or decision.round == limit_request.round)
    ]


def _queue_rows(
    items: list[selectors.QueueItem],
    currency: str,
    *,
    policy: CreditPolicy | None,
    viewer: Membership | None,
) -> list[dict[str, Any]]:
    """Rows for `_request_card.html`. An approver whose authority is below the amount on the
    table may still approve a lower amount, refuse or ask for information: only the full
    approval is withheld then. The main approval is checked against the credit policy here,
    with the rules the service applies (`approval.breaches`), so the button never approves
    outside the policy without saying so."""
    may_override = viewer is not None and viewer.allows(Permission.MANAGE_CREDIT_POLICY)
    rows = []
    for item in items:
        blocking = [o for o in item.objections if o != Objection.ABOVE_AUTHORITY]
        limits = services.policy_limits_for(
            policy=policy, grade=item.figures.grade, recommendation=item.recommendation
        )
        terms = approval.decided_terms(
            limits=limits, terms_days=None, requested_terms_days=item.request.payment_terms_days
        )
        breaches = approval.breaches(
            limits=limits, amount=item.amount_on_the_table, terms_days=terms
        )
        rows.append(
            {
                "item": item,
                "recommendation": _explained(item.recommendation, currency),
                "objections": [objection_text(objection) for objection in blocking],
                "above_authority": Objection.ABOVE_AUTHORITY in item.objections,
                "limits": limits,
                "terms": terms,
                "breaches": [breach_text(breach, currency) for breach in breaches],
                "may_override": may_override,
                "overrides": _overrides(
                    item.request, current_round=item.request.status == LimitRequest.Status.PENDING
                ),
            }
        )
    return rows


def _labelled_errors(form: forms.Form, error: ValidationError, *, general: str) -> list[str]:
    """Each message of `error`, led by the label of the input it is about (errors about no
    input of the form are about its `general` field: the decision, the information)."""
    fallback = form.fields[general].label
    if not hasattr(error, "error_dict"):
        return [f"{fallback}: {message}" for message in error.messages]
    return [
        f"{form.fields[key].label if key in form.fields else fallback}: {message}"
        for key, field_messages in error.message_dict.items()
        for message in field_messages
    ]


def _form_errors(form: forms.Form) -> ValidationError:
    return ValidationError({key: list(errors) for key, errors in form.errors.items()})


def _decision_errors(form: DecisionForm, error: ValidationError) -> list[str]:
    if form.cleaned_data.get("decision") == LimitDecision.Kind.APPROVE:
        # The main button approves the amount on the table: no partial amount was entered.
        form.fields["amount"].label = _("Amount")
    return _labelled_errors(form, error, general="decision")


# --- Overview --------------------------------------------------------------------------------


@tenant_view()
def overview(request: HttpRequest) -> HttpResponse:
    form = LimitFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    ordering = request.GET.get("sort", "utilisation")
    buyers = selectors.limits_overview(
        tenant=request.tenant,
        search=filters.get("q", ""),
        state=filters.get("state", ""),
        risk_class=filters.get("risk_class", ""),
        ordering=ordering,
    )
    summary = selectors.limits_summary(tenant=request.tenant)
    paginator = Paginator(buyers, PAGE_SIZE)
    if not any(filters.get(key) for key in ("q", "state", "risk_class")):
        paginator.count = summary.buyers  # the summary counted them already
    page = paginator.get_page(request.GET.get("page"))
    query = {key: value for key, value in request.GET.items() if key != "page" and value}
    return render(
        request,
        "policies/overview.html",
        {
            "form": form,
            "page": page,
            "query_string": urlencode(query),
            "summary": summary,
            "currency": request.tenant.base_currency,
            "ordering": ordering,
            "sort_options": [
                ("utilisation", _("Utilisation")),
                ("exposure", _("Exposure")),
                ("limit", _("Limit")),
                ("review", _("Review date")),
                ("name", _("Name")),
            ],
            "is_filtered": any(filters.values()),
        },
    )


# --- Approval queue --------------------------------------------------------------------------


@tenant_view()
def queue(request: HttpRequest) -> HttpResponse:
    currency = request.tenant.base_currency
    items = selectors.approval_queue(tenant=request.tenant, viewer=request.membership)
    # Most urgent first over the whole queue, then a page of cards (each card is a form).
    page = Paginator(items, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    policy = selectors.policy_in_force(on=selectors.today())
    returned = list(
        selectors.limit_requests()
        .filter(status=LimitRequest.Status.INFORMATION_REQUESTED)
        .order_by("updated_at")
    )
    return render(
        request,
        "policies/queue.html",
        {
            "rows": _queue_rows(
                list(page.object_list), currency, policy=policy, viewer=request.membership
            ),
            "page": page,
            "query_string": urlencode(
                {key: value for key, value in request.GET.items() if key != "page" and value}
            ),
            "returned": returned,
            "currency": currency,
            "can_decide": request.membership.allows(Permission.DECIDE_LIMIT),
            "authority": selectors.authority_in_base(
                tenant=request.tenant, membership=request.membership
            ),
        },
    )


@tenant_view(Permission.DECIDE_LIMIT)
@require_POST
def request_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    limit_request = _request_or_404(request_id)
    form = DecisionForm(request.POST)
    fallback = reverse("limits:request-detail", args=[limit_request.pk])
    if not form.is_valid():
        for message in _decision_errors(form, _form_errors(form)):
            messages.error(request, message)
        return redirect(_safe_next(request, fallback))
    data = form.cleaned_data
    try:
        decided = services.limit_request_decide(
            tenant=request.tenant,
            actor=request.user,
            membership=request.membership,
            request=limit_request,
            kind=data["decision"],
            amount=data["amount"],
            payment_terms_days=data["payment_terms_days"],
            comment=data["comment"],
            override_reason=data["override_reason"],
        )
    except services.DecisionNotAllowed as refusal:
        for message in refusal.messages:
            messages.error(request, f"{form.fields['decision'].label}: {message}")
    except ValidationError as error:
        for message in _decision_errors(form, error):
            messages.error(request, message)
    else:
        buyer = decided.buyer.legal_name
        if decided.status == LimitRequest.Status.PENDING:
            messages.success(
                request,
                _("Your approval is recorded; a second approver must also approve %(buyer)s.")
                % {"buyer": buyer},
            )
        else:
            messages.success(
                request,
                _("Limit request for %(buyer)s: %(status)s.")
                % {"buyer": buyer, "status": decided.get_status_display()},
            )
        mine = decided.decisions.filter(decided_by=request.user).order_by("-id").first()
        if mine is not None and mine.is_override:
            messages.warning(
                request, _("Recorded as an override of the credit policy, with your reason.")
            )
    return redirect(_safe_next(request, fallback))


# --- Requests --------------------------------------------------------------------------------


@tenant_view(Permission.REQUEST_LIMIT)
def request_create(request: HttpRequest) -> HttpResponse:
    buyer = None
    initial: dict[str, Any] = {}
    buyer_id = request.GET.get("buyer", "")
    if buyer_id.isdigit():
        buyer = _buyer_or_404(int(buyer_id))
        initial = {"buyer": buyer, "payment_terms_days": buyer.payment_terms_days}
    form = LimitRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.limit_request_create(
                tenant=request.tenant,
                actor=request.user,
                buyer=data["buyer"],
                amount=data["amount"],
                payment_terms_days=data["payment_terms_days"],
                justification=data["justification"],
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("Limit request sent for approval."))
            return redirect("limits:request-detail", created.pk)
    preview = None
    if buyer is not None:
        figures = selectors.buyer_figures(tenant=request.tenant, buyer_ids=[buyer.pk])[buyer.pk]
        policy = selectors.policy_in_force(on=figures.as_of)
        preview = {
            "figures": figures,
            "recommendation": _explained(
                selectors.recommend_for(figures=figures, policy=policy),
                request.tenant.base_currency,
            ),
        }
    return render(
        request,
        "policies/request_form.html",
        {
            "form": form,
            "buyer": buyer,
            "preview": preview,
            "currency": request.tenant.base_currency,
        },
    )


@tenant_view()
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    limit_request = _request_or_404(request_id)
    item = selectors.request_items(
        tenant=request.tenant, requests=[limit_request], viewer=request.membership
    )[0]
    may_answer = (
        limit_request.requested_by_id == request.user.pk or limit_request.requested_by_id is None
    ) and request.membership.allows(Permission.REQUEST_LIMIT)
    policy = selectors.policy_in_force(on=selectors.today())
    return render(
        request,
        "policies/request_detail.html",
        {
            "row": _queue_rows(
                [item], request.tenant.base_currency, policy=policy, viewer=request.membership
            )[0],
            "limit_request": limit_request,
            "decisions": [
                (
                    decision,
                    [
                        breach_text(approval.PolicyBreach.from_json(row), limit_request.currency)
                        for row in decision.policy_breaches
                    ],
                )
                for decision in limit_request.decisions.all()
            ],
            "currency": request.tenant.base_currency,
            "can_decide": request.membership.allows(Permission.DECIDE_LIMIT),
            "may_answer": may_answer,
            "resubmit_form": ResubmitForm(),
        },
    )


@tenant_view(Permission.REQUEST_LIMIT)
@require_POST
def request_resubmit(request: HttpRequest, request_id: int) -> HttpResponse:
    limit_request = _request_or_404(request_id)
    form = ResubmitForm(request.POST)
    if form.is_valid():
        try:
            services.limit_request_resubmit(
                tenant=request.tenant,
                actor=request.user,
                request=limit_request,
                **form.cleaned_data,
            )
        except services.DecisionNotAllowed as refusal:
            raise PermissionDenied from refusal
        except ValidationError as error:
            for message in _labelled_errors(form, error, general="justification"):
                messages.error(request, message)
        else:
            messages.success(request, _("The request is back with the approvers."))
    else:
        for message in _labelled_errors(form, _form_errors(form), general="justification"):
            messages.error(request, message)
    return redirect("limits:request-detail", limit_request.pk)


@tenant_view(Permission.REQUEST_LIMIT)
@require_POST
def request_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    limit_request = _request_or_404(request_id)
    try:
        services.limit_request_withdraw(
            tenant=request.tenant, actor=request.user, request=limit_request
        )
    except services.DecisionNotAllowed as refusal:
        raise PermissionDenied from refusal
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The request was withdrawn."))
    return redirect("limits:request-detail", limit_request.pk)


# --- A buyer's limit -------------------------------------------------------------------------


@tenant_view()
def buyer_limit(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    figures = selectors.buyer_figures(tenant=request.tenant, buyer_ids=[buyer.pk])[buyer.pk]
    policy = selectors.policy_in_force(on=figures.as_of)
    band = selectors.band_for(policy, figures.grade)
    history = list(selectors.limit_history(buyer=buyer)[:HISTORY_SHOWN])
    return render(
        request,
        "policies/buyer_limit.html",
        {
            "buyer": buyer,
            "figures": figures,
            "limit": figures.limit,
            "band": band,
            "policy": policy,
            "recommendation": _explained(
                selectors.recommend_for(figures=figures, policy=policy),
                request.tenant.base_currency,
            ),
            "covers": InsurerCover.objects.filter(buyer=buyer).order_by("insurer"),
            "requests": selectors.limit_requests().filter(buyer=buyer)[:20],
            "history": list(
                zip(history, describe_events(history, membership=request.membership), strict=True)
            ),
            "currency": request.tenant.base_currency,
            "block_form": BlockForm(),
        },
    )


def _limit_of(buyer_id: int) -> CreditLimit:
    limit = CreditLimit.objects.select_related("buyer").filter(buyer_id=buyer_id).first()
    if limit is None:
        raise Http404
    return limit


@tenant_view(Permission.DECIDE_LIMIT)
@require_POST
def limit_block(request: HttpRequest, buyer_id: int) -> HttpResponse:
    limit = _limit_of(buyer_id)
    try:
        services.credit_limit_block(
            tenant=request.tenant,
            actor=request.user,
            limit=limit,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The limit is blocked: credit checks now answer hold."))
    return redirect("limits:buyer", buyer_id)


@tenant_view(Permission.DECIDE_LIMIT)
@require_POST
def limit_unblock(request: HttpRequest, buyer_id: int) -> HttpResponse:
    limit = _limit_of(buyer_id)
    try:
        services.credit_limit_unblock(tenant=request.tenant, actor=request.user, limit=limit)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The limit is active again."))
    return redirect("limits:buyer", buyer_id)


# --- Insurer cover ---------------------------------------------------------------------------


def _cover_form_page(
    request: HttpRequest, *, buyer: Buyer, cover: InsurerCover | None, initial: Mapping[str, Any]
) -> HttpResponse:
    form = InsurerCoverForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.insurer_cover_save(
                tenant=request.tenant,
                actor=request.user,
                buyer=buyer,
                terms=services.CoverTerms(**form.cleaned_data),
                cover=cover,
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("Insurer cover saved."))
            return redirect(reverse("limits:buyer", args=[buyer.pk]) + "#cover")
    return render(
        request, "policies/cover_form.html", {"form": form, "buyer": buyer, "cover": cover}
    )


@tenant_view(Permission.MANAGE_INSURANCE)
def cover_create(request: HttpRequest, buyer_id: int) -> HttpResponse:
    buyer = _buyer_or_404(buyer_id)
    return _cover_form_page(
        request,
        buyer=buyer,
        cover=None,
        initial={"currency": request.tenant.base_currency, "status": InsurerCover.Status.GRANTED},
    )


@tenant_view(Permission.MANAGE_INSURANCE)
def cover_edit(request: HttpRequest, cover_id: int) -> HttpResponse:
    cover = InsurerCover.objects.select_related("buyer").filter(pk=cover_id).first()
    if cover is None:
        raise Http404
    initial = {field: getattr(cover, field) for field in services.COVER_FIELDS}
    return _cover_form_page(request, buyer=cover.buyer, cover=cover, initial=initial)


# --- Credit policy ---------------------------------------------------------------------------


@tenant_view()
def policy(request: HttpRequest) -> HttpResponse:
    in_force = selectors.policy_in_force(on=selectors.today())
    versions = list(selectors.policy_versions())
    return render(
        request,
        "policies/policy.html",
        {
            "policy": in_force,
            "versions": versions,
            "scheduled": [v for v in versions if v.effective_from > selectors.today()],
            "currency": request.tenant.base_currency,
        },
    )


@tenant_view(Permission.MANAGE_CREDIT_POLICY)
def policy_edit(request: HttpRequest) -> HttpResponse:
    current = selectors.policy_in_force(on=selectors.today())
    initial: dict[str, Any] = {"effective_from": selectors.today()}
    band_initial: list[dict[str, Any]] = [
        {"grade_from": grade, "grade_to": grade, "approval_level": "standard"}
        for grade in range(1, 11)
    ]
    if current is not None:
        initial.update(
            {
                field: getattr(current, field)
                for field in (
                    "four_eyes_threshold",
                    "lowest_acceptable_grade",
                    "overdue_hold_days",
                    "overdue_hold_amount",
                    "limit_without_financials",
                )
            }
        )
        band_initial = [
            {field: getattr(band, field) for field in services.BAND_FIELDS}
            for band in current.bands.all()
        ]
    form = CreditPolicyForm(request.POST or None, initial=initial)
    # Room for up to ten bands: the current ones plus empty rows.
    band_formset = forms.formset_factory(
        BandForm, extra=MAX_BANDS - len(band_initial), max_num=MAX_BANDS, absolute_max=MAX_BANDS
    )
    bands = band_formset(request.POST or None, initial=band_initial, prefix="bands")
    band_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and bands.is_valid():
        rows = [
            band.cleaned_data for band in bands if band.cleaned_data.get("grade_from") is not None
        ]
        try:
            created = services.credit_policy_create(
                tenant=request.tenant, actor=request.user, bands=rows, **form.cleaned_data
            )
        except ValidationError as error:
            for key, field_messages in error.message_dict.items():
                if key in form.fields:
                    for message in field_messages:
                        form.add_error(key, message)
                else:
                    band_errors.extend(field_messages)
        else:
            messages.success(
                request,
                _("Credit policy version %(version)s saved, effective %(date)s.")
                % {"version": created.version, "date": created.effective_from.isoformat()},
            )
            return redirect("limits:policy")
    return render(
        request,
        "policies/policy_form.html",
        {"form": form, "bands": bands, "band_errors": band_errors, "current": current},
    )


# --- Notifications ---------------------------------------------------------------------------


@tenant_view()
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notifications_mark_read(user=request.user)
        return redirect("limits:notifications")
    page = Paginator(selectors.notifications_of(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "policies/notifications.html", {"page": page})


@tenant_view()
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notifications_of(user=request.user).filter(pk=notification_id).first()
    if notification is None:
        raise Http404
    services.notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    link = notification.link
    if not link or not url_has_allowed_host_and_scheme(link, {request.get_host()}):
        link = reverse("limits:notifications")
    return redirect(link)
