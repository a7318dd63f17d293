"""Celery tasks for alerts: webhook delivery and its sweeper, the daily alert evaluation and
the daily e-mail digest. Thin: load by id, call one service.

Imported by `MonitoringConfig.ready()`, because Celery's autodiscovery only imports `tasks`.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from buyers.models import Buyer
from creditguard.celery import TenantTask
from creditguard.dates import today
from creditguard.queue import enqueue, enqueue_on_commit, for_each_active_tenant
from creditguard.tenancy.models import Tenant

from . import alerts, notifications, webhooks
from .rules import RULES

EVALUATION_CHUNK = 2000
DAILY_RULES = frozenset(RULES) - alerts.INSURANCE_RULES


@shared_task(base=TenantTask, name="monitoring.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int, *, tenant: Tenant) -> None:
    """One attempt; a failure schedules the next one (idempotent: see `monitoring.webhooks`)."""
    retry_in = webhooks.webhook_delivery_attempt(tenant=tenant, delivery_id=delivery_id)
    if retry_in is not None:
        webhooks.enqueue_delivery(tenant_id=tenant.pk, delivery_id=delivery_id, countdown=retry_in)


@shared_task(name="monitoring.sweep_webhook_deliveries", ignore_result=True)
def sweep_webhook_deliveries() -> None:
    """Beat, every minute: one `sweep_tenant_webhook_deliveries` per active tenant."""
    for_each_active_tenant("monitoring.sweep_tenant_webhook_deliveries")


@shared_task(base=TenantTask, name="monitoring.sweep_tenant_webhook_deliveries", ignore_result=True)
def sweep_tenant_webhook_deliveries(*, tenant: Tenant) -> None:
    """Queue the tenant's deliveries that are due and have no message on the way (long retry
    waits, and messages lost between commit and broker)."""
    for delivery_id in webhooks.due_delivery_ids():
        if webhooks.claim_for_sweep(delivery_id):
            enqueue("monitoring.deliver_webhook", delivery_id, tenant_id=tenant.pk)


@shared_task(name="monitoring.evaluate_alerts_daily", ignore_result=True)
def evaluate_alerts_daily() -> None:
    """Beat, daily: evaluate every tenant's buyers, so overdue invoices, legal events, disputes
    and broken plans warn within a day rather than at the next monthly re-scoring."""
    for_each_active_tenant("monitoring.evaluate_tenant_alerts")


@shared_task(base=TenantTask, name="monitoring.evaluate_tenant_alerts", ignore_result=True)
def evaluate_tenant_alerts(*, tenant: Tenant) -> None:
    """Fan one tenant's buyers out in chunks (one transaction each)."""
    buyer_ids = list(Buyer.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(buyer_ids), EVALUATION_CHUNK):
        enqueue_on_commit(
            "monitoring.evaluate_alert_chunk",
            buyer_ids[start : start + EVALUATION_CHUNK],
            tenant_id=tenant.pk,
        )


@shared_task(base=TenantTask, name="monitoring.evaluate_alert_chunk", ignore_result=True)
def evaluate_alert_chunk(buyer_ids: list[int], *, tenant: Tenant) -> int:
    """Every rule but the insurance ones, which the insurance daily job evaluates right after
    its coverage sweep (`policies.insurance_daily_run`), from the figures it has just written."""
    as_of = today()
    return alerts.evaluate_alerts(
        tenant=tenant,
        buyer_ids=buyer_ids,
        period=as_of.replace(day=1),
        as_of=as_of,
        kinds=DAILY_RULES,
    )


@shared_task(name="monitoring.send_alert_digests", ignore_result=True)
def send_alert_digests() -> None:
    """Beat, daily: yesterday's (UTC) new alerts to each tenant's members."""
    day = (timezone.now() - timedelta(days=1)).date()
    for_each_active_tenant("monitoring.send_tenant_alert_digest", day.isoformat())


@shared_task(base=TenantTask, name="monitoring.send_tenant_alert_digest", ignore_result=True)
def send_tenant_alert_digest(day: str, *, tenant: Tenant) -> int:
    return notifications.alert_digest_send(tenant=tenant, day=date.fromisoformat(day))
