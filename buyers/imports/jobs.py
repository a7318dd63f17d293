"""Import jobs: upload, map, preview, queue, and the all-or-nothing run behind the
`buyers.import_run` task, with its progress.

Record rules are not here: `buyers.records.parse_records` parses and validates rows and
`buyers.bulk.bulk_upsert` writes them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_record
from creditguard.queue import enqueue_on_commit
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from ..bulk import BulkValidationError, bulk_upsert
from ..exports import csv_bytes
from ..models import ImportJob
from .formats import (
    ReadOptions,
    ValueFormats,
    field_columns_of,
    read_options_of,
    stored_mapping,
)
from .mapping import (
    TargetField,
    auto_mapping,
    import_fields,
    localised_rows,
    mapped_rows,
    missing_required_fields,
    value_formats,
)
from .reading import (
    IMPORT_MAX_UPLOAD_BYTES,
    ImportFileError,
    Sheet,
    file_format_of,
    read_job_sheet,
    read_sheet,
    upload_check,
)
from .validation import RowError, Validation, sheet_row_numbers, validate_rows

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20
PREVIEW_ERRORS = 50
# A failed job keeps this many errors; the rest are counted, not stored.
MAX_STORED_ERRORS = 10_000
# With acks_late, a task whose worker died is delivered again. A job still "running" after the
# Celery hard time limit cannot have a live worker any more, so the redelivery may take it over.
STALE_RUNNING_AFTER = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def import_job_create(*, tenant: Tenant, actor: User, kind: str, upload: UploadedFile) -> ImportJob:
    """Store a readable upload as a new job with its columns auto-mapped."""
    file_format = upload_check(upload)
    content = upload.read(IMPORT_MAX_UPLOAD_BYTES + 1)
    sheet = read_sheet(content, file_format)
    job = ImportJob(
        tenant=tenant,
        kind=kind,
        original_filename=Path(upload.name or "").name[:255],
        column_mapping=stored_mapping(auto_mapping(kind, sheet.columns), ReadOptions()),
        total_rows=sheet.row_count,
        created_by=actor,
    )
    # A generated name: the user's file name is only displayed, never part of a path.
    job.file.save(f"{uuid.uuid4().hex}.{file_format}", ContentFile(content), save=False)
    job.save()
    return job


def import_job_map(*, job: ImportJob, mapping: Mapping[str, str]) -> ImportJob:
    """Save the user's column choices; only before the job is queued."""
    if job.status != ImportJob.Status.UPLOADED:
        raise ImportFileError(_("This import has already been started."))
    fields = {field.name: mapping.get(field.name) or "" for field in import_fields(job.kind)}
    job.column_mapping = stored_mapping(fields, read_options_of(job.column_mapping))
    job.save(update_fields=["column_mapping"])
    return job


def job_field_columns(job: ImportJob) -> dict[str, str]:
    """The job's mapping: field name → column of the file ("" if not in the file)."""
    return field_columns_of(job.column_mapping)


def import_job_read_options(*, job: ImportJob, options: ReadOptions) -> ImportJob:
    """Read the upload again as the user chose; only before the job is queued.

    ImportFileError if the file cannot be read that way (nothing is saved then). When the
    columns change (another delimiter), they are mapped automatically again.
    """
    if job.status != ImportJob.Status.UPLOADED:
        raise ImportFileError(_("This import has already been started."))
    previous = read_job_sheet(job)
    with job.file.open("rb") as handle:
        content = handle.read(IMPORT_MAX_UPLOAD_BYTES + 1)
    sheet = read_sheet(content, file_format_of(job.file.name or "") or "csv", options)
    fields = job_field_columns(job)
    if sheet.columns != previous.columns:
        fields = auto_mapping(job.kind, sheet.columns)
    job.column_mapping = stored_mapping(fields, options)
    job.total_rows = sheet.row_count
    job.save(update_fields=["column_mapping", "total_rows"])
    return job


@dataclass(frozen=True)
class FileReading:
    """How an upload is read: what the user chose ("" = detect) and what was used."""

    file_format: str
    options: ReadOptions
    encoding: str  # "" for a workbook
    delimiter: str
    formats: ValueFormats

    @property
    def is_csv(self) -> bool:
        return self.file_format == "csv"


@dataclass(frozen=True)
class _ReadRows:
    """A job's file read and mapped: the rows as `buyers.records` takes them."""

    raw_rows: list[dict[str, str]]
    rows: list[dict[str, str]]
    row_numbers: list[int]
    reading: FileReading
    cell_problems: list[tuple[int, str, str]]

    def file_errors(self) -> list[RowError]:
        return format_conflicts(self.reading.formats)


