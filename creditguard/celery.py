"""Celery app. Tasks that touch tenant data subclass TenantTask and take `tenant_id`."""

import os
import time

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditguard.settings.local")

app = Celery("creditguard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BEAT_HEARTBEAT_KEY = "creditguard:beat:last-heartbeat"


class TenantTask(Task):
    """Runs the task body for the active tenant `tenant_id`, in one transaction with it set.

    Long jobs whose progress must be visible while they run (imports, re-scoring) set
    `one_transaction = False`: the tenant is still checked here, and the body opens a short
    `tenant_context` per step itself.

    Tasks receive ids, never model instances, and must be idempotent: with late
    acknowledgement a task whose worker died is delivered again.
    """

    abstract = True
    one_transaction = True

    def __call__(self, *args, tenant_id: int, **kwargs):
        from creditguard.tenancy.context import tenant_context
        from creditguard.tenancy.models import Tenant

        tenant = Tenant.objects.get(pk=tenant_id, is_active=True)
        if not self.one_transaction:
            return super().__call__(*args, tenant_id=tenant_id, **kwargs)
        with tenant_context(tenant):
            return super().__call__(*args, tenant_id=tenant_id, **kwargs)


@app.task(name="creditguard.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat's proof of life for /healthz: beat schedules it, a worker records the time."""
    from django.conf import settings
    from redis import Redis

    Redis.from_url(settings.REDIS_URL).set(BEAT_HEARTBEAT_KEY, str(time.time()), ex=3600)
