"""Celery tasks of the buyer credit file: thin wrappers that load by id and call one service."""

from celery import shared_task
from django.utils import translation

from . import imports


@shared_task(name="buyers.import_run", ignore_result=True)
def import_run(job_id: int, *, tenant_id: int, language: str = "en") -> None:
    """Run one import job; a redelivered or repeated message does nothing (see the service).

    Not a TenantTask: that base runs the whole body in one transaction, and the progress bar
    needs the progress rows committed while the import is still running. The service opens a
    short transaction with the tenant active for each step instead (`tenant_context`).
    """
    # Error messages are stored as text, in the language of the user who started the import.
    with translation.override(language):
        imports.import_job_run(tenant_id=tenant_id, job_id=job_id)
