"""Enqueueing background work: by task name, after the current transaction commits.

Services never import a `tasks` module (that would point the layers upward and make import
cycles); they name the task instead, as zulip's `queue_event_on_commit` does:

    enqueue_on_commit("monitoring.rescore_buyers", buyer_ids, tenant_id=tenant.pk)

Nothing is sent if the transaction rolls back; outside a transaction it is sent at once.
Periodic jobs that run per tenant fan out with `for_each_active_tenant`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from creditguard.celery import app


def enqueue(task_name: str, /, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send task `task_name` now (Celery routes and the default queue apply)."""
    app.send_task(task_name, args=args, kwargs=kwargs, countdown=countdown)


def enqueue_on_commit(
    task_name: str, /, *args: Any, countdown: float | None = None, **kwargs: Any
) -> None:
    """Send task `task_name` with these arguments once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(task_name, *args, countdown=countdown, **kwargs))


def for_each_active_tenant(task_name: str, /, *args: Any, **kwargs: Any) -> int:
    """Fan a periodic job out: one `task_name(*args, tenant_id=…, **kwargs)` per active tenant,
    in tenant id order. Returns how many were sent."""
    from creditguard.tenancy.models import Tenant

    tenant_ids = list(
        Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    )
    for tenant_id in tenant_ids:
        enqueue(task_name, *args, tenant_id=tenant_id, **kwargs)
    return len(tenant_ids)
