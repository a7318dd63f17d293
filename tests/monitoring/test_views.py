"""Monitoring pages: alert feed, rules, country risk, rescoring, webhooks, back-testing and the
buyer's risk on the credit file, with permissions and other tenants."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from creditguard.accounts.models import Membership
from monitoring import webhooks
from monitoring.models import Alert, AlertRule, RescoreRun, WebhookEndpoint
from monitoring.selectors import buyer_risk_context
from tests.conftest import active
from tests.factories import (
    AlertFactory,
    BuyerFactory,
    BuyerScoreFactory,
    CountryRiskFactory,
    LegalEventFactory,
    MembershipFactory,
    RescoreRunFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

# The feed's queries, whatever the number of rows: the request's savepoints (4) and tenant and
# user settings (3), session, user and membership (3), count and page with buyers and people
# (2), open counts by severity and the lead-time KPI (2), the page's notification badge (1),
# whether the user has two-factor sign-in (1), whether the figures are current (1), and the
# names of the buyers' countries and the insurance policies for the scope filters (2).
FEED_QUERY_BUDGET = 19


def page_text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer").user


@pytest.fixture
def credit_manager(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="credit_manager").user


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")


@pytest.fixture
def alert(tenant_a, buyer):
    with active(tenant_a):
        return AlertFactory(
            buyer=buyer,
            rule="overdue",
            severity="high",
            title="12,400.00 EUR more than 61 days overdue",
            evidence={"invoices": 2, "oldest_due_date": "2026-09-15", "min_amount": "1000.00"},
        )


@pytest.fixture
def b_alert(tenant_b):
    with active(tenant_b):
        return AlertFactory(
            buyer=BuyerFactory(tenant=tenant_b, legal_name="Outsider Trading Ltd"),
            title="Tenant B's alert",
        )


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    monkeypatch.setattr(webhooks, "_resolve", lambda host, port: ["93.184.215.14"])


# --- Alert feed --------------------------------------------------------------------------------


def test_the_feed_shows_each_alert_with_severity_evidence_and_lead_time(client, teammate, alert):
    client.force_login(teammate)

    response = client.get(reverse("monitoring:alerts"))

    assert response.status_code == 200
    text = page_text(response)
    assert "High 12,400.00 EUR more than 61 days overdue" in text
    assert "Invoices 2 · Oldest due 15 Sep 2026 · Threshold 1,000.00" in text
    assert "Nordlicht GmbH C-1" in text
    assert "2.0 d" in text  # raised two days after the risk event (the factory's default)


def test_the_feed_is_newest_first_and_pages_by_twenty_five(client, teammate, buyer, tenant_a):
    with active(tenant_a):
        for number in range(27):
            created = AlertFactory(buyer=buyer, title=f"Alert {number:02d}")
            Alert.objects.filter(pk=created.pk).update(
                created_at=timezone.now() - timedelta(hours=30 - number)
            )
    client.force_login(teammate)

    first = client.get(reverse("monitoring:alerts"), {"status": "open"})
    second = client.get(reverse("monitoring:alerts"), {"status": "open", "page": 2})

    titles = [alert.title for alert in first.context["page"].object_list]
    assert titles[:2] == ["Alert 26", "Alert 25"] and len(titles) == 25
    assert [alert.title for alert in second.context["page"].object_list] == [
        "Alert 01",
        "Alert 00",
    ]
    assert "status=open&amp;page=2" in first.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"status": "resolved"}, ["resolved-low"], id="status"),
        pytest.param({"severity": "critical"}, ["insolvency"], id="severity"),
        pytest.param({"rule": "legal_event"}, ["insolvency"], id="rule"),
        pytest.param({"q": "atlant"}, ["insolvency"], id="buyer-name"),
        pytest.param({"q": "c-1"}, ["resolved-low", "open-high"], id="erp-reference"),
        pytest.param({"created_from": "2026-11-20"}, ["insolvency", "resolved-low"], id="from"),
        pytest.param({"created_to": "2026-11-19"}, ["open-high"], id="until"),
        pytest.param({"severity": "apocalyptic"}, ["insolvency", "resolved-low", "open-high"]),
    ],
)
def test_the_feed_filters_by_status_severity_rule_buyer_and_date(
    client, teammate, tenant_a, buyer, query, expected
):
    with active(tenant_a):
        other = BuyerFactory(tenant=tenant_a, erp_reference="A-9", legal_name="Atlantique SAS")
        rows = [
            AlertFactory(buyer=buyer, title="open-high", severity="high"),
            AlertFactory(buyer=buyer, title="resolved-low", severity="low", status="resolved"),
            AlertFactory(buyer=other, title="insolvency", severity="critical", rule="legal_event"),
        ]
        for row, day in zip(rows, (18, 20, 21), strict=True):
            Alert.objects.filter(pk=row.pk).update(
                created_at=timezone.make_aware(datetime(2026, 11, day, 9))
            )
    client.force_login(teammate)

    response = client.get(reverse("monitoring:alerts"), query)

    assert [alert.title for alert in response.context["page"].object_list] == expected


def test_the_feed_heads_with_lead_times_and_open_alerts_by_severity(
    client, teammate, tenant_a, buyer
):
    with active(tenant_a):
        for days, severity, status in [
            (1, "critical", "open"),
            (3, "high", "open"),
            (5, "high", "acknowledged"),
            (10, "low", "resolved"),
        ]:
            AlertFactory(
                buyer=buyer,
                severity=severity,
                status=status,
                risk_event_at=timezone.now() - timedelta(days=days),
            )
    client.force_login(teammate)

    response = client.get(reverse("monitoring:alerts"))

    assert response.context["open_counts"] == [
        ("critical", "Critical", 1),
        ("high", "High", 1),
        ("medium", "Medium", 0),
        ("low", "Low", 0),
    ]
    lead_times = response.context["lead_times"]
    assert (lead_times["count"], lead_times["median_days"]) == (4, Decimal("4.0"))
    assert "Median · 90th percentile 8.5 · 4 alerts" in page_text(response)


def test_the_feed_runs_the_same_few_queries_for_any_number_of_alerts(
    client, teammate, tenant_a, buyer
):
    client.force_login(teammate)
    url = reverse("monitoring:alerts")
    with active(tenant_a):
        AlertFactory.create_batch(2, buyer=buyer)
    client.get(url)  # warm up: session, content types
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with active(tenant_a):
        for _ in range(20):
            AlertFactory(
                buyer=BuyerFactory(tenant=tenant_a), acknowledged_by=teammate, status="resolved"
            )
    client.get(url)  # the figures catch up with the twenty new buyers (not the feed's cost)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert len(response.context["page"].object_list) == 22
    assert len(many) == len(few) <= FEED_QUERY_BUDGET


def test_the_feed_never_shows_another_tenants_alerts(client, outsider, alert, b_alert):
    client.force_login(outsider)

    response = client.get(reverse("monitoring:alerts"))

    assert [row.title for row in response.context["page"].object_list] == ["Tenant B's alert"]
    assert "Nordlicht" not in response.content.decode()


def test_the_feed_needs_a_signed_in_member(client, alert):
    response = client.get(reverse("monitoring:alerts"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_analyst_acknowledges_an_alert_with_one_click(client, teammate, alert):
    client.force_login(teammate)

    response = client.post(
        reverse("monitoring:alert-acknowledge", args=[alert.pk]),
        {"next": "/monitoring/?status=open"},
    )

    assert response.status_code == 302 and response["Location"] == "/monitoring/?status=open"
    with active(alert.tenant):
        alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == teammate


def test_acknowledging_a_resolved_alert_explains_why_not(client, teammate, tenant_a, buyer):
    with active(tenant_a):
        resolved = AlertFactory(buyer=buyer, status="resolved")
    client.force_login(teammate)

    response = client.post(reverse("monitoring:alert-acknowledge", args=[resolved.pk]), follow=True)

    assert "A resolved alert cannot be acknowledged." in page_text(response)


def test_an_analyst_resolves_an_alert_with_a_note(client, teammate, alert):
    client.force_login(teammate)
    url = reverse("monitoring:alert-resolve", args=[alert.pk])

    form = client.get(url, {"next": "/monitoring/"})
    response = client.post(
        f"{url}?next=/monitoring/", {"note": "Paid after a call.", "next": "/monitoring/"}
    )

    assert form.status_code == 200 and "Resolution note" in page_text(form)
    assert response.status_code == 302 and response["Location"] == "/monitoring/"
    with active(alert.tenant):
        alert.refresh_from_db()
    assert (alert.status, alert.resolution_note, alert.resolved_by) == (
        "resolved",
        "Paid after a call.",
        teammate,
    )


def test_a_note_longer_than_300_characters_is_refused(client, teammate, alert):
    client.force_login(teammate)

    response = client.post(
        reverse("monitoring:alert-resolve", args=[alert.pk]), {"note": "x" * 301}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["note"]
    with active(alert.tenant):
        alert.refresh_from_db()
    assert alert.status == "open"


def test_the_resolve_page_ignores_a_next_address_on_another_site(client, teammate, alert):
    client.force_login(teammate)

    response = client.get(
        reverse("monitoring:alert-resolve", args=[alert.pk]), {"next": "https://evil.example/"}
    )

    assert response.context["next"] == ""
    assert 'href="https://evil.example/"' not in response.content.decode()


def test_a_viewer_reads_alerts_but_cannot_work_them(client, viewer, alert):
    client.force_login(viewer)

    feed = client.get(reverse("monitoring:alerts"))
    acknowledge = client.post(reverse("monitoring:alert-acknowledge", args=[alert.pk]))
    resolve = client.post(reverse("monitoring:alert-resolve", args=[alert.pk]), {"note": "x"})

    assert feed.status_code == 200
    assert reverse("monitoring:alert-acknowledge", args=[alert.pk]) not in feed.content.decode()
    assert acknowledge.status_code == 403 and resolve.status_code == 403
    with active(alert.tenant):
        alert.refresh_from_db()
    assert alert.status == "open"


def test_another_tenants_alert_cannot_be_acknowledged_or_resolved(client, outsider, alert):
    client.force_login(outsider)

    acknowledge = client.post(reverse("monitoring:alert-acknowledge", args=[alert.pk]))
    resolve_page = client.get(reverse("monitoring:alert-resolve", args=[alert.pk]))
    resolve = client.post(reverse("monitoring:alert-resolve", args=[alert.pk]), {"note": "x"})

    assert (acknowledge.status_code, resolve_page.status_code, resolve.status_code) == (
        404,
        404,
        404,
    )
    with active(alert.tenant):
        alert.refresh_from_db()
    assert alert.status == "open"


def test_acknowledging_needs_a_post(client, teammate, alert):
    client.force_login(teammate)

    assert client.get(reverse("monitoring:alert-acknowledge", args=[alert.pk])).status_code == 405


# --- Rules -------------------------------------------------------------------------------------


def test_the_rules_page_shows_every_rule_with_its_thresholds(client, credit_manager):
    client.force_login(credit_manager)

    response = client.get(reverse("monitoring:rules"))

    assert response.status_code == 200
    text = page_text(response)
    for label in ("Grade downgrade", "Score drop", "Overdue beyond aging threshold"):
        assert label in text
    assert 'value="31, 61, 91"' in response.content.decode()


def test_a_credit_manager_switches_a_rule_off_and_changes_its_thresholds(
    client, credit_manager, tenant_a
):
    client.force_login(credit_manager)

    response = client.post(
        reverse("monitoring:rules"),
        {
            "kind": "overdue",
            "overdue-days": "15, 45,90",
            "overdue-min_amount": "500",
        },
    )

    assert response.status_code == 302 and response["Location"].endswith("#rule-overdue")
    with active(tenant_a):
        rule = AlertRule.objects.get(kind="overdue")
    assert rule.enabled is False
    assert rule.thresholds == {"days": [15, 45, 90], "min_amount": "500.00"}


def test_the_services_objection_shows_on_the_threshold(client, owner, tenant_a):
    client.force_login(owner)

    response = client.post(
        reverse("monitoring:rules"),
        {
            "kind": "score_drop",
            "score_drop-enabled": "on",
            "score_drop-min_points": "20",
            "score_drop-high_points": "10",
        },
    )

    assert response.status_code == 200
    [form] = [form for form in response.context["rule_forms"] if form.setting.kind == "score_drop"]
    assert form.errors["high_points"] == [
        "Must be at least the drop that raises an alert (20 points)."
    ]
    with active(tenant_a):
        assert not AlertRule.objects.exists()


def test_an_analyst_sees_the_rules_but_cannot_change_them(client, teammate, tenant_a):
    client.force_login(teammate)

    page = client.get(reverse("monitoring:rules"))
    change = client.post(reverse("monitoring:rules"), {"kind": "overdue", "overdue-days": "5"})

    assert page.status_code == 200
    assert "Only credit managers and administrators can change the rules." in page_text(page)
    assert all(form.fields["enabled"].disabled for form in page.context["rule_forms"])
    assert change.status_code == 403
    with active(tenant_a):
        assert not AlertRule.objects.exists()


def test_a_rule_change_stays_in_its_tenant(client, outsider, tenant_a, tenant_b):
    client.force_login(outsider)

    client.post(
        reverse("monitoring:rules"),
        {
            "kind": "dispute_spike",
            "dispute_spike-lookback_days": "30",
            "dispute_spike-min_disputes": "9",
            "dispute_spike-share_percent": "20",
        },
    )

    with active(tenant_b):
        assert AlertRule.objects.get(kind="dispute_spike").thresholds["min_disputes"] == 9
    with active(tenant_a):
        assert not AlertRule.objects.exists()


# --- Country risk ------------------------------------------------------------------------------


def test_the_country_table_lists_all_249_countries_with_current_and_previous_rating(client, viewer):
    CountryRiskFactory(country_id="AR", rating=9, effective_date=date(2026, 11, 1), source="Q4b")
    client.force_login(viewer)

    response = client.get(reverse("monitoring:countries"))

    assert response.status_code == 200
    rows = {row.code: row for row in response.context["rows"]}
    assert len(rows) == 249
    argentina = rows["AR"]
    assert (argentina.rating, argentina.previous_rating, argentina.change) == (
        9,
        argentina.previous_rating,
        "downgrade",
    )
    assert argentina.previous_rating < 9 and argentina.effective_date == date(2026, 11, 1)
    assert "▲ worse" in page_text(response)
    assert rows["DE"].change == "" and rows["DE"].previous_rating is None


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        pytest.param({"q": "germ"}, ["DE"], id="english-name"),
        pytest.param({"q": "de"}, None, id="code-or-name"),
        pytest.param({"q": "德国"}, ["DE"], id="chinese-name"),
    ],
)
def test_the_country_table_searches_names_and_codes(client, viewer, query, codes):
    client.force_login(viewer)

    rows = client.get(reverse("monitoring:countries"), query).context["rows"]

    if codes is None:
        assert "DE" in [row.code for row in rows] and len(rows) > 1
    else:
        assert [row.code for row in rows] == codes


def test_the_country_table_filters_by_rating_and_sorts_riskiest_first(client, viewer):
    client.force_login(viewer)

    filtered = client.get(reverse("monitoring:countries"), {"rating": "10"}).context["rows"]
    riskiest = client.get(reverse("monitoring:countries"), {"sort": "-rating"}).context["rows"]

    assert filtered and {row.rating for row in filtered} == {10}
    assert [row.rating for row in riskiest] == sorted(
        (row.rating for row in riskiest), reverse=True
    )
    assert riskiest[0].rating == 10


def test_the_country_table_names_countries_in_chinese(client, viewer):
    client.force_login(viewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    rows = client.get(reverse("monitoring:countries"), {"q": "DE"}).context["rows"]

    assert [row.name for row in rows if row.code == "DE"] == ["德国"]


# --- Rescoring ---------------------------------------------------------------------------------


def test_an_admin_starts_a_rescore_and_the_page_follows_its_progress(
    client, owner, tenant_a, buyer
):
    client.force_login(owner)

    response = client.post(reverse("monitoring:rescore"))
    page = client.get(reverse("monitoring:rescore"))

    assert response.status_code == 302
    with active(tenant_a):
        run = RescoreRun.objects.get()
    assert (run.trigger, run.status, run.requested_by) == ("manual", "queued", owner)
    assert f'data-progress-url="{reverse("monitoring:rescore-progress", args=[run.pk])}"' in (
        page.content.decode()
    )
    assert "js/import_progress.js" in page.content.decode()


def test_an_analyst_sees_the_runs_but_cannot_start_one(client, teammate, tenant_a):
    with active(tenant_a):
        RescoreRunFactory(tenant=tenant_a, status="succeeded", total_buyers=3, scored_buyers=3)
    client.force_login(teammate)

    page = client.get(reverse("monitoring:rescore"))
    start = client.post(reverse("monitoring:rescore"))

    assert page.status_code == 200 and len(page.context["runs"]) == 1
    assert "rescore-start" not in page.content.decode()  # no button
    assert start.status_code == 403
    with active(tenant_a):
        assert RescoreRun.objects.count() == 1


def test_the_progress_json_reports_scored_total_and_percent(client, teammate, tenant_a):
    with active(tenant_a):
        run = RescoreRunFactory(
            tenant=tenant_a, status="running", total_buyers=200, scored_buyers=50
        )
    client.force_login(teammate)

    response = client.get(reverse("monitoring:rescore-progress", args=[run.pk]))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    progress = response.json()
    assert (progress["status"], progress["scored"], progress["total"]) == ("running", 50, 200)
    assert (progress["percent"], progress["done"]) == (25, False)
    # the names static/js/import_progress.js reads
    assert (progress["processed_rows"], progress["total_rows"]) == (50, 200)


def test_the_progress_of_another_tenants_run_is_not_found(client, outsider, tenant_a):
    with active(tenant_a):
        run = RescoreRunFactory(tenant=tenant_a)
    client.force_login(outsider)

    assert client.get(reverse("monitoring:rescore-progress", args=[run.pk])).status_code == 404
    assert client.get(reverse("monitoring:rescore")).context["runs"] == []


# --- Webhooks ----------------------------------------------------------------------------------


def test_adding_an_endpoint_shows_its_secret_once(client, owner, tenant_a):
    client.force_login(owner)

    response = client.post(
        reverse("monitoring:webhooks"),
        {
            "url": "https://erp.example.com/hooks",
            "description": "ERP inbox",
            "event_types": ["alert.created"],
        },
    )
    later = client.get(reverse("monitoring:webhooks"))

    assert response.status_code == 200
    with active(tenant_a):
        endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.event_types) == (
        "https://erp.example.com/hooks",
        ["alert.created"],
    )
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in later.content.decode()
    assert "https://erp.example.com/hooks" in later.content.decode()


def test_an_endpoint_must_use_https(client, owner, tenant_a):
    client.force_login(owner)

    response = client.post(reverse("monitoring:webhooks"), {"url": "http://erp.example.com/hooks"})

    assert response.context["form"].errors["url"] == ["Use an https:// URL."]
    with active(tenant_a):
        assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_page_lists_its_deliveries(client, owner, tenant_a):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
        WebhookDeliveryFactory(
            endpoint=endpoint,
            status="failed",
            attempts=8,
            last_status_code=500,
            last_error="HTTP 500 Internal Server Error: boom",
        )
    client.force_login(owner)

    response = client.get(reverse("monitoring:webhook-detail", args=[endpoint.pk]))

    text = page_text(response)
    assert "alert.created" in text and "Failed" in text and "HTTP 500 Internal Server Error" in text


def test_rotating_the_secret_shows_the_new_one_once(client, owner, tenant_a):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
    old_secret = endpoint.secret
    client.force_login(owner)

    response = client.post(reverse("monitoring:webhook-rotate-secret", args=[endpoint.pk]))

    with active(endpoint.tenant):
        endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.previous_secret == old_secret
    assert endpoint.secret in response.content.decode()
    assert "The previous secret also signs deliveries until" in page_text(response)


def test_deactivating_an_endpoint_stops_its_events(client, owner, tenant_a):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
    client.force_login(owner)

    response = client.post(
        reverse("monitoring:webhook-set-active", args=[endpoint.pk]), {"is_active": "false"}
    )

    assert response.status_code == 302
    with active(endpoint.tenant):
        endpoint.refresh_from_db()
    assert endpoint.is_active is False


def test_webhooks_are_for_monitoring_managers_only(client, teammate, tenant_a):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
    client.force_login(teammate)

    assert client.get(reverse("monitoring:webhooks")).status_code == 403
    assert client.get(reverse("monitoring:webhook-detail", args=[endpoint.pk])).status_code == 403
    assert (
        client.post(reverse("monitoring:webhook-rotate-secret", args=[endpoint.pk])).status_code
        == 403
    )


def test_another_tenants_endpoint_is_not_found(client, outsider, tenant_a):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
    secret = endpoint.secret
    client.force_login(outsider)

    listing = client.get(reverse("monitoring:webhooks"))
    detail = client.get(reverse("monitoring:webhook-detail", args=[endpoint.pk]))
    rotate = client.post(reverse("monitoring:webhook-rotate-secret", args=[endpoint.pk]))
    deactivate = client.post(
        reverse("monitoring:webhook-set-active", args=[endpoint.pk]), {"is_active": "false"}
    )

    assert list(listing.context["endpoints"]) == []
    assert (detail.status_code, rotate.status_code, deactivate.status_code) == (404, 404, 404)
    with active(tenant_a):
        endpoint.refresh_from_db()
    assert endpoint.secret == secret and endpoint.is_active


# --- Back-testing ------------------------------------------------------------------------------


def scored_portfolio(tenant, *, defaults: int, performers: int, version: str = "cg-test"):
    """Buyers scored in January 2025: defaulters at grade 9 (insolvency in July 2025),
    performers at grade 3."""
    period = date(2025, 1, 1)
    for number in range(defaults):
        buyer = BuyerFactory(tenant=tenant)
        score = BuyerScoreFactory(
            buyer=buyer, period=period, grade=9, score=Decimal(20 + number), model_version=version
        )
        type(score).objects.filter(pk=score.pk).update(
            computed_at=timezone.make_aware(datetime(2025, 1, 1, 2))
        )
        LegalEventFactory(buyer=buyer, kind="insolvency_proceedings", event_date=date(2025, 7, 1))
    for number in range(performers):
        score = BuyerScoreFactory(
            buyer=BuyerFactory(tenant=tenant),
            period=period,
            grade=3,
            score=Decimal(70 + number),
            model_version=version,
        )
        type(score).objects.filter(pk=score.pk).update(
            computed_at=timezone.make_aware(datetime(2025, 1, 1, 2))
        )


def test_the_back_test_page_shows_auc_gini_and_the_default_rate_by_grade(
    client, teammate, tenant_a
):
    with active(tenant_a):
        scored_portfolio(tenant_a, defaults=5, performers=6)
    client.force_login(teammate)

    response = client.get(reverse("monitoring:backtest"))

    assert response.status_code == 200
    [item] = response.context["reports"]
    report = item["result"]
    assert (report.model_version, report.defaults, report.performing) == ("cg-test", 5, 6)
    assert report.auc == Decimal("1.0000") and report.gini == Decimal("1.0000")
    text = page_text(response)
    assert "Model cg-test" in text and "AUC 1.000" in text
    assert "3 6 0 0.00%" in text and "9 5 5 100.00%" in text


def test_the_back_test_says_when_there_are_not_enough_defaults(client, teammate, tenant_a):
    with active(tenant_a):
        scored_portfolio(tenant_a, defaults=2, performers=6)
    client.force_login(teammate)

    response = client.get(reverse("monitoring:backtest"))

    assert "Not enough defaults to judge." in page_text(response)
    assert response.context["reports"][0]["result"].auc is None


def test_the_back_test_says_when_the_first_outcomes_will_be_known(client, teammate, tenant_a):
    with active(tenant_a):
        BuyerScoreFactory.create_batch(3, buyer__tenant=tenant_a, period=date(2026, 11, 1))
    client.force_login(teammate)

    response = client.get(reverse("monitoring:backtest"))

    assert (
        "All 3 scores of this model are still inside their 12-month window, so no outcome is "
        "known yet. The first back-test is possible in Nov 2027."
    ) in page_text(response)


def test_the_back_test_shows_one_model_version_on_request(client, teammate, tenant_a):
    with active(tenant_a):
        scored_portfolio(tenant_a, defaults=1, performers=1, version="cg-old")
        scored_portfolio(tenant_a, defaults=1, performers=1, version="cg-new")
    client.force_login(teammate)

    both = client.get(reverse("monitoring:backtest")).context["reports"]
    one = client.get(reverse("monitoring:backtest"), {"model_version": "cg-old"}).context["reports"]

    assert sorted(item["result"].model_version for item in both) == ["cg-new", "cg-old"]
    assert [item["result"].model_version for item in one] == ["cg-old"]


def test_the_back_test_uses_only_the_tenants_own_scores(client, outsider, tenant_a):
    with active(tenant_a):
        scored_portfolio(tenant_a, defaults=5, performers=5)
    client.force_login(outsider)

    response = client.get(reverse("monitoring:backtest"))

    assert response.context["reports"] == []
    assert "Nothing to back-test yet" in page_text(response)


# --- The buyer's risk on the credit file -------------------------------------------------------


FACTORS = [
    {
        "factor": "payment_behaviour",
        "label": "Days beyond terms",
        "points": -6.3,
        "weight": 18.0,
        "value": 41.0,
        "message": "Pays on average %(days)s days beyond terms (last 12 months).",
        "params": {"days": 41.0},
    },
    {
        "factor": "country_risk",
        "label": "Country risk",
        "points": 6.22,
        "weight": 16.0,
        "value": 1,
        "message": "Country risk rating %(rating)s of 10 (%(country)s).",
        "params": {"country": "DE", "rating": 1},
    },
    {
        "factor": "legal_events",
        "label": "Legal events",
        "points": 0.0,
        "weight": 30.0,
        "value": 0,
        "message": "No legal events in the last 24 months.",
        "params": {"count": 0},
    },
]


def render_buyer_risk(tenant, user, buyer, *, language="en") -> str:
    request = RequestFactory().get(f"/buyers/{buyer.pk}/")
    request.user = user
    request.tenant = tenant
    request.membership = Membership.objects.get(tenant=tenant, user=user)
    request.memberships = [request.membership]
    request.LANGUAGE_CODE = language
    return render_to_string(
        "monitoring/_buyer_risk.html",
        buyer_risk_context(tenant=tenant, buyer=buyer),
        request=request,
    )


def test_the_credit_file_shows_grade_pd_reasons_history_and_open_alerts(
    tenant_a, teammate, buyer, alert
):
    with active(tenant_a):
        BuyerScoreFactory(buyer=buyer, period=date(2026, 9, 1), grade=4, score=Decimal("62"))
        BuyerScoreFactory(
            buyer=buyer,
            period=date(2026, 10, 1),
            grade=6,
            score=Decimal("48.20"),
            probability_of_default=Decimal("0.01600"),
            factors=FACTORS,
        )
        AlertFactory(buyer=buyer, status="resolved", title="Old resolved alert")
        html = render_buyer_risk(tenant_a, teammate, buyer)

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Score 48.2 / 100" in text and "12-month PD 1.60%" in text
    assert "▲ 2 grades worse" in text
    assert "Weighing on the grade Days beyond terms -6.3" in text
    assert "Pays on average 41.0 days beyond terms (last 12 months)." in text
    assert "Supporting the grade Country risk +6.2" in text
    assert "Neutral: No legal events in the last 24 months." in text
    assert html.count('class="point ') == 2 and "<polyline" in html
    assert "12,400.00 EUR more than 61 days overdue" in text
    assert "Old resolved alert" not in text
    assert "Acknowledge" in text  # the analyst works alerts


def test_an_unscored_buyer_says_so(tenant_a, viewer, buyer):
    with active(tenant_a):
        html = render_buyer_risk(tenant_a, viewer, buyer)

    assert "Not scored yet." in html
    assert "Acknowledge" not in html


def test_the_credit_file_risk_reads_only_the_tenants_rows(tenant_a, tenant_b, outsider, buyer):
    with active(tenant_a):
        BuyerScoreFactory(buyer=buyer, factors=FACTORS)
        AlertFactory(buyer=buyer)
    with active(tenant_b):
        context = buyer_risk_context(tenant=tenant_b, buyer=buyer)["buyer_risk"]

    assert context["score"] is None and context["open_alerts"] == []


# --- Navigation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name", ["alerts", "rules", "countries", "rescore", "backtest", "webhooks"]
)
def test_every_page_renders_in_english_and_chinese(client, owner, url_name):
    client.force_login(owner)

    english = client.get(reverse(f"monitoring:{url_name}"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(reverse(f"monitoring:{url_name}"))

    assert english.status_code == chinese.status_code == 200
    assert '<html lang="zh-hans">' in chinese.content.decode()
    assert 'href="/monitoring/" class="active"' in english.content.decode()
