"""The daily review run: expiry of limits and covers, review reminders, notification email."""

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from creditguard import queue
from creditguard.audit.models import AuditEvent
from creditguard.tenancy.context import tenant_context
from policies import services, tasks
from policies.models import CreditLimit, InsurerCover, Notification
from tests.conftest import active
from tests.factories import BuyerFactory, CreditLimitFactory, InsurerCoverFactory, TenantFactory
from tests.policies.conftest import member

TODAY = date(2026, 6, 1)


def run(tenant, as_of=TODAY):
    with active(tenant):
        return services.limit_reviews_run(tenant=tenant, as_of=as_of)


def messages(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("message", flat=True)
    )


@pytest.mark.django_db
def test_a_limit_past_its_expiry_date_expires_once_and_its_owner_is_told(tenant_a, buyer, manager):
    with active(tenant_a):
        CreditLimitFactory(
            buyer=buyer, owner=manager, review_date=date(2026, 4, 1), expiry_date=date(2026, 5, 31)
        )

    first = run(tenant_a)
    second = run(tenant_a)

    assert first["expired_limits"] == 1
    assert second == {"expired_limits": 0, "expired_covers": 0, "reminders": 0}
    with active(tenant_a):
        assert CreditLimit.objects.get().status == "expired"
        assert AuditEvent.objects.filter(action="credit_limit.expire").count() == 1
        assert messages(manager) == ["The credit limit of Nordlicht GmbH expired on 2026-05-31."]


@pytest.mark.django_db
def test_a_limit_is_still_valid_on_its_expiry_date(tenant_a, buyer):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, review_date=date(2026, 9, 1), expiry_date=TODAY)

    assert run(tenant_a)["expired_limits"] == 0


@pytest.mark.django_db
def test_a_review_due_within_14_days_is_reminded_once_then_once_more_when_overdue(
    tenant_a, buyer, manager
):
    with active(tenant_a):
        CreditLimitFactory(
            buyer=buyer, owner=manager, review_date=date(2026, 6, 10), expiry_date=date(2026, 12, 1)
        )

    assert run(tenant_a)["reminders"] == 1
    assert run(tenant_a)["reminders"] == 0
    assert run(tenant_a, as_of=date(2026, 6, 9))["reminders"] == 0
    assert run(tenant_a, as_of=date(2026, 6, 11))["reminders"] == 1
    assert run(tenant_a, as_of=date(2026, 6, 20))["reminders"] == 0
    with active(tenant_a):
        assert messages(manager) == [
            "The credit limit of Nordlicht GmbH is due for review on 2026-06-10.",
            "The review of the credit limit of Nordlicht GmbH is overdue (due 2026-06-10).",
        ]


@pytest.mark.django_db
def test_no_reminder_while_the_review_is_more_than_14_days_away(tenant_a, buyer, manager):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, owner=manager, review_date=date(2026, 6, 16))

    assert run(tenant_a)["reminders"] == 0


@pytest.mark.django_db
def test_a_limit_without_an_active_owner_reminds_every_credit_manager(
    tenant_a, buyer, manager, senior, requester
):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, owner=None, review_date=date(2026, 6, 5))

    run(tenant_a)

    with active(tenant_a):
        reminded = set(Notification.objects.values_list("user__email", flat=True))
    assert reminded == {"manager@a.example", "senior@a.example"}


@pytest.mark.django_db
def test_a_new_approval_restarts_the_reminders(tenant_a, buyer, manager):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, owner=manager, review_date=date(2026, 6, 5))
    run(tenant_a)
    with active(tenant_a):
        services.credit_limit_set(
            tenant=tenant_a,
            actor=manager,
            buyer=buyer,
            amount=Decimal("90000"),
            payment_terms_days=30,
            grade=9,
            granted_on=date(2026, 5, 20),  # high risk: review 2026-06-20
        )
        assert CreditLimit.objects.get().reminder_stage == ""

    assert run(tenant_a, as_of=date(2026, 6, 6))["reminders"] == 1


@pytest.mark.django_db
def test_an_insurer_cover_past_its_expiry_date_expires(tenant_a, buyer):
    with active(tenant_a):
        InsurerCoverFactory(buyer=buyer, expiry_date=date(2026, 5, 31))
        InsurerCoverFactory(buyer=buyer, expiry_date=TODAY)

    assert run(tenant_a)["expired_covers"] == 1
    with active(tenant_a):
        assert sorted(InsurerCover.objects.values_list("status", flat=True)) == [
            "expired",
            "granted",
        ]


@pytest.mark.django_db
def test_the_review_run_sees_only_its_own_tenant(tenant_a, tenant_b, buyer):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, expiry_date=date(2026, 1, 1))

    assert run(tenant_b)["expired_limits"] == 0
    with active(tenant_a):
        assert CreditLimit.objects.get().status == "active"


@pytest.mark.django_db
def test_the_daily_task_enqueues_one_run_per_active_tenant(tenant_a, tenant_b, sent_tasks):
    TenantFactory(slug="closed-down", is_active=False)

    tasks.limit_reviews_all_tenants()

    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("policies.limit_reviews_run", (date.today().isoformat(),), {"tenant_id": tenant.pk})
        for tenant in (tenant_a, tenant_b)
    ]


@pytest.mark.django_db
def test_a_notification_is_emailed_once_with_an_absolute_link(tenant_a, manager, settings):
    settings.SITE_URL = "https://cg.example.com"
    with active(tenant_a):
        notification = Notification.objects.create(
            tenant=tenant_a, user=manager, message="Limit request awaits you", link="/limits/queue/"
        )

    tasks.notification_email_send(notification.pk, tenant_id=tenant_a.pk)
    tasks.notification_email_send(notification.pk, tenant_id=tenant_a.pk)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["manager@a.example"]
    assert "Limit request awaits you" in mail.outbox[0].subject
    assert "Open: https://cg.example.com/limits/queue/" in mail.outbox[0].body


@pytest.mark.django_db
def test_notifications_are_emailed_after_the_transaction_commits(
    tenant_a, manager, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        queue,
        "enqueue",
        lambda name, pk, tenant_id, countdown: (
            sent.append((pk, tenant_id)) if name == tasks.notification_email_send.name else None
        ),
    )

    with active(tenant_a), django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = services.notify(tenant=tenant_a, users=[manager, manager], message="Hello")
        assert sent == []

    for callback in callbacks:
        callback()
    assert sent == [(created[0].pk, tenant_a.pk)]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_expires_limits(celery_worker):
    tenant = TenantFactory(slug="worker-limits")
    with tenant_context(tenant):
        manager = member(tenant, "credit_manager", "worker-manager@a.example", "1000")
        CreditLimitFactory(
            buyer=BuyerFactory(tenant=tenant),
            owner=manager,
            expiry_date=date.today() - timedelta(days=1),
        )

    tasks.limit_reviews_run.delay(date.today().isoformat(), tenant_id=tenant.pk)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tenant_context(tenant):
            if CreditLimit.objects.get().status == "expired":
                break
        time.sleep(0.2)
    with tenant_context(tenant):
        assert CreditLimit.objects.get().status == "expired"
        assert Notification.objects.filter(user=manager).count() == 1
