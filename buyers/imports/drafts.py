"""Drafts: uploads that were never imported (still being mapped, or failed with errors).

A draft can be deleted by the user; drafts older than `IMPORT_DRAFT_RETENTION_DAYS` are
deleted by the daily `buyers.import_drafts_expire` job. Both delete the stored file with the
job. An import that was queued, is running or succeeded keeps its record and its file: it
wrote (or is writing) records, and the list of imports is their history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_record
from creditguard.tenancy.models import Tenant

from ..models import ImportJob
from .reading import ImportFileError

DRAFT_STATUSES = (ImportJob.Status.UPLOADED, ImportJob.Status.FAILED)


def is_draft(job: ImportJob) -> bool:
    return job.status in DRAFT_STATUSES


def _delete_files_on_commit(names: list[str]) -> None:
    """Files go once the rows are gone for good: a rollback keeps both."""

    def delete() -> None:
        for name in names:
            if name:
                default_storage.delete(name)

    transaction.on_commit(delete)


@transaction.atomic
def import_job_delete(*, tenant: Tenant, actor: User, job: ImportJob) -> None:
    """Delete a draft and its file; ImportFileError for an import that has started."""
    # Compare-and-set: a job queued meanwhile is not deleted under the worker.
    deleted, _by_model = ImportJob.objects.filter(pk=job.pk, status__in=DRAFT_STATUSES).delete()
    if not deleted:
        raise ImportFileError(_("An import that has been started cannot be deleted."))
    audit_record(
        tenant=tenant,
        actor=actor,
        action="import.delete",
        obj=job,
        before={"kind": job.kind, "file": job.original_filename, "status": job.status},
    )
    _delete_files_on_commit([job.file.name or ""])


def draft_expiry_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.IMPORT_DRAFT_RETENTION_DAYS)


@transaction.atomic
def import_drafts_expire(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Delete the tenant's (the active one's) drafts older than the retention period, with their files.

    A draft's age counts from its upload, a failed import's from its run. Returns how many."""
    cutoff = draft_expiry_cutoff(now or timezone.now())
    expired = ImportJob.objects.filter(tenant=tenant).filter(
        Q(status=ImportJob.Status.UPLOADED, created_at__lt=cutoff)
        | Q(status=ImportJob.Status.FAILED, finished_at__lt=cutoff)
    )
    names = list(expired.values_list("file", flat=True))
    deleted, _by_model = expired.delete()
    _delete_files_on_commit(names)
    return deleted
