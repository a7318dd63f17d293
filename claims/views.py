"""Claim pages: the list with the claims key figures, a new claim (from an overdue notification
or for a buyer under a policy), one claim with its checks, calculation, timeline, documents,
actions, recoveries and write-offs, a document's download and the dossier PDF.

Parse → call one service (`claims.services`) → redirect or render. Another tenant's claim,
policy, buyer or notification is "not found", like a missing one. Reading needs VIEW; every
write needs MANAGE_INSURANCE. A step the workflow forbids is a message, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from buyers.models import Buyer
from creditguard.accounts.roles import Permission
from creditguard.dates import today
from creditguard.web.decorators import tenant_view
from policies.models import InsurancePolicy, OverdueNotification
from policies.services.transitions import TransitionNotAllowed

from . import dossier, selectors, services, workflow
from .forms import (
    AssignForm,
    ClaimCreateForm,
    ClaimFilterForm,
    CommentForm,
    DecideForm,
    DocumentForm,
    PaidForm,
    RecoveryForm,
    RequiredCommentForm,
    WriteOffForm,
)
from .models import Claim, ClaimDocument

PAGE_SIZE = 50
LANGUAGES = {"en", "zh-hans"}
Status = Claim.Status

# The status each action leads to; an action is offered when the workflow allows that step.
ACTION_TARGETS: dict[str, tuple[str, ...]] = {
    "submit": (Status.SUBMITTED,),
    "review": (Status.UNDER_REVIEW,),
    "decide": (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.REJECTED),
    "paid": (Status.PAID,),
    "withdraw": (Status.WITHDRAWN,),
}


def _member(request: HttpRequest) -> User:
    """The signed-in member (`tenant_view` let only them in)."""
    return cast(User, request.user)


def _tenant(request: HttpRequest) -> Any:
    return request.tenant  # type: ignore[attr-defined]


def _claim_or_404(pk: int) -> Claim:
    claim = (
        Claim.objects.select_related("policy", "buyer", "buyer__country", "assignee", "tenant")
        .filter(pk=pk)
        .first()
    )
    if claim is None:
        raise Http404
    return claim


# Service error keys that name a differently named form field.
FIELD_OF_KEY = {"invoice_ids": "invoices"}


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, field_messages in error.message_dict.items():
        name = FIELD_OF_KEY.get(key, key)
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)


def _allowed_actions(claim: Claim) -> set[str]:
    allowed = workflow.ALLOWED.get(claim.status, ())
    return {action for action, targets in ACTION_TARGETS.items() if set(targets) & set(allowed)}


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


# --- List ---------------------------------------------------------------------------------------


@tenant_view()
def claim_list(request: HttpRequest) -> HttpResponse:
    form = ClaimFilterForm(request.GET or None)
    filters: dict[str, str | int] = {}
    search = ""
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data["status"],
            "cause": data["cause"],
            "policy": data["policy"].pk if data["policy"] else "",
        }
        search = data["q"].strip()
    rows = selectors.claim_list(filters=filters).select_related("buyer", "policy", "assignee")
    if search:
        rows = rows.filter(
            Q(buyer__legal_name__icontains=search) | Q(buyer__erp_reference__icontains=search)
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {key: str(value) for key, value in request.GET.items() if key != "page" and value}
    return render(
        request,
        "claims/claim_list.html",
        {
            "form": form,
            "page": page,
            "kpis": selectors.claims_kpis(tenant=_tenant(request), as_of=today()),
            "as_of": today(),
            "query_string": urlencode(query),
            "can_manage": request.membership.allows(Permission.MANAGE_INSURANCE),  # type: ignore[attr-defined]
        },
    )


# --- New claim ----------------------------------------------------------------------------------


def _create_subject(
    request: HttpRequest,
) -> tuple[InsurancePolicy, Buyer, OverdueNotification | None]:
    """The policy and buyer a new claim is for: from `?notification=` (a sent notification) or
    `?buyer=&policy=`; anything missing, foreign or malformed is "not found"."""
    params = request.GET if request.method == "GET" else request.POST
    notification_id = _id(params.get("notification") or request.GET.get("notification"))
    if notification_id is not None:
        notification = (
            OverdueNotification.objects.select_related("policy", "buyer")
            .filter(pk=notification_id, status=OverdueNotification.Status.SENT)
            .first()
        )
        if notification is None:
            raise Http404
        return notification.policy, notification.buyer, notification
    policy_id = _id(params.get("policy") or request.GET.get("policy"))
    buyer_id = _id(params.get("buyer") or request.GET.get("buyer"))
    policy = InsurancePolicy.objects.filter(pk=policy_id).first() if policy_id else None
    buyer = Buyer.objects.filter(pk=buyer_id).first() if buyer_id else None
    if policy is None or buyer is None:
        raise Http404
    return policy, buyer, None


@require_http_methods(["GET", "POST"])
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_create(request: HttpRequest) -> HttpResponse:
    policy, buyer, notification = _create_subject(request)
    if request.method == "POST":
        form = ClaimCreateForm(request.POST, policy=policy, buyer=buyer)
        if form.is_valid():
            data = form.cleaned_data
            try:
                claim = services.claim_create(
                    tenant=_tenant(request),
                    actor=_member(request),
                    policy=policy,
                    buyer=buyer,
                    cause=data["cause"],
                    loss_date=data["loss_date"],
                    invoice_ids=[invoice.pk for invoice in data["invoices"]],
                    notes=data["notes"],
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Claim %(number)s drafted.") % {"number": claim.number})
                return redirect("claims:detail", claim.pk)
        status = 400
    else:
        initial: dict[str, Any] = {"loss_date": today()}
        if notification is not None:
            initial["cause"] = Claim.Cause.PROTRACTED_DEFAULT
            initial["invoices"] = list(notification.items.values_list("invoice_id", flat=True))
        form = ClaimCreateForm(initial=initial, policy=policy, buyer=buyer)
        status = 200
    return render(
        request,
        "claims/claim_form.html",
        {"form": form, "policy": policy, "buyer": buyer, "notification": notification},
        status=status,
    )


# --- One claim ----------------------------------------------------------------------------------


def _detail(
    request: HttpRequest,
    claim: Claim,
    *,
    forms_by_name: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    as_of = today()
    tenant_id = _tenant(request).pk
    context: dict[str, Any] = {
        "sheet": dossier.claim_sheet(claim, as_of=as_of),
        "claim": claim,
        "actions": _allowed_actions(claim),
        "can_manage": request.membership.allows(Permission.MANAGE_INSURANCE),  # type: ignore[attr-defined]
        "is_paid": claim.status == Status.PAID,
        "recoveries": list(claim.recoveries.all()),
        "write_offs": list(claim.write_offs.order_by("written_off_on", "id")),
        "comment_form": CommentForm(),
        "note_form": RequiredCommentForm(),
        "decide_form": DecideForm(),
        "paid_form": PaidForm(
            initial={
                "paid_amount": claim.approved_amount or claim.indemnity_amount,
                "paid_on": as_of,
            }
        ),
        "assign_form": AssignForm(initial={"assignee": claim.assignee_id}, tenant_id=tenant_id),
        "document_form": DocumentForm(),
        "recovery_form": RecoveryForm(initial={"received_on": as_of}),
        "write_off_form": WriteOffForm(initial={"written_off_on": as_of}),
    }
    context.update(forms_by_name or {})
    return render(request, "claims/claim_detail.html", context, status=status)


@tenant_view()
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _claim_or_404(pk))


def _act(
    request: HttpRequest,
    claim: Claim,
    form: forms.Form,
    form_name: str,
    action: Callable[[dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as error:
            if isinstance(error, TransitionNotAllowed):
                messages.error(request, " ".join(error.messages))
                return redirect("claims:detail", claim.pk)
            _add_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("claims:detail", claim.pk)
    return _detail(request, _claim_or_404(claim.pk), forms_by_name={form_name: form}, status=400)


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_submit(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        CommentForm(request.POST),
        "comment_form",
        lambda data: services.claim_submit(
            tenant=_tenant(request), actor=_member(request), claim=claim, comment=data["comment"]
        ),
        _("Claim submitted to the insurer."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_start_review(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        CommentForm(request.POST),
        "comment_form",
        lambda data: services.claim_start_review(
            tenant=_tenant(request), actor=_member(request), claim=claim, comment=data["comment"]
        ),
        _("The insurer's review has started."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_decide(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        DecideForm(request.POST),
        "decide_form",
        lambda data: services.claim_decide(
            tenant=_tenant(request),
            actor=_member(request),
            claim=claim,
            decision=data["decision"],
            approved_amount=(
                None if data["decision"] == Status.REJECTED else data["approved_amount"]
            ),
            insurer_reference=data["insurer_reference"],
            comment=data["comment"],
        ),
        _("The insurer's decision is recorded."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        PaidForm(request.POST),
        "paid_form",
        lambda data: services.claim_mark_paid(
            tenant=_tenant(request),
            actor=_member(request),
            claim=claim,
            paid_amount=data["paid_amount"],
            paid_on=data["paid_on"],
            comment=data["comment"],
        ),
        _("The indemnity payment is recorded."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        CommentForm(request.POST),
        "comment_form",
        lambda data: services.claim_withdraw(
            tenant=_tenant(request), actor=_member(request), claim=claim, comment=data["comment"]
        ),
        _("Claim withdrawn."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_assign(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        AssignForm(request.POST, tenant_id=_tenant(request).pk),
        "assign_form",
        lambda data: services.claim_assign(
            tenant=_tenant(request), actor=_member(request), claim=claim, assignee=data["assignee"]
        ),
        _("Assignee changed."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_comment(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        RequiredCommentForm(request.POST),
        "note_form",
        lambda data: services.claim_comment(
            tenant=_tenant(request), actor=_member(request), claim=claim, comment=data["comment"]
        ),
        _("Comment added."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def claim_document_add(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        DocumentForm(request.POST, request.FILES),
        "document_form",
        lambda data: services.claim_document_add(
            tenant=_tenant(request),
            actor=_member(request),
            claim=claim,
            title=data["title"],
            uploaded_file=data["file"],
        ),
        _("Document added."),
    )


@tenant_view()
def claim_document(request: HttpRequest, pk: int) -> HttpResponseBase:
    document = ClaimDocument.objects.filter(pk=pk).first()
    if document is None or not document.file:
        raise Http404
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    return FileResponse(
        handle,
        as_attachment=True,
        filename=(document.file.name or "").rsplit("/", 1)[-1],
        content_type=document.content_type or "application/octet-stream",
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def recovery_create(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        RecoveryForm(request.POST),
        "recovery_form",
        lambda data: services.recovery_record(
            tenant=_tenant(request),
            actor=_member(request),
            claim=claim,
            received_on=data["received_on"],
            amount=data["amount"],
            source=data["source"],
            note=data["note"],
        ),
        _("Recovery recorded."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def write_off_create(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    return _act(
        request,
        claim,
        WriteOffForm(request.POST),
        "write_off_form",
        lambda data: services.write_off_record(
            tenant=_tenant(request),
            actor=_member(request),
            claim=claim,
            amount=data["amount"],
            written_off_on=data["written_off_on"],
            reason=data["reason"],
        ),
        _("Write-off recorded."),
    )


# --- Dossier ------------------------------------------------------------------------------------


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang", "")
    return asked if asked in LANGUAGES else (translation.get_language() or "en")


@tenant_view()
def claim_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    sheet = dossier.claim_sheet(claim, as_of=today())
    response = HttpResponse(
        dossier.dossier_pdf(sheet, language=_language(request)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{dossier.document_name(claim)}"'
    return response
