"""Celery app. Tasks that touch tenant data subclass TenantTask: sent with `tenant_id`, run with
the loaded `tenant`."""

import os
import time
from typing import Any

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditguard.settings.local")

app = Celery("creditguard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BEAT_HEARTBEAT_KEY = "creditguard:beat:last-heartbeat"


class TenantTask(Task):
    """Sent with `tenant_id=` (ids over the wire, never instances); the body receives the
    loaded active tenant as `tenant` and runs in one transaction with it set on both walls:

        @shared_task(base=TenantTask, name="policies.limit_reviews_run")
        def limit_reviews_run(as_of: str, *, tenant: Tenant) -> None: ...

        enqueue_on_commit("policies.limit_reviews_run", as_of, tenant_id=tenant.pk)

    Chunked jobs whose progress must be visible while they run (imports, re-scoring) set
    `one_transaction = False`: the body runs outside any transaction and takes one short
    tenant transaction per step, `with tenant_context(tenant):`, so each step commits on its
    own and a crash keeps the steps already done.

    Tasks must be idempotent: with late acknowledgement a task whose worker died is delivered
    again.
    """

    abstract = True
    one_transaction = True
    # Celery would check the arguments sent against the body's signature, which takes
    # `tenant` where the message carries `tenant_id`; `apply_async` checks the wire form.
    typing = False

    def __call__(self, *args: Any, tenant_id: int, **kwargs: Any) -> Any:
        from creditguard.tenancy.context import tenant_context
        from creditguard.tenancy.models import Tenant

        tenant = Tenant.objects.get(pk=tenant_id, is_active=True)
        if not self.one_transaction:
            return super().__call__(*args, tenant=tenant, **kwargs)
        with tenant_context(tenant):
            return super().__call__(*args, tenant=tenant, **kwargs)

    def apply_async(self, args=None, kwargs=None, **options: Any) -> Any:
        kwargs = dict(kwargs or {})
        tenant_id = kwargs.pop("tenant_id", None)
        if not isinstance(tenant_id, int):
            raise TypeError(f"{self.name} is sent with tenant_id=<int>, got {tenant_id!r}")
        # The body's signature, with the tenant the worker will load in place of its id.
        self.__header__(*(args or ()), tenant=None, **kwargs)
        return super().apply_async(args, {**kwargs, "tenant_id": tenant_id}, **options)


@app.task(name="creditguard.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat's proof of life for /healthz: beat schedules it, a worker records the time."""
    from django.conf import settings
    from redis import Redis

    Redis.from_url(settings.REDIS_URL).set(BEAT_HEARTBEAT_KEY, str(time.time()), ex=3600)
