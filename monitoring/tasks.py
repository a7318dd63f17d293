"""Celery tasks of re-scoring: thin wrappers that load by id and call one service."""

from __future__ import annotations

from datetime import date

from celery import Task, shared_task

from creditguard.celery import TenantTask
from creditguard.dates import today
from creditguard.queue import for_each_active_tenant
from creditguard.tenancy.models import Tenant

from . import backfill, rescoring
from .modellab import training

RUN_BUSY_RETRY_SECONDS = 30
RUN_BUSY_RETRIES = 240  # two hours, the broker's visibility timeout


@shared_task(name="monitoring.rescore_all_tenants", ignore_result=True)
def rescore_all_tenants() -> None:
    """Beat, 02:00 UTC on the 1st: one `monthly_run_start` per active tenant."""
    for_each_active_tenant("monitoring.monthly_run_start", today().isoformat())


@shared_task(base=TenantTask, name="monitoring.monthly_run_start", ignore_result=True)
def monthly_run_start(day: str, *, tenant: Tenant) -> int | None:
    """Create (or resume) the tenant's monthly run for the month of `day` and enqueue it."""
    return rescoring.monthly_run_start(tenant=tenant, period=date.fromisoformat(day))


@shared_task(
    base=TenantTask,
    one_transaction=False,
    bind=True,
    name="monitoring.rescore_run",
    ignore_result=True,
    max_retries=RUN_BUSY_RETRIES,
)
def rescore_run(
    self: Task, run_id: int, *, tenant: Tenant, chunk_size: int = rescoring.CHUNK_SIZE
) -> None:
    """Run or resume one re-scoring run; a repeated or redelivered message is harmless.

    The run commits every chunk (progress visible, a crash keeps what is done): the service
    opens a transaction with the tenant active per chunk (`tenant_context`). While another worker
    holds the run (a duplicate delivery, or the connection of a crashed worker not yet gone),
    try again later: by then the run is finished, or free to resume.
    """
    if not rescoring.rescore_run_execute(tenant_id=tenant.pk, run_id=run_id, chunk_size=chunk_size):
        raise self.retry(countdown=RUN_BUSY_RETRY_SECONDS)


@shared_task(base=TenantTask, name="monitoring.rescore_buyers", ignore_result=True)
def rescore_buyers(buyer_ids: list[int], *, tenant: Tenant, reason: str = "") -> int:
    """Re-score a batch of buyers after new information (see `monitoring.events`)."""
    return rescoring.buyers_rescore(tenant=tenant, buyer_ids=buyer_ids, reason=reason)


@shared_task(name="monitoring.detect_new_overdues", ignore_result=True)
def detect_new_overdues() -> None:
    """Beat, daily: one `rescore_new_overdues` per active tenant."""
    for_each_active_tenant("monitoring.rescore_new_overdues", today().isoformat())


@shared_task(base=TenantTask, name="monitoring.rescore_new_overdues", ignore_result=True)
def rescore_new_overdues(as_of: str, *, tenant: Tenant) -> int:
    """Re-score the tenant's buyers whose invoices crossed an overdue threshold since the day
    before `as_of`."""
    return rescoring.new_overdues_rescore(tenant=tenant, as_of=date.fromisoformat(as_of))


@shared_task(
    base=TenantTask,
    one_transaction=False,
    bind=True,
    name="monitoring.backfill_run",
    ignore_result=True,
    max_retries=RUN_BUSY_RETRIES,
)
def backfill_run(
    self: Task, run_id: int, *, tenant: Tenant, chunk_size: int = rescoring.CHUNK_SIZE
) -> None:
    """Run or resume one back-fill of the score history (`monitoring.backfill`), like
    `rescore_run`: one transaction per chunk, retried later while another worker holds it."""
    if not backfill.backfill_execute(run_id, tenant_id=tenant.pk, chunk_size=chunk_size):
        raise self.retry(countdown=RUN_BUSY_RETRY_SECONDS)


@shared_task(
    base=TenantTask,
    one_transaction=False,
    bind=True,
    name="monitoring.train_model",
    ignore_result=True,
    max_retries=RUN_BUSY_RETRIES,
)
def train_model(self: Task, model_id: int, *, tenant: Tenant) -> None:
    """Train one scorecard of the model lab (`monitoring.modellab.training`): its progress
    commits month by month; retried later while another worker trains the same model."""
    if not training.training_execute(model_id, tenant_id=tenant.pk):
        raise self.retry(countdown=RUN_BUSY_RETRY_SECONDS)
