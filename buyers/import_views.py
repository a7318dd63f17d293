"""Import and export pages: parse the request, call `buyers.imports` / `buyers.exports`, render."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from creditguard.accounts.roles import Permission
from creditguard.web.decorators import tenant_view

from . import imports
from .exports import CONTENT_TYPES, EXPORT_MAX_ROWS, ExportTooLarge, export_file
from .import_forms import ColumnMappingForm, ImportUploadForm, ReadOptionsForm
from .models import ImportJob

JOBS_PER_PAGE = 25


def _job_or_404(job_id: int) -> ImportJob:
    """The active tenant's job; another tenant's job is as missing as a deleted one."""
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


def _attachment(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file_gone(
    request: HttpRequest, job: ImportJob, error: imports.ImportFileError
) -> HttpResponse:
    """The stored upload can no longer be read (e.g. lost from storage): say so, do not fail."""
    messages.error(request, error.message)
    return redirect("imports:detail", job_id=job.pk)


@tenant_view(Permission.VIEW)
def import_list(request: HttpRequest) -> HttpResponse:
    can_import = request.membership.allows(Permission.EDIT_RECEIVABLES)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_import:
            raise PermissionDenied
        if form.is_valid():
            try:
                job = imports.import_job_create(
                    tenant=request.tenant,
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                )
            except imports.ImportFileError as error:
                form.add_error("file", error.message)
            else:
                return redirect("imports:map", job_id=job.pk)
    jobs = ImportJob.objects.select_related("created_by")
    return render(
        request,
        "buyers/imports/list.html",
        {
            "form": form,
            "can_import": can_import,
            "page": Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page")),
            "exports": [("buyers", _("Buyers")), ("invoices", _("Invoices"))],
            "export_limits": EXPORT_MAX_ROWS,
            "template_kinds": ImportJob.Kind.choices,
            "draft_statuses": imports.DRAFT_STATUSES,
            "retention_days": settings.IMPORT_DRAFT_RETENTION_DAYS,
        },
    )


def _read_options_posted(
    request: HttpRequest, job: ImportJob, reading: imports.FileReading
) -> tuple[ReadOptionsForm, HttpResponse | None]:
    """The read options form; on a valid POST of it, the file read again and a redirect."""
    posted = request.method == "POST" and "read_options" in request.POST
    form = ReadOptionsForm(request.POST if posted else None, reading=reading)
    if not posted or not form.is_valid():
        return form, None
    options = form.read_options()
    try:
        imports.import_job_read_options(job=job, options=options)
    except imports.ImportFileError as error:
        # The encoding or the delimiter cannot read the file: name the one that was changed.
        changed = "delimiter" if options.encoding == reading.options.encoding else "encoding"
        form.add_error(changed, error.message)
        return form, None
    return form, redirect(request.path)


@tenant_view(Permission.EDIT_RECEIVABLES)
def import_map(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("imports:detail", job_id=job.pk)
    try:
        sheet = imports.read_job_sheet(job)
    except imports.ImportFileError as error:
        return _file_gone(request, job, error)
    reading = imports.import_job_reading(job=job, sheet=sheet)
    options_form, done = _read_options_posted(request, job, reading)
    if done is not None:
        return done
    first_row = sheet.frame.iloc[0]
    mapping_posted = request.method == "POST" and "read_options" not in request.POST
    form = ColumnMappingForm(
        request.POST if mapping_posted else None,
        fields=imports.import_fields(job.kind),
        columns=[(column, first_row[column]) for column in sheet.columns],
        initial=imports.job_field_columns(job),
    )
    if mapping_posted and form.is_valid():
        imports.import_job_map(job=job, mapping=form.cleaned_data)
        return redirect("imports:preview", job_id=job.pk)
    return render(
        request,
        "buyers/imports/map.html",
        {
            "job": job,
            "form": form,
            "options_form": options_form,
            "reading": reading,
            "retention_days": settings.IMPORT_DRAFT_RETENTION_DAYS,
        },
    )


@tenant_view(Permission.EDIT_RECEIVABLES)
def import_preview(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("imports:detail", job_id=job.pk)
    if imports.missing_required_fields(job.kind, imports.job_field_columns(job)):
        messages.error(request, _("Choose a column for every required field first."))
        return redirect("imports:map", job_id=job.pk)
    try:
        preview = imports.import_job_preview(tenant=request.tenant, job=job)
    except imports.ImportFileError as error:
        return _file_gone(request, job, error)
    options_form, done = _read_options_posted(request, job, preview.reading)
    if done is not None:
        return done
    return render(
        request,
        "buyers/imports/preview.html",
        {
            "job": job,
            "preview": preview,
            "options_form": options_form,
            "retention_days": settings.IMPORT_DRAFT_RETENTION_DAYS,
        },
    )


@tenant_view(Permission.EDIT_RECEIVABLES)
@require_POST
def import_delete(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    try:
        imports.import_job_delete(tenant=request.tenant, actor=request.user, job=job)
    except imports.ImportFileError as error:
        messages.error(request, error.message)
        return redirect("imports:detail", job_id=job.pk)
    messages.success(
        request, _("The upload “%(file)s” was deleted.") % {"file": job.original_filename}
    )
    return redirect("imports:list")


@tenant_view(Permission.VIEW)
def import_template(request: HttpRequest, kind: str, file_format: str) -> HttpResponse:
    content = imports.template_file(kind=kind, file_format=file_format)
    return _attachment(
        content,
        content_type=CONTENT_TYPES[file_format],
        filename=f"creditguard-{kind.replace('_', '-')}-template.{file_format}",
    )


@tenant_view(Permission.EDIT_RECEIVABLES)
@require_POST
def import_start(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    try:
        imports.import_job_queue(tenant=request.tenant, job=job)
    except imports.ImportFileError as error:
        messages.error(request, error.message)
        return redirect("imports:map", job_id=job.pk)
    return redirect("imports:detail", job_id=job.pk)


@tenant_view(Permission.VIEW)
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    errors = [imports.RowError(**error) for error in job.errors[: imports.PREVIEW_ERRORS]]
    return render(
        request,
        "buyers/imports/detail.html",
        {
            "job": job,
            "progress": imports.import_progress(job),
            "errors": errors,
            "retention_days": settings.IMPORT_DRAFT_RETENTION_DAYS,
        },
    )


@never_cache
@tenant_view(Permission.VIEW)
def import_progress_json(request: HttpRequest, job_id: int) -> JsonResponse:
    return JsonResponse(imports.import_progress(_job_or_404(job_id)))


@never_cache
@tenant_view(Permission.VIEW)
def import_errors_csv(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    try:
        errors = imports.import_job_errors(tenant=request.tenant, job=job)
    except imports.ImportFileError as error:
        return _file_gone(request, job, error)
    report = imports.error_report_csv(errors)
    return _attachment(
        report, content_type=CONTENT_TYPES["csv"], filename=f"import-{job.pk}-errors.csv"
    )


@never_cache
@tenant_view(Permission.VIEW)
def export_download(request: HttpRequest, kind: str, file_format: str) -> HttpResponse:
    status = request.GET.get("status", "")  # an unknown status simply matches nothing
    try:
        content = export_file(
            kind=kind,
            file_format=file_format,
            status=status,
            country=request.GET.get("country", "")[:2],
        )
    except ExportTooLarge as error:
        limit = f"{error.limit:,}"
        if file_format == "xlsx":
            message = _(
                "An Excel export holds at most %(count)s rows. Download CSV instead "
                "(up to %(csv_count)s rows), or narrow the export with a filter."
            ) % {"count": limit, "csv_count": f"{EXPORT_MAX_ROWS['csv']:,}"}
        else:
            message = _("An export holds at most %(count)s rows. Narrow it with a filter.") % {
                "count": limit
            }
        messages.error(request, message)
        return redirect("imports:list")
    filename = f"{kind}-{timezone.localdate():%Y-%m-%d}.{file_format}"
    return _attachment(content, content_type=CONTENT_TYPES[file_format], filename=filename)
