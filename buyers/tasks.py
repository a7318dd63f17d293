"""Celery tasks of the buyer credit file: thin wrappers that load by id and call one service."""

from celery import shared_task
from django.utils import translation

from creditguard.celery import TenantTask
from creditguard.tenancy.models import Tenant

from . import imports


@shared_task(base=TenantTask, one_transaction=False, name="buyers.import_run", ignore_result=True)
def import_run(job_id: int, *, tenant: Tenant, language: str = "en") -> None:
    """Run one import job; a redelivered or repeated message does nothing (see the service).

    The progress bar needs the progress rows committed while the import is still running, so
    the service opens a short transaction with the tenant active for each step.
    """
    # Error messages are stored as text, in the language of the user who started the import.
    with translation.override(language):
        imports.import_job_run(tenant_id=tenant.pk, job_id=job_id)