def _read_rows(job: ImportJob, sheet: Sheet) -> _ReadRows:
    mapping = job_field_columns(job)
    options = read_options_of(job.column_mapping)
    file_format = file_format_of(job.file.name or "") or "csv"
    raw_rows = mapped_rows(sheet, mapping)
    row_numbers = sheet_row_numbers(sheet)
    if file_format == "csv":
        formats = value_formats(
            kind=job.kind,
            rows=raw_rows,
            row_numbers=row_numbers,
            mapping=mapping,
            options=options,
            delimiter=sheet.delimiter,
        )
    else:
        # A workbook's number and date cells arrive as "1234.5" and "2025-01-31" (cell_text).
        formats = value_formats(
            kind=job.kind,
            rows=[],
            row_numbers=[],
            mapping=mapping,
            options=ReadOptions(number_format="point", date_order="dmy"),
            delimiter="",
        )
    rows, problems = localised_rows(job.kind, raw_rows, formats)
    reading = FileReading(
        file_format=file_format,
        options=options,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        formats=formats,
    )
    return _ReadRows(raw_rows, rows, row_numbers, reading, problems)


def format_conflicts(formats: ValueFormats) -> list[RowError]:
    """The whole-file errors of a number format or date order that the user must choose."""
    errors: list[RowError] = []
    number, day = formats.number, formats.date
    if number.conflict:
        (first_row, first), (second_row, second) = number.examples
        errors.append(
            RowError(
                None,
                "",
                f"{first} / {second}",
                _(
                    "Amounts are written in two ways: %(first)s (row %(first_row)d) and "
                    "%(second)s (row %(second_row)d). Choose the number format under “How the "
                    "file is read”."
                )
                % {
                    "first": first,
                    "first_row": first_row,
                    "second": second,
                    "second_row": second_row,
                },
            )
        )
    if day.conflict:
        row, value = day.examples[0]
        if not day.ambiguous:
            second_row, second = day.examples[1]
            message = _(
                "Dates are written day first (%(first)s, row %(first_row)d) and month first "
                "(%(second)s, row %(second_row)d). Choose the date format under “How the file "
                "is read”."
            ) % {"first": value, "first_row": row, "second": second, "second_row": second_row}
        else:
            message = _(
                "Dates such as %(value)s (row %(row)d) can be read day first or month first. "
                "Choose the date format under “How the file is read”."
            ) % {"value": value, "row": row}
        errors.append(RowError(None, "", value, message))
    return errors


@dataclass(frozen=True)
class PreviewCell:
    value: str  # as it will be imported
    has_error: bool
    original: str  # the text in the file, when it was read into another form ("1.234,56")


@dataclass(frozen=True)
class PreviewRow:
    number: int
    cells: list[PreviewCell]  # in the order of Preview.fields


@dataclass(frozen=True)
class Preview:
    fields: list[TargetField]  # the mapped fields
    columns: list[str]  # their columns in the file
    rows: list[PreviewRow]
    validation: Validation
    reading: FileReading

    @property
    def headings(self) -> list[tuple[TargetField, str]]:
        return list(zip(self.fields, self.columns, strict=True))

    @property
    def first_errors(self) -> list[RowError]:
        return self.validation.errors[:PREVIEW_ERRORS]


def import_job_reading(*, job: ImportJob, sheet: Sheet) -> FileReading:
    """How the job's file is read, with its current mapping (for the read options form)."""
    return _read_rows(job, sheet).reading


def import_job_preview(*, tenant: Tenant, job: ImportJob) -> Preview:
    """The first rows as they will be imported, and the validation of the whole file."""
    sheet = read_job_sheet(job)
    mapping = job_field_columns(job)
    read = _read_rows(job, sheet)
    validation, _assembly = validate_rows(
        tenant=tenant,
        kind=job.kind,
        rows=read.rows,
        row_numbers=read.row_numbers,
        mapping=mapping,
        cell_problems=read.cell_problems,
        file_errors=read.file_errors(),
    )
    fields = [field for field in import_fields(job.kind) if mapping.get(field.name)]
    flagged = {(error.row, error.column) for error in validation.errors}
    preview_rows = [
        PreviewRow(
            number=number,
            cells=[
                PreviewCell(
                    value=values[field.name],
                    has_error=(number, mapping[field.name]) in flagged,
                    original=raw[field.name] if raw[field.name] != values[field.name] else "",
                )
                for field in fields
            ],
        )
        for number, values, raw in zip(
            read.row_numbers[:PREVIEW_ROWS],
            read.rows[:PREVIEW_ROWS],
            read.raw_rows[:PREVIEW_ROWS],
            strict=True,
        )
    ]
    return Preview(
        fields=fields,
        columns=[mapping[field.name] for field in fields],
        rows=preview_rows,
        validation=validation,
        reading=read.reading,
    )


def import_job_errors(*, tenant: Tenant, job: ImportJob) -> list[RowError]:
    """A finished job's stored errors, or the current validation errors of a mapped upload."""
    if job.status == ImportJob.Status.UPLOADED:
        return import_job_preview(tenant=tenant, job=job).validation.errors
    return [RowError(**error) for error in job.errors]


