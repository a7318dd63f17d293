"""Celery tasks of the buyer credit file: thin wrappers that load by id and call one service."""

from datetime import date

from celery import shared_task
from django.utils import translation

from creditguard.celery import TenantTask
from creditguard.dates import today
from creditguard.queue import for_each_active_tenant
from creditguard.tenancy.models import Tenant

from . import figures, imports
from .signals import figures_refreshed


@shared_task(base=TenantTask, one_transaction=False, name="buyers.import_run", ignore_result=True)
def import_run(job_id: int, *, tenant: Tenant, language: str = "en") -> None:
    """Run one import job; a redelivered or repeated message does nothing (see the service).

    The progress bar needs the progress rows committed while the import is still running, so
    the service opens a short transaction with the tenant active for each step.
    """
    # Error messages are stored as text, in the language of the user who started the import.
    with translation.override(language):
        imports.import_job_run(tenant_id=tenant.pk, job_id=job_id)


@shared_task(name="buyers.figures_daily", ignore_result=True)
def figures_daily() -> None:
    """Daily (beat): one `figures_daily_run` per active tenant."""
    for_each_active_tenant("buyers.figures_daily_run", today().isoformat())


@shared_task(base=TenantTask, name="buyers.figures_daily_run", ignore_result=True)
def figures_daily_run(as_of: str, *, tenant: Tenant) -> None:
    """Every buyer's figures for the day and the day's portfolio snapshot (idempotent)."""
    figures.figures_daily_run(tenant=tenant, as_of=date.fromisoformat(as_of))
    figures_refreshed.send(sender=figures_daily_run, tenant=tenant)


@shared_task(base=TenantTask, name="buyers.figures_refresh", ignore_result=True)
def figures_refresh(scope: str, as_of: str, *, tenant: Tenant) -> None:
    """A refresh too large for a request (`figures.figures_fresh`): "all" or "dirty"."""
    day = date.fromisoformat(as_of)
    if scope == "all":
        figures.refresh_all(tenant=tenant, as_of=day)
    else:
        figures.refresh_dirty(tenant=tenant, as_of=day)
    figures_refreshed.send(sender=figures_refresh, tenant=tenant)


@shared_task(name="buyers.analyze_tables", ignore_result=True)
def analyze_tables(tables: list[str]) -> None:
    """Refresh the planner statistics of tables a bulk load grew (`figures.analyze_if_grown`)."""
    figures.analyze_tables(tables)


@shared_task(name="buyers.import_drafts_expire_all_tenants", ignore_result=True)
def import_drafts_expire_all_tenants() -> None:
    """Daily (beat): one `import_drafts_expire` per active tenant."""
    for_each_active_tenant("buyers.import_drafts_expire")


@shared_task(base=TenantTask, name="buyers.import_drafts_expire", ignore_result=True)
def import_drafts_expire(*, tenant: Tenant) -> None:
    """Delete the tenant's import drafts past the retention period; repeating it is harmless."""
    imports.import_drafts_expire(tenant=tenant)
