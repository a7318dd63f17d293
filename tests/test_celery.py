"""TenantTask: sent with a tenant id, the body gets the loaded tenant and runs in a transaction
with it active on both walls; creditguard.queue sends tasks by name after commit."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from creditguard.accounts.models import Membership
from creditguard.accounts.tasks import clear_expired_sessions
from creditguard.audit.models import AuditEvent
from creditguard.audit.services import audit_record
from creditguard.celery import TenantTask, app
from creditguard.queue import enqueue_on_commit, for_each_active_tenant
from creditguard.tenancy.context import current_tenant, current_tenant_or_none
from creditguard.tenancy.models import Tenant
from tests.conftest import SentTask, active
from tests.factories import TenantFactory


# Registered in this process only (a worker imports the app's tasks, not the tests'); called
# in-process, which runs TenantTask.__call__ exactly as a worker would.
@app.task(base=TenantTask, bind=True, name="tests.tenant_probe")
def tenant_probe(self, *, tenant: Tenant, fail: bool = False) -> dict:
    assert tenant is current_tenant()
    audit_record(tenant=tenant, actor=None, action="test.task_ran")
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM accounts_membership")
        visible_tenants = [row[0] for row in cursor.fetchall()]
    if fail:
        raise RuntimeError("the task failed after writing")
    return {
        "tenant": tenant.slug,
        "visible_tenants": visible_tenants,
        "members": Membership.objects.count(),
        "in_transaction": connection.in_atomic_block,
    }


@app.task(base=TenantTask, one_transaction=False, name="tests.chunked_probe")
def chunked_probe(*, tenant: Tenant) -> dict:
    return {
        "tenant": tenant.slug,
        "current": current_tenant_or_none(),
        "in_transaction": connection.in_atomic_block,
    }


@pytest.mark.django_db
def test_a_tenant_task_runs_its_body_with_the_tenant_active(tenant_a, owner, teammate, outsider):
    result = tenant_probe(tenant_id=tenant_a.pk)

    assert result == {
        "tenant": "tenant-a",
        "visible_tenants": [tenant_a.pk],
        "members": 2,
        "in_transaction": True,
    }
    assert current_tenant_or_none() is None


@pytest.mark.django_db
def test_a_tenant_task_applied_through_celery_gets_the_same_context(tenant_b, outsider):
    result = tenant_probe.apply(kwargs={"tenant_id": tenant_b.pk}).get()

    assert (result["tenant"], result["visible_tenants"]) == ("tenant-b", [tenant_b.pk])


@pytest.mark.django_db(transaction=True)
def test_a_chunked_tenant_task_gets_its_tenant_outside_any_transaction(tenant_a):
    result = chunked_probe(tenant_id=tenant_a.pk)

    # The body takes one `tenant_context(tenant)` per step itself.
    assert result == {"tenant": "tenant-a", "current": None, "in_transaction": False}


@pytest.mark.django_db
def test_a_failing_tenant_task_leaves_no_partial_write(tenant_a):
    with pytest.raises(RuntimeError):
        tenant_probe(tenant_id=tenant_a.pk, fail=True)

    with active(tenant_a):
        assert not AuditEvent.objects.filter(action="test.task_ran").exists()


@pytest.mark.django_db
def test_a_tenant_task_refuses_a_deactivated_tenant(tenant_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)

    with pytest.raises(Tenant.DoesNotExist):
        tenant_probe(tenant_id=tenant_a.pk)


def test_a_tenant_task_needs_a_tenant_id():
    with pytest.raises(TypeError, match="tenant_id"):
        tenant_probe()


def test_a_tenant_task_is_sent_with_the_tenant_id_and_its_own_arguments(sent_tasks):
    tenant_probe.delay(tenant_id=7, fail=True)

    assert sent_tasks == [SentTask("tests.tenant_probe", (), {"fail": True, "tenant_id": 7})]
    with pytest.raises(TypeError, match="tenant_id=<int>"):
        tenant_probe.delay(tenant=Tenant(pk=7))
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        tenant_probe.delay(tenant_id=7, colour="red")


@pytest.mark.django_db
def test_a_task_is_sent_by_name_only_once_the_transaction_commits(
    sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit("tests.tenant_probe", tenant_id=3, countdown=5)
        assert sent_tasks == []

    assert sent_tasks == [SentTask("tests.tenant_probe", (), {"tenant_id": 3}, 5)]


@pytest.mark.django_db
def test_a_task_is_not_sent_when_the_transaction_rolls_back(
    sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                enqueue_on_commit("tests.tenant_probe", tenant_id=3)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    assert (callbacks, sent_tasks) == ([], [])


@pytest.mark.django_db
def test_a_periodic_job_fans_out_to_every_active_tenant_in_order(sent_tasks, tenant_a, tenant_b):
    TenantFactory(slug="closed-down", is_active=False)

    assert for_each_active_tenant("tests.tenant_probe", "2026-12-01", fail=False) == 2

    assert sent_tasks == [
        SentTask("tests.tenant_probe", ("2026-12-01",), {"fail": False, "tenant_id": tenant.pk})
        for tenant in (tenant_a, tenant_b)
    ]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_session_cleanup_runs_in_a_real_worker(celery_worker):
    now = timezone.now()
    Session.objects.create(session_key="expired", session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="current", session_data="", expire_date=now + timedelta(1))

    clear_expired_sessions.delay().get(timeout=30)

    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]
