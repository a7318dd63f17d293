"""The daily alert jobs fan out: one task per active tenant, then one per chunk of buyers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import alert_tasks
from tests.conftest import active
from tests.factories import BuyerFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_down_tenant():
    return TenantFactory(slug="closed-down", is_active=False)


def test_the_daily_evaluation_runs_once_per_active_tenant(
    tenant_a, tenant_b, closed_down_tenant, sent_tasks
):
    alert_tasks.evaluate_alerts_daily()

    assert [(task.name, task.kwargs) for task in sent_tasks] == [
        ("monitoring.evaluate_tenant_alerts", {"tenant_id": tenant.pk})
        for tenant in (tenant_a, tenant_b)
    ]


def test_a_tenants_buyers_are_evaluated_in_chunks_after_commit(
    tenant_a, tenant_b, sent_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(alert_tasks, "EVALUATION_CHUNK", 2)
    with active(tenant_a):
        ids = [BuyerFactory(tenant=tenant_a).pk for _ in range(3)]
    with active(tenant_b):
        BuyerFactory(tenant=tenant_b)

    with django_capture_on_commit_callbacks(execute=True):
        alert_tasks.evaluate_tenant_alerts(tenant_id=tenant_a.pk)
        assert sent_tasks == []

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.evaluate_alert_chunk", (ids[:2],), {"tenant_id": tenant_a.pk}),
        ("monitoring.evaluate_alert_chunk", (ids[2:],), {"tenant_id": tenant_a.pk}),
    ]


def test_the_digests_of_yesterday_go_out_once_per_active_tenant(
    tenant_a, tenant_b, closed_down_tenant, sent_tasks
):
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()

    alert_tasks.send_alert_digests()

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.send_tenant_alert_digest", (yesterday,), {"tenant_id": tenant.pk})
        for tenant in (tenant_a, tenant_b)
    ]
