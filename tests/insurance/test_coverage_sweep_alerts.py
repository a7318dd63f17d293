"""Monitoring's insurance rules fed by the sweep: policy deadlines (raised by stage, escalated,
auto-resolved, published as `deadline.approaching`) and cover reductions (once per decision)."""

from datetime import date, timedelta
from decimal import Decimal

from creditguard.dates import today
from monitoring.alerts import deadline_stage
from monitoring.models import Alert, WebhookDelivery
from monitoring.rules import rule_update
from policies.services.coverage import coverage_sweep, insurance_alerts_evaluate
from tests.conftest import active
from tests.factories import BuyerFactory, CoverDecisionFactory, WebhookEndpointFactory
from tests.insurance.test_coverage_sweep import _cover, _invoice, _policy, _sent_notice

D = Decimal
AS_OF = date(2026, 6, 30)  # notify_by = due + 90 with the factory's terms


def _run(tenant, as_of):
    coverage_sweep(tenant=tenant, as_of=as_of)
    return insurance_alerts_evaluate(tenant=tenant, as_of=as_of)


def _open_alerts(rule="policy_deadline"):
    return {
        (a.buyer_id, a.condition_key): a
        for a in Alert.objects.filter(rule=rule).exclude(status="resolved")
    }


def test_deadline_stages_by_days_left():
    assert deadline_stage(deadline=AS_OF + timedelta(days=4), as_of=AS_OF) == (
        "approaching",
        "medium",
    )
    assert deadline_stage(deadline=AS_OF + timedelta(days=3), as_of=AS_OF) == ("imminent", "high")
    assert deadline_stage(deadline=AS_OF, as_of=AS_OF) == ("imminent", "high")
    assert deadline_stage(deadline=AS_OF - timedelta(days=1), as_of=AS_OF) == (
        "passed",
        "critical",
    )


def test_deadline_alerts_are_raised_escalated_and_resolved(tenant_a):
    with active(tenant_a):
        policy = _policy(tenant_a)
        soon = BuyerFactory(tenant=tenant_a, country_id="DE")
        lost = BuyerFactory(tenant=tenant_a, country_id="DE")
        calm = BuyerFactory(tenant=tenant_a, country_id="DE")
        _cover(soon, policy, "10000")
        _invoice(soon, date(2026, 4, 5), "1500")  # notify_by 2026-07-04: 4 days left
        _invoice(soon, date(2026, 4, 7), "500")  # notify_by 2026-07-06
        missed = _invoice(lost, date(2026, 3, 1), "900")  # notify_by 2026-05-30: passed
        _invoice(calm, date(2026, 6, 1), "900")  # notify_by 2026-08-30: far away
        endpoint = WebhookEndpointFactory(tenant=tenant_a, event_types=["deadline.approaching"])

        assert _run(tenant_a, AS_OF) == 2
        alerts = _open_alerts()
        approaching = alerts[(soon.pk, "deadline:notify_by:approaching")]
        assert approaching.severity == "medium"
        assert approaching.evidence["invoices"] == 2
        assert approaching.evidence["deadline"] == "2026-07-04"
        assert approaching.evidence["amount"] == "2000.00"
        assert "by 2026-07-04" in approaching.title
        passed = alerts[(lost.pk, "deadline:notify_by:passed")]
        assert passed.severity == "critical" and "cover lost" in passed.title
        assert set(alerts) == {
            (soon.pk, approaching.condition_key),
            (lost.pk, passed.condition_key),
        }
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
        assert {d.event_type for d in deliveries} == {"deadline.approaching"}
        assert deliveries.count() == 2

        # Repeating the day changes nothing and publishes nothing new.
        assert _run(tenant_a, AS_OF) == 0
        assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2

        # Two days later the first buyer is within 3 days: high, and the medium one resolves.
        # The missed invoice was notified meanwhile: its alert resolves by itself.
        _sent_notice(policy, lost, [missed])
        assert _run(tenant_a, AS_OF + timedelta(days=2)) == 1
        alerts = _open_alerts()
        assert set(alerts) == {(soon.pk, "deadline:notify_by:imminent")}
        assert alerts[(soon.pk, "deadline:notify_by:imminent")].severity == "high"
        approaching.refresh_from_db()
        passed.refresh_from_db()
        assert approaching.status == passed.status == "resolved"
        assert passed.resolved_by_id is None


