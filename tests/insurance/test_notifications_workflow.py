"""Overdue notifications: proposed from the sweep's rows, reviewed, sent, withdrawn; extension
requests; cover lost on a missed deadline. Hand-computed dates: the factory's terms give a
60-day maximum extension and 30 days to notify, so an invoice due 50 days ago ends its
extension in 10 days (within the 14 days' lead) and must be notified in 40."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from creditguard.audit.models import AuditEvent
from policies.insurance import notification_rules as rules
from policies.insurance.coverage import is_cover_lost
from policies.insurance.notification_sheets import notification_or_none, notification_sheet
from policies.models import ExtensionRequest, OverdueNotification
from policies.services import overdue_notifications as services
from tests.conftest import active
from tests.factories import BuyerFactory, PaymentPlanFactory
from tests.insurance.notification_support import (
    AS_OF,
    covered_invoice,
    policy_with_terms,
    usd_rate,
)

pytestmark = pytest.mark.django_db


# --- Pure rules ---------------------------------------------------------------------------------


def test_an_item_sent_after_its_deadline_has_lost_its_cover():
    notify_by = AS_OF - timedelta(days=3)
    assert is_cover_lost(notify_by=notify_by, sent_on=AS_OF, as_of=AS_OF)
    assert not is_cover_lost(notify_by=notify_by, sent_on=notify_by, as_of=AS_OF)
    assert is_cover_lost(notify_by=notify_by, sent_on=None, as_of=AS_OF)
    assert not is_cover_lost(notify_by=AS_OF, sent_on=None, as_of=AS_OF)


def test_an_extension_is_checked_against_the_due_dates_and_the_maximum():
    due = [AS_OF - timedelta(days=50), AS_OF - timedelta(days=40)]
    check = rules.check_extension(
        requested_until=AS_OF + timedelta(days=11), due_dates=due, max_extension_days=60
    )
    assert check.maximum == AS_OF + timedelta(days=10)
    assert check.beyond_maximum and not check.too_early
    early = rules.check_extension(
        requested_until=AS_OF - timedelta(days=40), due_dates=due, max_extension_days=60
    )
    assert early.too_early and early.earliest_allowed == AS_OF - timedelta(days=39)


# --- Proposals ----------------------------------------------------------------------------------


@pytest.fixture
def setup(tenant_a):
    with active(tenant_a):
        policy = policy_with_terms(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a, legal_name="Nordlicht GmbH")
        due_soon = covered_invoice(policy, buyer, due_days_ago=50, amount="1000.00")
        later = covered_invoice(policy, buyer, due_days_ago=10, amount="500.00")
    return {"policy": policy, "buyer": buyer, "due_soon": due_soon, "later": later}


def _propose(tenant, **kwargs):
    return services.overdue_notifications_propose(tenant=tenant, as_of=AS_OF, **kwargs)


def test_it_proposes_one_notification_per_buyer_with_the_invoices_near_their_extension_end(
    tenant_a, setup
):
    with active(tenant_a):
        assert _propose(tenant_a) == 1
        notification = OverdueNotification.objects.get()
        items = list(notification.items.all())
        assert [item.invoice_id for item in items] == [setup["due_soon"].pk]
        assert notification.status == "proposed"
        assert notification.deadline == AS_OF + timedelta(days=40)
        assert notification.overdue_amount == Decimal("1000.00")
        assert notification.currency == "EUR"
        # Idempotent: the same day again changes nothing.
        assert _propose(tenant_a) == 0
        assert OverdueNotification.objects.count() == 1


def test_a_longer_lead_extends_the_open_notification(tenant_a, setup):
    with active(tenant_a):
        _propose(tenant_a)
        assert _propose(tenant_a, lead_days=60) == 1
        notification = OverdueNotification.objects.get()
        assert notification.items.count() == 2
        assert notification.overdue_amount == Decimal("1500.00")
        assert notification.deadline == AS_OF + timedelta(days=40)


def test_a_paid_invoice_drops_out_and_a_fully_paid_proposal_is_withdrawn(tenant_a, setup):
    with active(tenant_a):
        _propose(tenant_a, lead_days=60)
        setup["later"].paid_amount = Decimal("500.00")
        setup["later"].status = "paid"
        setup["later"].save()
        assert _propose(tenant_a, lead_days=60) == 1
        notification = OverdueNotification.objects.get()
        assert notification.items.count() == 1
        assert notification.overdue_amount == Decimal("1000.00")
        setup["due_soon"].paid_amount = Decimal("1000.00")
        setup["due_soon"].status = "paid"
        setup["due_soon"].save()
        _propose(tenant_a, lead_days=60)
        notification.refresh_from_db()
        assert notification.status == "withdrawn"


def test_the_overdue_amount_is_converted_into_the_policy_currency_and_the_rate_stated(
    tenant_a, setup
):
    with active(tenant_a):
        usd_rate(units_per_eur="1.0850")
        covered_invoice(
            setup["policy"], setup["buyer"], due_days_ago=55, amount="1085.00", currency="USD"
        )
        _propose(tenant_a)
        notification = notification_or_none(OverdueNotification.objects.get().pk)
        # 1000 EUR + 1085 USD / 1.085 = 1000 + 1000.00
        assert notification.overdue_amount == Decimal("2000.00")
        sheet = notification_sheet(notification, as_of=AS_OF)
        assert sheet.fx_date == AS_OF
        assert sheet.fx_rates == [("USD", "0.921659")]
        assert dict(sheet.totals) == {"EUR": Decimal("1000.00"), "USD": Decimal("1085.00")}


def test_a_sent_invoice_is_not_proposed_again(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        services.notification_review(tenant=tenant_a, actor=owner, notification=notification)
        services.notification_mark_sent(
            tenant=tenant_a, actor=owner, notification=notification, sent_on=AS_OF
        )
        assert _propose(tenant_a) == 0
        assert OverdueNotification.objects.count() == 1


# --- Workflow -----------------------------------------------------------------------------------


def test_review_then_send_is_audited_and_final(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        with pytest.raises(services.TransitionNotAllowed):
            services.notification_mark_sent(
                tenant=tenant_a, actor=owner, notification=notification, sent_on=AS_OF
            )
        services.notification_review(tenant=tenant_a, actor=owner, notification=notification)
        services.notification_mark_sent(
            tenant=tenant_a,
            actor=owner,
            notification=notification,
            sent_on=AS_OF,
            insurer_reference="TL-2027-0042",
        )
        notification.refresh_from_db()
        assert (notification.status, notification.sent_on) == ("sent", AS_OF)
        assert notification.insurer_reference == "TL-2027-0042"
        for step in (services.notification_review, services.notification_withdraw):
            with pytest.raises(services.TransitionNotAllowed):
                step(tenant=tenant_a, actor=owner, notification=notification)
        actions = set(
            AuditEvent.objects.filter(object_id=str(notification.pk)).values_list(
                "action", flat=True
            )
        )
        assert {
            "overdue_notification.propose",
            "overdue_notification.review",
            "overdue_notification.send",
        } <= actions


def test_it_refuses_a_send_date_in_the_future(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        services.notification_review(tenant=tenant_a, actor=owner, notification=notification)
        with pytest.raises(ValidationError) as error:
            services.notification_mark_sent(
                tenant=tenant_a,
                actor=owner,
                notification=notification,
                sent_on=AS_OF + timedelta(days=1),
            )
        assert "sent_on" in error.value.message_dict


def test_sending_after_the_deadline_shows_the_late_items_as_cover_lost(tenant_a, owner):
    with active(tenant_a):
        policy = policy_with_terms(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a)
        covered_invoice(policy, buyer, due_days_ago=95)  # notify by 5 days ago
        covered_invoice(policy, buyer, due_days_ago=50)  # notify in 40 days
        _propose(tenant_a)
        notification = notification_or_none(OverdueNotification.objects.get().pk)
        unsent = notification_sheet(notification, as_of=AS_OF)
        assert [row.cover_lost for row in unsent.rows] == [True, False]
        services.notification_review(tenant=tenant_a, actor=owner, notification=notification)
        services.notification_mark_sent(
            tenant=tenant_a, actor=owner, notification=notification, sent_on=AS_OF
        )
        sent = notification_sheet(notification_or_none(notification.pk), as_of=AS_OF)
        assert [row.cover_lost for row in sent.rows] == [True, False]
        assert [row.days_overdue for row in sent.rows] == [95, 50]
        assert sent.deadline_missed


def test_withdrawn_invoices_are_not_proposed_again(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        services.notification_withdraw(
            tenant=tenant_a, actor=owner, notification=notification, reason="Paid by cheque"
        )
        assert _propose(tenant_a) == 0
        notification.refresh_from_db()
        assert notification.status == "withdrawn" and "cheque" in notification.notes


def test_a_changed_reviewed_proposal_needs_a_new_review(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        services.notification_review(tenant=tenant_a, actor=owner, notification=notification)
        _propose(tenant_a, lead_days=60)
        notification.refresh_from_db()
        assert notification.status == "proposed" and notification.reviewed_at is None


# --- Extension requests -------------------------------------------------------------------------


def test_extension_requests_are_checked_recorded_and_decided(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        due = setup["due_soon"].due_date
        with pytest.raises(ValidationError) as error:
            services.extension_request_create(
                tenant=tenant_a,
                actor=owner,
                notification=notification,
                kind="extension",
                requested_until=due,
            )
        assert "requested_until" in error.value.message_dict
        beyond = due + timedelta(days=61)
        with pytest.raises(ValidationError):
            services.extension_request_create(
                tenant=tenant_a,
                actor=owner,
                notification=notification,
                kind="extension",
                requested_until=beyond,
            )
        extension = services.extension_request_create(
            tenant=tenant_a,
            actor=owner,
            notification=notification,
            kind="extension",
            requested_until=beyond,
            beyond_maximum=True,
            notes="Buyer's bank transfer delayed by a merger.",
        )
        services.extension_request_decide(
            tenant=tenant_a, actor=owner, extension=extension, decision="granted", decided_on=AS_OF
        )
        extension.refresh_from_db()
        assert (extension.status, extension.decided_on) == ("granted", AS_OF)
        with pytest.raises(services.TransitionNotAllowed):
            services.extension_request_decide(
                tenant=tenant_a,
                actor=owner,
                extension=extension,
                decision="refused",
                decided_on=AS_OF,
            )


def test_a_payment_plan_must_be_the_buyers(tenant_a, owner, setup):
    with active(tenant_a):
        _propose(tenant_a)
        notification = OverdueNotification.objects.get()
        until = setup["due_soon"].due_date + timedelta(days=30)
        other_plan = PaymentPlanFactory(tenant=tenant_a, buyer=BuyerFactory(tenant=tenant_a))
        with pytest.raises(ValidationError) as error:
            services.extension_request_create(
                tenant=tenant_a,
                actor=owner,
                notification=notification,
                kind="payment_plan",
                requested_until=until,
                payment_plan=other_plan,
            )
        assert "payment_plan" in error.value.message_dict
        plan = PaymentPlanFactory(tenant=tenant_a, buyer=setup["buyer"])
        extension = services.extension_request_create(
            tenant=tenant_a,
            actor=owner,
            notification=notification,
            kind="payment_plan",
            requested_until=until,
            payment_plan=plan,
        )
        assert extension.payment_plan_id == plan.pk
        assert ExtensionRequest.objects.count() == 1


def test_no_tenant_sees_another_tenants_notifications(tenant_a, tenant_b, setup):
    with active(tenant_a):
        _propose(tenant_a)
    with active(tenant_b):
        assert not OverdueNotification.objects.exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM policies_overduenotification")
            assert cursor.fetchone()[0] == 0
