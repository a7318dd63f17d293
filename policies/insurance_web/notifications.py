"""Overdue-notification pages: a policy's notifications, the portfolio-wide list, one
notification with its actions, and its PDF and CSV.

Parse → call one service (`policies.services.overdue_notifications`) → redirect or render.
Another tenant's policy or notification is "not found", like a missing one.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from creditguard.accounts.roles import Permission
from creditguard.dates import today
from creditguard.web.decorators import tenant_view

from ..insurance import notification_documents as documents
from ..insurance import notification_sheets as sheets
from ..models import ExtensionRequest, InsurancePolicy, OverdueNotification
from ..services import overdue_notifications as services
from .notification_forms import (
    DecideForm,
    ExtensionForm,
    NotificationFilterForm,
    ReviewForm,
    SendForm,
    WithdrawForm,
)

PAGE_SIZE = 50
LANGUAGES = {"en", "zh-hans"}


def _member(request: HttpRequest) -> User:
    """The signed-in member (`tenant_view` let only them in)."""
    return cast(User, request.user)


def _policy_or_404(pk: int) -> InsurancePolicy:
    policy = InsurancePolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise Http404
    return policy


def _notification_or_404(pk: int) -> OverdueNotification:
    notification = sheets.notification_or_none(pk)
    if notification is None:
        raise Http404
    return notification


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for key, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(key if key in form.fields else None, message)


def _list(request: HttpRequest, *, policy: InsurancePolicy | None) -> HttpResponse:
    form = NotificationFilterForm(request.GET or None)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    rows = sheets.notifications(policy_id=policy.pk if policy else None, status=status or None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    as_of = today()
    return render(
        request,
        "policies/insurance/notifications.html",
        {
            "policy": policy,
            "form": form,
            "page": page,
            "as_of": as_of,
            "query_string": urlencode({"status": status}) if status else "",
        },
    )


@tenant_view()
def policy_notifications(request: HttpRequest, pk: int) -> HttpResponse:
    return _list(request, policy=_policy_or_404(pk))


@tenant_view()
def all_notifications(request: HttpRequest) -> HttpResponse:
    return _list(request, policy=None)


def _detail(
    request: HttpRequest,
    notification: OverdueNotification,
    *,
    forms_by_name: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    max_days = services.max_extension_days(notification)
    sheet = sheets.notification_sheet(notification, as_of=today(), max_extension_days=max_days)
    context: dict[str, Any] = {
        "sheet": sheet,
        "notification": notification,
        "policy": notification.policy,
        "review_form": ReviewForm(initial={"notes": notification.notes}),
        "send_form": SendForm(initial={"sent_on": today()}),
        "withdraw_form": WithdrawForm(),
        "extension_form": ExtensionForm(buyer_id=notification.buyer_id),
        "decide_form": DecideForm(initial={"decided_on": today()}),
        "is_open": notification.status in OverdueNotification.OPEN_STATUSES,
        "can_manage": request.membership.allows(Permission.MANAGE_INSURANCE),  # type: ignore[attr-defined]
    }
    context.update(forms_by_name or {})
    return render(request, "policies/insurance/notification_detail.html", context, status=status)


@tenant_view()
def notification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _notification_or_404(pk))


def _act(
    request: HttpRequest,
    notification: OverdueNotification,
    form: forms.Form,
    form_name: str,
    action: Any,
    done: str,
) -> HttpResponse:
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as error:
            if isinstance(error, services.TransitionNotAllowed):
                messages.error(request, " ".join(error.messages))
                return redirect("insurance:notification-detail", notification.pk)
            _add_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("insurance:notification-detail", notification.pk)
    return _detail(
        request, _notification_or_404(notification.pk), forms_by_name={form_name: form}, status=400
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def notification_review(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _notification_or_404(pk)
    return _act(
        request,
        notification,
        ReviewForm(request.POST),
        "review_form",
        lambda data: services.notification_review(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=_member(request),
            notification=notification,
            notes=data["notes"],
        ),
        _("Notification reviewed: it can be sent to the insurer."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def notification_send(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _notification_or_404(pk)
    return _act(
        request,
        notification,
        SendForm(request.POST),
        "send_form",
        lambda data: services.notification_mark_sent(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=_member(request),
            notification=notification,
            sent_on=data["sent_on"],
            insurer_reference=data["insurer_reference"],
        ),
        _("Notification marked sent."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def notification_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _notification_or_404(pk)
    return _act(
        request,
        notification,
        WithdrawForm(request.POST),
        "withdraw_form",
        lambda data: services.notification_withdraw(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=_member(request),
            notification=notification,
            reason=data["reason"],
        ),
        _("Notification withdrawn."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def extension_create(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _notification_or_404(pk)
    return _act(
        request,
        notification,
        ExtensionForm(request.POST, buyer_id=notification.buyer_id),
        "extension_form",
        lambda data: services.extension_request_create(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=_member(request),
            notification=notification,
            kind=data["kind"],
            requested_until=data["requested_until"],
            payment_plan=data["payment_plan"],
            notes=data["notes"],
            beyond_maximum=data["beyond_maximum"],
        ),
        _("Extension request recorded."),
    )


@require_POST
@tenant_view(Permission.MANAGE_INSURANCE)
def extension_decide(request: HttpRequest, pk: int) -> HttpResponse:
    extension = ExtensionRequest.objects.filter(pk=pk).first()
    if extension is None:
        raise Http404
    notification = _notification_or_404(extension.notification_id)
    return _act(
        request,
        notification,
        DecideForm(request.POST),
        "decide_form",
        lambda data: services.extension_request_decide(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=_member(request),
            extension=extension,
            decision=data["decision"],
            decided_on=data["decided_on"],
        ),
        _("The insurer's answer is recorded."),
    )


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang", "")
    return asked if asked in LANGUAGES else (translation.get_language() or "en")


@tenant_view()
def notification_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _notification_or_404(pk)
    sheet = sheets.notification_sheet(
        notification, as_of=today(), max_extension_days=services.max_extension_days(notification)
    )
    response = HttpResponse(
        documents.notification_pdf(sheet, language=_language(request)),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = f'inline; filename="{documents.document_name(sheet, "pdf")}"'
    return response


@tenant_view()
def notification_csv(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _notification_or_404(pk)
    sheet = sheets.notification_sheet(notification, as_of=today())
    response = HttpResponse(
        documents.notification_csv(sheet, language=_language(request)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{documents.document_name(sheet, "csv")}"'
    )
    return response