def test_a_paid_invoice_resolves_its_deadline_alert(tenant_a):
    with active(tenant_a):
        policy = _policy(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE")
        _cover(buyer, policy, "10000")
        invoice = _invoice(buyer, date(2026, 4, 5), "1500")
        _run(tenant_a, AS_OF)
        assert len(_open_alerts()) == 1
        invoice.status, invoice.paid_amount = "paid", invoice.amount
        invoice.save()
        _run(tenant_a, AS_OF + timedelta(days=1))
        assert _open_alerts() == {}


def test_the_days_ahead_threshold_is_the_tenants(tenant_a, owner):
    with active(tenant_a):
        policy = _policy(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE")
        _invoice(buyer, date(2026, 4, 20), "1500")  # notify_by 2026-07-19: 19 days left
        assert _run(tenant_a, AS_OF) == 0
        rule_update(
            tenant=tenant_a, actor=owner, kind="policy_deadline", thresholds={"days_ahead": 20}
        )
        assert _run(tenant_a, AS_OF) == 1
        rule_update(tenant=tenant_a, actor=owner, kind="policy_deadline", enabled=False)
        _run(tenant_a, AS_OF)  # a disabled rule neither raises nor resolves
        assert len(_open_alerts()) == 1
        assert policy


def test_a_cover_reduction_raises_one_high_alert_per_decision(tenant_a):
    as_of = today()
    with active(tenant_a):
        policy = _policy(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE")
        cover = _cover(buyer, policy, "10000")
        reduction = CoverDecisionFactory(
            cover=cover,
            kind="reduction",
            amount=D("4000"),
            decision_date=as_of - timedelta(days=2),
            effective_date=as_of + timedelta(days=28),
        )
        # An increase (not a cut: no alert of its own) before the reduction takes effect.
        CoverDecisionFactory(
            cover=cover, kind="increase", amount=D("12000"), decision_date=as_of - timedelta(30)
        )
        assert _run(tenant_a, as_of) == 1
        [alert] = Alert.objects.filter(rule="cover_reduced")
        assert (alert.buyer_id, alert.condition_key, alert.severity) == (
            buyer.pk,
            f"cover:{reduction.pk}",
            "high",
        )
        assert alert.evidence["old_amount"] == "12000.00"
        assert alert.evidence["new_amount"] == "4000.00"
        assert alert.evidence["effective_date"] == (as_of + timedelta(days=28)).isoformat()
        assert "from 12,000.00 to 4,000.00 EUR" in alert.title

        # An event rule: resolved by a person, the same decision is not raised again.
        alert.status, alert.resolved_at = "resolved", alert.created_at
        alert.save()
        assert _run(tenant_a, as_of) == 0

        withdrawal = CoverDecisionFactory(
            cover=cover,
            kind="withdrawal",
            amount=D("0"),
            decision_date=as_of,
            effective_date=as_of + timedelta(days=30),
        )
        assert _run(tenant_a, as_of) == 1
        latest = Alert.objects.get(condition_key=f"cover:{withdrawal.pk}")
        assert latest.evidence["new_amount"] == "0.00" and "withdrawn" in latest.title


# --- The daily task ----------------------------------------------------------------------------


def test_the_daily_task_fans_out_and_each_run_sweeps_then_alerts(tenant_a, tenant_b, sent_tasks):
    from creditguard.dates import today as business_today
    from creditguard.settings import base
    from policies import tasks
    from policies.models import InvoiceCoverage
    from tests.factories import TenantFactory

    TenantFactory(slug="closed-down", is_active=False)
    tasks.insurance_daily()
    assert [(t.name, t.args, t.kwargs) for t in sent_tasks] == [
        ("policies.insurance_daily_run", (business_today().isoformat(),), {"tenant_id": t.pk})
        for t in (tenant_a, tenant_b)
    ]
    assert (
        base.CELERY_BEAT_SCHEDULE["policies-insurance-daily"]["task"] == "policies.insurance_daily"
    )

    with active(tenant_a):
        policy = _policy(tenant_a)
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE")
        _cover(buyer, policy, "10000")
        _invoice(buyer, date(2026, 4, 5), "1500")
    tasks.insurance_daily_run(AS_OF.isoformat(), tenant_id=tenant_a.pk)
    with active(tenant_a):
        assert InvoiceCoverage.objects.count() == 1
        assert _open_alerts()[(buyer.pk, "deadline:notify_by:approaching")]


def test_the_monitoring_daily_evaluation_leaves_the_insurance_rules_to_the_insurance_job():
    from monitoring.alert_tasks import DAILY_RULES
    from monitoring.alerts import INSURANCE_RULES

    assert not DAILY_RULES & INSURANCE_RULES
    assert "overdue" in DAILY_RULES
