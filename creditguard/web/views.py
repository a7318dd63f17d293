import sys

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Permission
from creditguard.accounts.security import locked_out_emails, member_unlock
from creditguard.accounts.selectors import SESSION_TENANT_KEY, tenant_memberships
from creditguard.accounts.services import membership_add, membership_update
from creditguard.api.models import ApiKey
from creditguard.api.problems import django_problem, is_api_request
from creditguard.api.services import api_key_create, api_key_revoke
from creditguard.audit.selectors import audit_events

from . import health
from .decorators import tenant_view
from .forms import ApiKeyCreateForm, MembershipAddForm, MembershipEditForm


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("tenant_id", "")
    for membership in request.memberships:
        if str(membership.tenant_id) == wanted:
            request.session[SESSION_TENANT_KEY] = membership.tenant_id
            messages.success(request, _("Switched to %(tenant)s.") % {"tenant": membership.tenant})
            break
    else:
        raise Http404
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = "dashboard"
    return redirect(next_url)


def _form_errors_from(form, error: ValidationError) -> None:
    for field, field_errors in error.message_dict.items():
        for message in field_errors:
            form.add_error(field if field in form.fields else None, message)


@tenant_view(Permission.MANAGE_USERS)
def members(request: HttpRequest) -> HttpResponse:
    form = MembershipAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = membership_add(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("%(email)s was added.") % {"email": membership.user.email})
            return redirect("members")
    memberships = list(tenant_memberships(tenant_id=request.tenant.pk))
    return render(
        request,
        "web/members.html",
        {
            "form": form,
            "memberships": memberships,
            "locked_emails": locked_out_emails(emails=[m.user.email for m in memberships]),
        },
    )


@tenant_view(Permission.MANAGE_USERS)
def member_edit(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    if membership is None:
        raise Http404
    initial = {
        "role": membership.role,
        "approval_authority": membership.approval_authority,
        "approval_currency": membership.approval_currency,
        "is_active": membership.is_active,
    }
    form = MembershipEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            membership_update(
                tenant=request.tenant,
                actor=request.user,
                membership=membership,
                **form.cleaned_data,
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("Membership updated."))
            return redirect("members")
    locked_out = bool(locked_out_emails(emails=[membership.user.email]))
    return render(
        request,
        "web/member_edit.html",
        {"form": form, "membership": membership, "locked_out": locked_out},
    )


@require_POST
@tenant_view(Permission.MANAGE_USERS)
def member_unlock_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    if membership is None:
        raise Http404
    member_unlock(tenant=request.tenant, actor=request.user, membership=membership)
    messages.success(request, _("%(email)s can sign in again.") % {"email": membership.user.email})
    return redirect("member-edit", membership_id=membership.pk)


@tenant_view(Permission.MANAGE_API_KEYS)
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _api_key, new_key = api_key_create(
            tenant=request.tenant, actor=request.user, **form.cleaned_data
        )
        form = ApiKeyCreateForm()
    return render(
        request,
        "web/api_keys.html",
        {"form": form, "new_key": new_key, "api_keys": ApiKey.objects.select_related("created_by")},
    )


@tenant_view(Permission.MANAGE_API_KEYS)
@require_POST
def api_key_revoke_view(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = ApiKey.objects.filter(pk=api_key_id).first()
    if api_key is None:
        raise Http404
    api_key_revoke(tenant=request.tenant, actor=request.user, api_key=api_key)
    messages.success(request, _("API key %(name)s was revoked.") % {"name": api_key.name})
    return redirect("api-keys")


@tenant_view(Permission.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    page = Paginator(audit_events(), 50).get_page(request.GET.get("page"))
    return render(request, "web/audit_log.html", {"page": page})


@transaction.non_atomic_requests  # it reports on the database, so it must not need it to start
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.check_all()
    return JsonResponse(report, status=200 if report["status"] != "down" else 503)


def error_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return django_problem(request, 404)
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` block: the exception at hand tells a crash from a
    # database or Redis that is down, which is worth a retry rather than a bug report.
    if health.is_unavailable_error(sys.exc_info()[1]):
        return error_503(request)
    if is_api_request(request):
        return django_problem(request, 500)
    return render(request, "500.html", status=500)


def error_503(request: HttpRequest) -> HttpResponse:
    response = (
        django_problem(request, 503)
        if is_api_request(request)
        else render(request, "503.html", status=503)
    )
    response["Retry-After"] = str(health.RETRY_AFTER_SECONDS)
    return response
