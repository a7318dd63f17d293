import json
import sys
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
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
from creditguard.audit.activity import describe_events
from creditguard.audit.forms import AuditFilterForm
from creditguard.audit.models import AuditEvent
from creditguard.audit.selectors import AuditFilters, audit_trail
from creditguard.spreadsheet import csv_bytes

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
    return redirect(_section_landing(request.POST.get("next", "")))


# Query parameters that name one of the tenant's objects by id (a create form's subject, a list
# filter): kept after a switch they would name the other tenant's object.
OBJECT_PARAMETERS = frozenset({"buyer", "policy", "notification", "claim", "request"})


def _section_landing(next_url: str) -> str:
    """Where a tenant switch lands, given the page the user was on.

    A page about one object (/buyers/123/, /limits/requests/5/) or naming one in its query
    (/claims/new/?buyer=7) belongs to the tenant just left, and the same URL would be a 404 in
    the new one: it lands on its section's index (/buyers/, /limits/). A page about no object
    (a list, the rules, the audit trail) is kept as it is. Anything else: the dashboard.
    """
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts=None):
        return reverse("dashboard")
    parts = urlsplit(next_url)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return reverse("dashboard")
    if not match.kwargs and not match.args and not OBJECT_PARAMETERS & parse_qs(parts.query).keys():
        return next_url
    section = f"/{parts.path.strip('/').split('/')[0]}/"
    try:
        resolve(section)
    except Resolver404:
        return reverse("dashboard")
    return section


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


AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_MAX_ROWS = 100_000  # built in memory inside the request, like the buyer export


def _audit_filter_form(request: HttpRequest) -> AuditFilterForm:
    return AuditFilterForm(request.GET or None)


@tenant_view(Permission.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = _audit_filter_form(request)
    filters = form.filters() if form.is_valid() else AuditFilters()
    try:
        before_id = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before_id = None
    events: list[AuditEvent] = []
    if not form.is_bound or form.is_valid():
        events = list(audit_trail(filters=filters, before_id=before_id)[: AUDIT_PAGE_SIZE + 1])
    has_more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    query = request.GET.copy()
    query.pop("before", None)
    query_string = query.urlencode()
    membership = request.membership  # type: ignore[attr-defined]
    return render(
        request,
        "web/audit_log.html",
        {
            "form": form,
            "filtered": form.is_bound and filters.any,
            "rows": list(zip(events, describe_events(events, membership=membership), strict=True)),
            "query_string": query_string,
            "next_before": events[-1].pk if has_more else None,
            "is_first_page": before_id is None,
        },
    )


@tenant_view(Permission.VIEW_AUDIT)
def audit_export(request: HttpRequest) -> HttpResponse:
    form = _audit_filter_form(request)
    if form.is_bound and not form.is_valid():
        return render(
            request, "web/audit_log.html", {"form": form, "rows": [], "filtered": True}, status=400
        )
    filters = form.filters() if form.is_bound else AuditFilters()
    rows = list(
        audit_trail(filters=filters).values_list(
            "created_at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "object_label",
            "before",
            "after",
        )[: AUDIT_EXPORT_MAX_ROWS + 1]
    )
    if len(rows) > AUDIT_EXPORT_MAX_ROWS:
        messages.error(
            request,
            _("More than %(count)s entries match; narrow the filters to export them.")
            % {"count": f"{AUDIT_EXPORT_MAX_ROWS:,}"},
        )
        return redirect(f"{reverse('audit-log')}?{request.GET.urlencode()}")
    content = csv_bytes(
        ["time", "actor", "action", "object_type", "object_id", "object", "before", "after"],
        (
            [
                created_at.isoformat(),
                actor,
                action,
                object_type,
                object_id,
                object_label,
                json.dumps(before, ensure_ascii=False) if before is not None else "",
                json.dumps(after, ensure_ascii=False) if after is not None else "",
            ]
            for created_at, actor, action, object_type, object_id, object_label, before, after in rows
        ),
    )
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


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
