"""Report pages: the archive (with the progress of the reports being generated), the "new
report" form, a buyer's credit report from its page, the progress as JSON and the download.

Everyone in the tenant may read and download reports (VIEW); requesting one takes
REQUEST_REPORT (analysts, credit managers, administrators). Reports are looked up through the
tenant-scoped manager: another tenant's report is "not found", like a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from buyers.models import Buyer
from creditguard.accounts.roles import Permission
from creditguard.dates import today
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.web.decorators import tenant_view

from ..models import Report
from . import services
from .forms import ReportForm

PAGE_SIZE = 25


def _language() -> str:
    language = (get_language() or "en").lower()
    return language if language in services.LANGUAGES else "en"


def _user(request: TenantHttpRequest) -> User:
    assert isinstance(request.user, User)  # tenant_view: signed in
    return request.user


def _report_or_404(pk: int) -> Report:
    report = Report.objects.select_related("buyer").filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


def progress_of(report: Report) -> dict[str, object]:
    """What the archive's progress bar reads (the JSON endpoint and the page)."""
    return {
        "id": report.pk,
        "status": report.status,
        "status_label": str(report.get_status_display()),
        "progress": report.progress,
        "done": report.is_finished,
        "download_url": reverse("reports:download", args=[report.pk])
        if report.status == Report.Status.DONE
        else None,
    }


@tenant_view()
def report_list(request: TenantHttpRequest) -> HttpResponse:
    reports = Report.objects.select_related("buyer").order_by("-created_at", "-id")
    kind = request.GET.get("kind", "")
    if kind in Report.Kind.values:
        reports = reports.filter(kind=kind)
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    assert request.membership is not None  # tenant_view
    return render(
        request,
        "portfolio/reports/list.html",
        {
            "page": page,
            "kind": kind,
            "kinds": Report.Kind.choices,
            "can_request": request.membership.allows(Permission.REQUEST_REPORT),
            "running": any(not report.is_finished for report in page.object_list),
        },
    )


@tenant_view(Permission.REQUEST_REPORT)
def report_create(request: TenantHttpRequest) -> HttpResponse:
    initial: dict[str, object] = {"language": _language()}
    buyer_id = request.GET.get("buyer", "")
    if buyer_id.isdigit():
        buyer = Buyer.objects.filter(pk=buyer_id).first()
        if buyer is not None:
            initial.update(kind=Report.Kind.CREDIT_REPORT, buyer=buyer.erp_reference)
    kind = request.GET.get("kind", "")
    if kind in Report.Kind.values:
        initial["kind"] = kind
    form = ReportForm(request.POST or None, initial=initial, today=today())
    if request.method == "POST" and form.is_valid():
        assert request.tenant is not None  # tenant_view
        try:
            report = services.report_request(
                tenant=request.tenant,
                actor=_user(request),
                kind=form.cleaned_data["kind"],
                language=form.cleaned_data["language"],
                period=form.period(),
                buyer=form.cleaned_data.get("buyer"),
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(form.field_of(field), message)
        else:
            messages.success(
                request,
                _("%(report)s is being prepared; it appears below when it is ready.")
                % {"report": report.get_kind_display()},
            )
            return redirect("reports:list")
    return render(request, "portfolio/reports/form.html", {"form": form})


@tenant_view(Permission.REQUEST_REPORT)
@require_POST
def buyer_credit_report(request: TenantHttpRequest, buyer_id: int) -> HttpResponse:
    """The "Credit report (PDF)" button of a buyer's page: queued in the reader's language."""
    buyer = Buyer.objects.filter(pk=buyer_id).first()
    if buyer is None:
        raise Http404
    assert request.tenant is not None  # tenant_view
    services.report_request(
        tenant=request.tenant,
        actor=_user(request),
        kind=Report.Kind.CREDIT_REPORT,
        language=_language(),
        buyer=buyer,
    )
    messages.success(
        request,
        _("The credit report on %(buyer)s is being prepared; download it here when it is ready.")
        % {"buyer": buyer.legal_name},
    )
    return redirect("reports:list")


@tenant_view()
def report_progress(request: TenantHttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(progress_of(_report_or_404(pk)))


@tenant_view()
def report_download(request: TenantHttpRequest, pk: int) -> FileResponse:
    """Served only through this view: MEDIA_ROOT is not web-served, so the tenant check guards
    every download."""
    report = _report_or_404(pk)
    if report.status != Report.Status.DONE or not report.file:
        raise Http404
    try:
        handle = report.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(
        handle,
        as_attachment=True,
        filename=(report.file.name or "").rsplit("/", 1)[-1],
        content_type="application/pdf",
    )
