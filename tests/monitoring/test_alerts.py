"""Alert evaluation per rule on hand-made data, deduplication, auto-resolution, services and
the lead-time KPI."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditguard.audit.models import AuditEvent
from creditguard.reference.models import FxRate
from monitoring.alerts import (
    AUTO_RESOLVED_PREFIX,
    alert_acknowledge,
    alert_resolve,
    alert_title,
    evaluate_alerts,
    is_auto_resolved,
    warning_lead_times,
)
from monitoring.models import Alert, BuyerScore, CountryRisk, WebhookDelivery
from monitoring.rules import rule_update
from tests.conftest import active
from tests.factories import (
    AlertFactory,
    BuyerFactory,
    BuyerScoreFactory,
    CountryRiskFactory,
    DisputeFactory,
    InstalmentFactory,
    InvoiceFactory,
    LegalEventFactory,
    MembershipFactory,
    PaymentPlanFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PERIOD = TODAY.replace(day=1)
PREVIOUS_PERIOD = (PERIOD - timedelta(days=1)).replace(day=1)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def evaluate(tenant, *buyers, as_of=TODAY, period=PERIOD) -> int:
    return evaluate_alerts(
        tenant=tenant, buyer_ids=[buyer.pk for buyer in buyers], period=period, as_of=as_of
    )


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, legal_name="Nordlicht GmbH")


def overdue_invoice(buyer, *, days, amount="5000.00", **extra):
    due = TODAY - timedelta(days=days)
    return InvoiceFactory(
        buyer=buyer,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount=Decimal(amount),
        **extra,
    )


# --- grade_downgrade and score_drop ----------------------------------------------------------


def scores(buyer, *, previous, current):
    """Scores (grade, score) for the previous and the current period."""
    BuyerScoreFactory(buyer=buyer, period=PREVIOUS_PERIOD, grade=previous[0], score=previous[1])
    return BuyerScoreFactory(buyer=buyer, period=PERIOD, grade=current[0], score=current[1])


def test_a_downgrade_by_two_grades_raises_a_medium_alert_dated_at_the_scoring(tenant_a, buyer):
    with active(tenant_a):
        new = scores(buyer, previous=(3, "72"), current=(5, "66"))

        assert evaluate(tenant_a, buyer) == 1
        alert = Alert.objects.get()

    assert (alert.rule, alert.condition_key, alert.severity) == (
        "grade_downgrade",
        f"grade:{PERIOD:%Y-%m}",
        "medium",
    )
    assert alert.title == "Grade downgraded from 3 to 5"
    assert alert.risk_event_at == new.computed_at
    assert alert.evidence["previous_grade"] == 3
    assert alert.evidence["grade"] == 5


def test_entering_the_high_risk_grades_raises_a_high_alert_even_for_one_step(tenant_a, buyer):
    with active(tenant_a):
        scores(buyer, previous=(7, "40"), current=(8, "35"))
        evaluate(tenant_a, buyer)

        assert Alert.objects.get().severity == "high"


def test_a_one_grade_downgrade_or_a_first_score_raises_nothing(tenant_a, buyer):
    with active(tenant_a):
        newcomer = BuyerFactory(tenant=tenant_a)
        BuyerScoreFactory(buyer=newcomer, period=PERIOD, grade=9, score=Decimal("20"))
        scores(buyer, previous=(3, "72"), current=(4, "70"))

        assert evaluate(tenant_a, buyer, newcomer) == 0


def test_a_new_official_model_moving_grades_raises_nothing_until_it_scores_twice(tenant_a, buyer):
    with active(tenant_a):
        BuyerScoreFactory(
            buyer=buyer,
            period=PREVIOUS_PERIOD,
            grade=3,
            score=Decimal("72"),
            model_version="cg-2026.2",
        )
        BuyerScoreFactory(
            buyer=buyer, period=PERIOD, grade=7, score=Decimal("40"), model_version="sc-2026.12-1"
        )

        assert evaluate(tenant_a, buyer) == 0

        # The same model's previous score is what a downgrade is measured against.
        BuyerScoreFactory(
            buyer=buyer,
            period=(PREVIOUS_PERIOD - timedelta(days=1)).replace(day=1),
            grade=4,
            score=Decimal("66"),
            model_version="sc-2026.12-1",
        )
        assert evaluate(tenant_a, buyer) == 2  # 4 → 7 and 66 → 40
        assert {alert.evidence["previous_grade"] for alert in Alert.objects.all()} == {4}


@pytest.mark.parametrize(
    ("previous", "current", "severity"),
    [("72.00", "55.00", "medium"), ("80.00", "45.00", "high"), ("72.00", "60.00", None)],
)
def test_a_score_drop_of_15_points_warns_and_of_30_warns_high(
    tenant_a, buyer, previous, current, severity
):
    with active(tenant_a):
        scores(buyer, previous=(4, previous), current=(4, current))
        evaluate(tenant_a, buyer)

        found = list(Alert.objects.filter(rule="score_drop").values_list("severity", flat=True))

    assert found == ([severity] if severity else [])


def test_the_previous_score_is_the_latest_earlier_one_even_after_a_gap(tenant_a, buyer):
    with active(tenant_a):
        BuyerScoreFactory(buyer=buyer, period=date(2020, 1, 1), grade=1, score=Decimal("95"))
        BuyerScoreFactory(buyer=buyer, period=PREVIOUS_PERIOD - timedelta(days=60), grade=5)
        BuyerScoreFactory(buyer=buyer, period=PERIOD, grade=6, score=Decimal("68"))

        assert evaluate(tenant_a, buyer) == 0  # 5 → 6, not 1 → 6


# --- overdue ---------------------------------------------------------------------------------


def test_an_invoice_40_days_overdue_raises_the_31_day_alert_dated_when_it_crossed(tenant_a, buyer):
    with active(tenant_a):
        invoice = overdue_invoice(buyer, days=40)

        assert evaluate(tenant_a, buyer) == 1
        alert = Alert.objects.get()

    assert (alert.rule, alert.condition_key, alert.severity) == ("overdue", "overdue:31", "low")
    assert alert.risk_event_at == midnight(invoice.due_date + timedelta(days=31))
    assert alert.title == "5,000.00 EUR more than 31 days overdue"
    assert alert.evidence["amount"] == "5000.00"
    assert alert.evidence["invoices"] == 1


def test_only_the_highest_bucket_reached_is_raised(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=95, amount="2000.00")
        overdue_invoice(buyer, days=40, amount="3000.00")
        evaluate(tenant_a, buyer)

        alert = Alert.objects.get()

    assert (alert.condition_key, alert.severity) == ("overdue:91", "high")
    assert alert.evidence["amount"] == "2000.00"


def test_the_risk_event_is_when_the_amount_past_the_bucket_reached_the_minimum(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=50, amount="600.00")
        second = overdue_invoice(buyer, days=35, amount="600.00")
        evaluate(tenant_a, buyer)

        alert = Alert.objects.get()

    # 600 alone is below the 1,000 minimum; the second invoice tipped it over.
    assert alert.risk_event_at == midnight(second.due_date + timedelta(days=31))
    assert alert.evidence["amount"] == "1200.00"


def test_amounts_below_the_minimum_paid_or_not_yet_overdue_raise_nothing(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=40, amount="999.99")
        overdue_invoice(buyer, days=60, paid_amount=Decimal("5000.00"), status="paid")
        overdue_invoice(buyer, days=20)

        assert evaluate(tenant_a, buyer) == 0


def test_foreign_currency_invoices_count_in_base_currency(tenant_a, buyer):
    with active(tenant_a):
        FxRate.objects.create(currency="XTS", rate_date=TODAY, units_per_eur=Decimal("2"))
        overdue_invoice(buyer, days=40, amount="2500.00", currency="XTS")
        overdue_invoice(buyer, days=40, amount="2500.00", currency="XXX")  # no rate: left out
        evaluate(tenant_a, buyer)

        assert Alert.objects.get().evidence["amount"] == "1250.00"


def test_escalation_resolves_the_lower_bucket_automatically(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=40)
        evaluate(tenant_a, buyer)
        evaluate(tenant_a, buyer, as_of=TODAY + timedelta(days=25))

        lower = Alert.objects.get(condition_key="overdue:31")
        higher = Alert.objects.get(condition_key="overdue:61")

    assert lower.status == "resolved" and is_auto_resolved(lower)
    assert lower.resolved_by is None
    assert lower.resolution_note.startswith(AUTO_RESOLVED_PREFIX)
    assert (higher.status, higher.severity) == ("open", "medium")


def test_payment_resolves_the_overdue_alert_and_a_new_overdue_raises_a_new_one(tenant_a, buyer):
    with active(tenant_a):
        invoice = overdue_invoice(buyer, days=40)
        evaluate(tenant_a, buyer)
        invoice.paid_amount, invoice.status = invoice.amount, "paid"
        invoice.save()
        evaluate(tenant_a, buyer)
        first = Alert.objects.get()
        assert first.status == "resolved"

        overdue_invoice(buyer, days=32)
        assert evaluate(tenant_a, buyer) == 1
        statuses = sorted(
            Alert.objects.filter(condition_key="overdue:31").values_list("status", flat=True)
        )

    assert statuses == ["open", "resolved"]


def test_a_condition_resolved_by_a_person_is_not_raised_again_while_it_lasts(
    tenant_a, buyer, owner
):
    with active(tenant_a):
        overdue_invoice(buyer, days=40)
        evaluate(tenant_a, buyer)
        alert_resolve(tenant=tenant_a, actor=owner, alert=Alert.objects.get(), note="Called them")

        assert evaluate(tenant_a, buyer) == 0
        assert Alert.objects.get().status == "resolved"  # not auto-resolved either


# --- country_downgrade -----------------------------------------------------------------------


@pytest.fixture
def kiwi(tenant_a):
    CountryRisk.objects.filter(country_id="NZ").delete()  # reference data a migration may load
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, country_id="NZ")


@pytest.mark.parametrize(("new_rating", "severity"), [(4, "medium"), (9, "high")])
def test_a_country_downgrade_warns_every_buyer_there(tenant_a, kiwi, new_rating, severity):
    effective = TODAY - timedelta(days=20)
    CountryRiskFactory(country_id="NZ", rating=2, effective_date=TODAY - timedelta(days=200))
    CountryRiskFactory(country_id="NZ", rating=new_rating, effective_date=effective)
    with active(tenant_a):
        evaluate(tenant_a, kiwi)

        alert = Alert.objects.get()

    assert (alert.rule, alert.severity) == ("country_downgrade", severity)
    assert alert.condition_key == f"country:NZ:{effective:%Y-%m-%d}"
    assert alert.risk_event_at == midnight(effective)
    assert alert.title == f"Country rating of New Zealand worsened from 2 to {new_rating}"


@pytest.mark.parametrize(
    ("ratings", "days_ago"),
    [((4, 2), 20), ((2, 5), 120), ((2, 5), -5)],
    ids=["upgrade", "outside-lookback", "not-yet-effective"],
)
def test_upgrades_old_and_future_rating_changes_raise_nothing(tenant_a, kiwi, ratings, days_ago):
    CountryRiskFactory(country_id="NZ", rating=ratings[0], effective_date=TODAY - timedelta(400))
    CountryRiskFactory(
        country_id="NZ", rating=ratings[1], effective_date=TODAY - timedelta(days=days_ago)
    )
    with active(tenant_a):
        assert evaluate(tenant_a, kiwi) == 0


# --- legal_event -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "severity", "title"),
    [
        ("insolvency_filing", "critical", "Insolvency filing on"),
        ("insolvency_proceedings", "critical", "Insolvency proceedings opened on"),
        ("court_judgment", "high", "Court judgment for payment on"),
        ("payment_default", "high", "Payment default reported on"),
    ],
)
def test_a_recent_legal_event_raises_an_alert_per_event(tenant_a, buyer, kind, severity, title):
    with active(tenant_a):
        event = LegalEventFactory(buyer=buyer, kind=kind, event_date=TODAY - timedelta(days=3))
        evaluate(tenant_a, buyer)

        alert = Alert.objects.get()

    assert (alert.condition_key, alert.severity) == (f"legal:{event.pk}", severity)
    assert alert.title.startswith(title)
    assert alert.risk_event_at == midnight(event.event_date)


def test_legal_events_of_other_kinds_or_long_ago_raise_nothing(tenant_a, buyer):
    with active(tenant_a):
        LegalEventFactory(buyer=buyer, kind="management_change")
        old = LegalEventFactory(buyer=buyer, event_date=TODAY - timedelta(days=400))
        type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(400))

        assert evaluate(tenant_a, buyer) == 0


def test_an_old_insolvency_reported_only_now_still_warns(tenant_a, buyer):
    with active(tenant_a):
        LegalEventFactory(buyer=buyer, event_date=TODAY - timedelta(days=45))

        assert evaluate(tenant_a, buyer) == 1


def test_a_resolved_event_alert_is_never_raised_again(tenant_a, buyer, owner):
    with active(tenant_a):
        LegalEventFactory(buyer=buyer)
        evaluate(tenant_a, buyer)
        alert_resolve(tenant=tenant_a, actor=owner, alert=Alert.objects.get())

        assert evaluate(tenant_a, buyer) == 0
        assert Alert.objects.count() == 1


# --- dispute_spike ---------------------------------------------------------------------------


def test_three_disputes_in_thirty_days_raise_a_dispute_spike(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=0, amount="100000.00")
        for days_ago in (25, 10, 2):
            DisputeFactory(buyer=buyer, opened_date=TODAY - timedelta(days=days_ago))
        evaluate(tenant_a, buyer)

        alert = Alert.objects.get()

    assert (alert.rule, alert.condition_key, alert.severity) == (
        "dispute_spike",
        "disputes",
        "medium",
    )
    assert alert.evidence["disputes"] == 3
    assert alert.risk_event_at == midnight(TODAY - timedelta(days=2))  # the third one


def test_one_dispute_over_a_fifth_of_exposure_is_a_spike_too(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=0, amount="10000.00")
        DisputeFactory(buyer=buyer, amount=Decimal("2500.00"))
        evaluate(tenant_a, buyer)

        assert Alert.objects.get().evidence["share_percent"] == "25.0"


def test_small_or_old_disputes_raise_nothing_and_a_spike_passes(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=0, amount="10000.00")
        for days_ago in (38, 34, 20):
            DisputeFactory(buyer=buyer, opened_date=TODAY - timedelta(days=days_ago))
        assert evaluate(tenant_a, buyer) == 0  # one in the last 30 days, 1 % of exposure

        evaluate(tenant_a, buyer, as_of=TODAY - timedelta(days=10))  # all three in the window
        evaluate(tenant_a, buyer)

        assert Alert.objects.get().status == "resolved"


# --- broken_payment_plan ---------------------------------------------------------------------


def test_a_broken_payment_plan_raises_a_high_alert(tenant_a, buyer):
    with active(tenant_a):
        plan = PaymentPlanFactory(buyer=buyer, status="broken", erp_reference="PP-9")
        InstalmentFactory(plan=plan, due_date=TODAY - timedelta(days=20))
        evaluate(tenant_a, buyer)

        alert = Alert.objects.get()

    assert (alert.condition_key, alert.severity, alert.title) == (
        f"plan:{plan.pk}",
        "high",
        "Payment plan PP-9 is broken",
    )
    assert alert.risk_event_at == midnight(TODAY - timedelta(days=20 - 6))


def test_an_instalment_unpaid_past_its_grace_period_breaks_a_kept_plan(tenant_a, buyer):
    with active(tenant_a):
        plan = PaymentPlanFactory(buyer=buyer, status="kept")
        InstalmentFactory(plan=plan, due_date=TODAY - timedelta(days=4))  # within grace
        assert evaluate(tenant_a, buyer) == 0

        assert evaluate(tenant_a, buyer, as_of=TODAY + timedelta(days=2)) == 1


def test_completing_the_plan_resolves_its_alert(tenant_a, buyer):
    with active(tenant_a):
        plan = PaymentPlanFactory(buyer=buyer, status="broken")
        instalment = InstalmentFactory(plan=plan, due_date=TODAY - timedelta(days=20))
        evaluate(tenant_a, buyer)
        instalment.paid_amount, instalment.paid_date = instalment.amount, TODAY
        instalment.save()
        plan.status = "completed"
        plan.save()
        evaluate(tenant_a, buyer)

        assert is_auto_resolved(Alert.objects.get())


# --- Deduplication, settings, tenancy, query count -------------------------------------------


def test_evaluating_twice_raises_an_open_condition_once(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=40)
        LegalEventFactory(buyer=buyer)
        scores(buyer, previous=(3, "72"), current=(6, "50"))

        first = evaluate(tenant_a, buyer)
        second = evaluate(tenant_a, buyer)

        assert (first, second) == (4, 0)  # overdue, legal, grade, score
        assert Alert.objects.count() == 4


def test_a_disabled_rule_raises_nothing_and_leaves_its_open_alerts(tenant_a, buyer, owner):
    with active(tenant_a):
        overdue_invoice(buyer, days=40)
        evaluate(tenant_a, buyer)
        rule_update(tenant=tenant_a, actor=owner, kind="overdue", enabled=False)
        BuyerScore.objects.all().delete()
        overdue_invoice(buyer, days=70)

        assert evaluate(tenant_a, buyer) == 0
        assert Alert.objects.get().status == "open"


def test_thresholds_come_from_the_tenants_settings(tenant_a, buyer, owner):
    with active(tenant_a):
        rule_update(
            tenant=tenant_a, actor=owner, kind="overdue", thresholds={"days": [10], "min_amount": 0}
        )
        overdue_invoice(buyer, days=12, amount="1.00")
        evaluate(tenant_a, buyer)

        assert Alert.objects.get().condition_key == "overdue:10"


def test_another_tenants_buyers_are_never_evaluated(tenant_a, tenant_b, buyer):
    with active(tenant_b):
        foreign = BuyerFactory(tenant=tenant_b)
        overdue_invoice(foreign, days=100)
    with active(tenant_a):
        assert evaluate(tenant_a, foreign) == 0
    with active(tenant_b):
        assert not Alert.objects.exists()


def test_evaluation_needs_its_tenant_active(tenant_a, tenant_b, buyer):
    with active(tenant_b), pytest.raises(RuntimeError):
        evaluate(tenant_a, buyer)


def _queries_to_evaluate(tenant, count: int) -> int:
    buyers = []
    for _index in range(count):
        buyer = BuyerFactory(tenant=tenant)
        overdue_invoice(buyer, days=40)
        LegalEventFactory(buyer=buyer)
        DisputeFactory(buyer=buyer)
        plan = PaymentPlanFactory(buyer=buyer, status="broken")
        InstalmentFactory(plan=plan, due_date=TODAY - timedelta(days=30))
        scores(buyer, previous=(3, "72"), current=(6, "50"))
        buyers.append(buyer)
    WebhookEndpointFactory(tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        raised = evaluate(tenant, *buyers)
    assert raised == 5 * count
    return len(queries)


def test_evaluation_is_set_based_the_query_count_does_not_grow_with_buyers(tenant_a):
    with active(tenant_a):
        few = _queries_to_evaluate(tenant_a, 2)
        Alert.objects.all().delete()
        WebhookDelivery.objects.all().delete()
        many = _queries_to_evaluate(tenant_a, 25)

    assert few == many
    # 15, plus one query each for the cover-change and deadline sources of policies, and the
    # deadline source's planner settings (set, restore).
    assert many <= 19


# --- Webhook events --------------------------------------------------------------------------


def test_new_alerts_are_queued_for_webhooks_once(tenant_a, buyer):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
        WebhookEndpointFactory(tenant=tenant_a, event_types=["alert.resolved"])
        overdue_invoice(buyer, days=40)
        evaluate(tenant_a, buyer)
        evaluate(tenant_a, buyer)
        alert = Alert.objects.get()

        delivery = WebhookDelivery.objects.get()

    assert delivery.endpoint_id == endpoint.pk
    assert (delivery.event_type, delivery.event_id) == (
        "alert.created",
        f"evt_alert_{alert.pk}_created",
    )
    assert delivery.payload["type"] == "alert.created"
    assert delivery.payload["data"]["id"] == alert.pk
    assert delivery.payload["data"]["buyer"]["erp_reference"] == buyer.erp_reference
    assert "i18n_title" not in delivery.payload["data"]["evidence"]


# --- Acknowledge and resolve -----------------------------------------------------------------


@pytest.fixture
def alert(tenant_a, buyer):
    with active(tenant_a):
        return AlertFactory(buyer=buyer)


def test_acknowledging_records_who_and_when_and_is_audited(tenant_a, owner, alert):
    with active(tenant_a):
        WebhookEndpointFactory(tenant=tenant_a)
        alert_acknowledge(tenant=tenant_a, actor=owner, alert=alert)
        alert_acknowledge(tenant=tenant_a, actor=owner, alert=alert)  # no-op
        alert.refresh_from_db()

        assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1
        assert WebhookDelivery.objects.get().event_type == "alert.acknowledged"
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", owner)
    assert alert.acknowledged_at is not None


def test_resolving_records_the_note_and_a_resolved_alert_cannot_be_acknowledged(
    tenant_a, owner, alert
):
    with active(tenant_a):
        alert_resolve(tenant=tenant_a, actor=owner, alert=alert, note="  Paid in full  ")
        alert.refresh_from_db()

        with pytest.raises(ValidationError) as acknowledge:
            alert_acknowledge(tenant=tenant_a, actor=owner, alert=alert)
        with pytest.raises(ValidationError):
            alert_resolve(tenant=tenant_a, actor=owner, alert=alert)
        event = AuditEvent.objects.get(action="alert.resolve")

    assert (alert.status, alert.resolved_by, alert.resolution_note) == (
        "resolved",
        owner,
        "Paid in full",
    )
    assert not is_auto_resolved(alert)
    assert "status" in acknowledge.value.message_dict
    assert event.after == {"status": "resolved", "note": "Paid in full"}


def test_a_resolution_note_is_limited_to_300_characters(tenant_a, owner, alert):
    with active(tenant_a), pytest.raises(ValidationError) as error:
        alert_resolve(tenant=tenant_a, actor=owner, alert=alert, note="x" * 301)

    assert "note" in error.value.message_dict


def test_titles_are_translated_from_their_template(tenant_a, buyer):
    from django.utils import translation

    with active(tenant_a):
        overdue_invoice(buyer, days=40)
        evaluate(tenant_a, buyer)
        alert = Alert.objects.get()

    with translation.override("en"):
        assert alert_title(alert) == alert.title
    assert alert_title(AlertFactory.build(title="Plain", evidence={})) == "Plain"


# --- Lead-time KPI ---------------------------------------------------------------------------


def test_lead_times_give_count_median_and_90th_percentile_in_days(tenant_a, buyer):
    now = timezone.now()
    with active(tenant_a):
        for days in (1, 3, 10):
            created = AlertFactory(buyer=buyer, risk_event_at=now - timedelta(days=days))
            Alert.objects.filter(pk=created.pk).update(created_at=now)
        old = AlertFactory(buyer=buyer, risk_event_at=now - timedelta(days=90))
        Alert.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=60))

        kpi = warning_lead_times(tenant=tenant_a, since=now - timedelta(days=30))
        empty = warning_lead_times(tenant=tenant_a, since=now + timedelta(days=1))

    assert kpi == {"count": 3, "median_days": Decimal("3.0"), "p90_days": Decimal("8.6")}
    assert empty == {"count": 0, "median_days": None, "p90_days": None}


def test_raised_alerts_measure_the_delay_from_the_risk_event(tenant_a, buyer):
    with active(tenant_a):
        overdue_invoice(buyer, days=32)  # crossed 31 days yesterday
        evaluate(tenant_a, buyer)

        kpi = warning_lead_times(tenant=tenant_a, since=timezone.now() - timedelta(hours=1))

    assert kpi["count"] == 1
    # The 31-day mark was crossed at yesterday's start: 1 to 2 days ago depending on the time
    # of day, and one decimal place rounds 1.96 days and more up to 2.0.
    assert Decimal("1") <= kpi["median_days"] <= Decimal("2")


# --- Daily evaluation task -------------------------------------------------------------------


def test_the_daily_chunk_task_evaluates_with_its_tenant_active(tenant_a, buyer):
    from monitoring.alert_tasks import evaluate_alert_chunk

    with active(tenant_a):
        overdue_invoice(buyer, days=40)

    assert evaluate_alert_chunk([buyer.pk], tenant_id=tenant_a.pk) == 1
    with active(tenant_a):
        assert Alert.objects.get().condition_key == "overdue:31"


# --- E-mail digest ---------------------------------------------------------------------------


def alert_created_on(day: date, **fields) -> Alert:
    alert = AlertFactory(**fields)
    Alert.objects.filter(pk=alert.pk).update(created_at=midnight(day) + timedelta(hours=9))
    return alert


def test_the_daily_digest_goes_to_every_member_who_may_view(
    tenant_a, tenant_b, owner, teammate, outsider, buyer, mailoutbox
):
    from monitoring.notifications import alert_digest_send

    day = TODAY - timedelta(days=1)
    with active(tenant_a):
        MembershipFactory(tenant=tenant_a, role="viewer", user__email="viewer@a.example")
        MembershipFactory(tenant=tenant_a, is_active=False, user__email="gone@a.example")
        alert_created_on(day, buyer=buyer, severity="low", title="Low thing")
        alert_created_on(day, buyer=buyer, severity="critical", title="Insolvency filing")
        alert_created_on(day - timedelta(days=1), buyer=buyer, title="Day before")

        sent = alert_digest_send(tenant=tenant_a, day=day)
        again = alert_digest_send(tenant=tenant_a, day=day)

    assert (sent, again) == (3, 0)
    assert sorted(message.to[0] for message in mailoutbox) == [
        "owner@a.example",
        "teammate@a.example",
        "viewer@a.example",
    ]
    message = mailoutbox[0]
    assert message.subject == f"CreditGuard: 2 new alerts for Tenant A Ltd on {day.isoformat()}"
    text = message.body
    assert text.index("Insolvency filing") < text.index("Low thing")  # most severe first
    assert "Nordlicht GmbH" in text and buyer.erp_reference in text
    assert "Critical: 1" in text and "Day before" not in text
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<td>Critical</td>" in html and "Insolvency filing" in html


def test_no_digest_is_sent_for_a_day_without_alerts(tenant_a, owner, mailoutbox):
    from monitoring.notifications import alert_digest_send

    with active(tenant_a):
        assert alert_digest_send(tenant=tenant_a, day=TODAY - timedelta(days=1)) == 0
    assert mailoutbox == []