def error_report_csv(errors: Iterable[RowError]) -> bytes:
    return csv_bytes(
        ("row", "column", "value", "message"),
        [(error.row, error.column, error.value, error.message) for error in errors],
    )


def import_job_queue(*, tenant: Tenant, job: ImportJob) -> bool:
    """Hand a mapped upload to the worker after commit; False if it was queued before."""
    missing = missing_required_fields(job.kind, job_field_columns(job))
    if missing:
        raise ImportFileError(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(str(field.label) for field in missing)}
        )
    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.QUEUED
    )
    if queued:
        job_id, tenant_id = job.pk, tenant.pk
        language = get_language() or settings.LANGUAGE_CODE
        enqueue_on_commit("buyers.import_run", job_id, tenant_id=tenant_id, language=language)
    return bool(queued)


# --- Jobs: the run --------------------------------------------------------------------------------


def _set_progress(tenant: Tenant, job_id: int, processed_rows: int) -> None:
    # Its own short transaction, so the page polling progress.json sees it during the run.
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job_id).update(processed_rows=processed_rows)


def _finish_failed(tenant: Tenant, job_id: int, errors: Sequence[RowError]) -> None:
    with tenant_context(tenant):
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            errors=[error.as_dict() for error in errors[:MAX_STORED_ERRORS]],
            finished_at=timezone.now(),
        )


def _claim(tenant: Tenant, job_id: int) -> ImportJob | None:
    """Compare-and-set queued → running, so a redelivered task never runs a job twice."""
    now = timezone.now()
    with tenant_context(tenant):
        claimed = (
            ImportJob.objects.filter(pk=job_id)
            .filter(
                Q(status=ImportJob.Status.QUEUED)
                | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_RUNNING_AFTER)
            )
            .update(status=ImportJob.Status.RUNNING, started_at=now, processed_rows=0)
        )
        if not claimed:
            return None
        return ImportJob.objects.select_related("created_by").get(pk=job_id)


def import_job_run(*, tenant_id: int, job_id: int) -> None:
    """Validate the whole file, then write it in one transaction, or write nothing.

    Progress and the outcome are written in short transactions of their own, so the caller
    must not hold one open (nobody would see the progress). A job that is not queued (already
    running, succeeded or failed) is left alone, which makes redelivery harmless.
    """
    tenant = Tenant.objects.get(pk=tenant_id, is_active=True)
    job = _claim(tenant, job_id)
    if job is None:
        return
    try:
        read = _read_rows(job, read_job_sheet(job))
        validation, assembly = validate_rows(
            tenant=tenant,
            kind=job.kind,
            rows=read.rows,
            row_numbers=read.row_numbers,
            mapping=job_field_columns(job),
            on_progress=lambda done: _set_progress(tenant, job_id, done),
            cell_problems=read.cell_problems,
            file_errors=read.file_errors(),
        )
        if validation.errors:
            _finish_failed(tenant, job_id, validation.errors)
            return
        with tenant_context(tenant):
            # bulk_upsert takes the raw inputs and cleans them again itself: the checks above
            # are for the report and the progress bar, this is the write's own guarantee.
            result = bulk_upsert(
                tenant=tenant, actor=job.created_by, kind=job.kind, records=assembly.inputs
            )
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.SUCCEEDED,
                total_rows=validation.row_count,
                processed_rows=validation.row_count,
                created_count=result.created,
                updated_count=result.updated,
                finished_at=timezone.now(),
            )
            audit_record(
                tenant=tenant,
                actor=job.created_by,
                action="import.run",
                obj=job,
                after={
                    "kind": job.kind,
                    "created": result.created,
                    "updated": result.updated,
                    "rows": validation.row_count,
                },
            )
    except BulkValidationError as error:
        _finish_failed(tenant, job_id, [assembly.row_error(problem) for problem in error.errors])
    except ImportFileError as error:
        _finish_failed(tenant, job_id, [RowError(None, "", "", error.message)])
    except Exception:
        logger.exception("import job %s of tenant %s stopped", job_id, tenant_id)
        message = _("The import stopped unexpectedly; nothing was imported.")
        _finish_failed(tenant, job_id, [RowError(None, "", "", message)])
        raise


def import_progress(job: ImportJob) -> dict[str, Any]:
    """What the job page polls: the numbers behind the progress bar and the outcome."""
    done = job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)
    percent = job.processed_rows * 100 // job.total_rows if job.total_rows else 0
    if job.status == ImportJob.Status.SUCCEEDED:
        percent = 100
    elif job.status == ImportJob.Status.RUNNING:
        percent = min(percent, 99)  # every row is checked, the write is still to come
    return {
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "processed_rows": job.processed_rows,
        "total_rows": job.total_rows,
        "percent": percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "error_count": len(job.errors),
        "done": done,
    }
