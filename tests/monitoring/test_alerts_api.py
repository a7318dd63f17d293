"""REST API for alerts, alert rules and webhook endpoints, incl. other tenants and scopes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditguard.audit.models import AuditEvent
from monitoring import webhooks
from monitoring.models import Alert, AlertRule, WebhookDelivery, WebhookEndpoint
from tests.conftest import active, bearer
from tests.factories import (
    AlertFactory,
    BuyerFactory,
    MembershipFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")


@pytest.fixture
def alert(tenant_a, buyer):
    with active(tenant_a):
        return AlertFactory(buyer=buyer, rule="overdue", severity="high", title="Overdue alert")


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    monkeypatch.setattr(webhooks, "_resolve", lambda host, port: ["93.184.215.14"])


def post(client, url, data=None, **kwargs):
    return client.post(url, data or {}, content_type="application/json", **kwargs)


def patch(client, url, data, **kwargs):
    return client.patch(url, data, content_type="application/json", **kwargs)


# --- Alerts ----------------------------------------------------------------------------------


def test_it_lists_alerts_with_buyer_and_lead_time(api, alert):
    response = api.get("/api/v1/alerts/")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == alert.pk
    assert row["buyer"] == {
        "id": alert.buyer_id,
        "erp_reference": "C-1",
        "legal_name": "Nordlicht GmbH",
    }
    assert (row["severity"], row["status"], row["title"]) == ("high", "open", "Overdue alert")
    assert row["lead_time_days"] == "2.0"
    assert row["resolved_automatically"] is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["open-high"]),
        ("status=resolved", ["resolved-low"]),
        ("severity=low", ["resolved-low"]),
        ("rule=legal_event", ["other-buyer"]),
        ("buyer_erp_reference=C-2", ["other-buyer"]),
    ],
)
def test_alerts_filter_by_status_severity_rule_and_buyer(api, tenant_a, buyer, query, expected):
    with active(tenant_a):
        other = BuyerFactory(tenant=tenant_a, erp_reference="C-2")
        AlertFactory(buyer=buyer, title="open-high", severity="high", status="acknowledged")
        Alert.objects.filter(title="open-high").update(status="open")
        AlertFactory(buyer=buyer, title="resolved-low", severity="low", status="resolved")
        AlertFactory(buyer=other, title="other-buyer", rule="legal_event", status="acknowledged")

    response = api.get(f"/api/v1/alerts/?{query}")

    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == expected


def test_alerts_filter_by_buyer_id_and_creation_time(api, tenant_a, buyer, alert):
    with active(tenant_a):
        old = AlertFactory(buyer=buyer)
        Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    by_buyer = api.get("/api/v1/alerts/", {"buyer": buyer.pk})
    recent = api.get("/api/v1/alerts/", {"created_after": since})

    assert len(by_buyer.json()["results"]) == 2
    assert [row["id"] for row in recent.json()["results"]] == [alert.pk]


def test_an_invalid_filter_value_is_a_problem_document(api):
    response = api.get("/api/v1/alerts/?severity=apocalyptic")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_alert_lists_page_with_a_cursor_and_a_constant_number_of_queries(api, tenant_a, buyer):
    with active(tenant_a):
        for _index in range(3):
            AlertFactory(buyer=buyer)

    first = api.get("/api/v1/alerts/?page_size=2")
    second = api.get(first.json()["next"])
    with active(tenant_a):
        for _index in range(20):
            AlertFactory(buyer=BuyerFactory(tenant=tenant_a))
    with CaptureQueriesContext(connection) as small:
        api.get("/api/v1/alerts/?page_size=3")
    with CaptureQueriesContext(connection) as large:
        api.get("/api/v1/alerts/?page_size=20")

    assert len(first.json()["results"]) == 2
    assert len(second.json()["results"]) == 1
    assert len(small) == len(large)


def test_acknowledge_then_resolve_with_a_note(api, tenant_a, alert):
    acknowledged = post(api, f"/api/v1/alerts/{alert.pk}/acknowledge/")
    resolved = post(api, f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "Paid today"})

    assert acknowledged.status_code == 200, acknowledged.content
    assert acknowledged.json()["status"] == "acknowledged"
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolution_note"]) == (
        "resolved",
        "Paid today",
    )
    with active(tenant_a):
        assert AuditEvent.objects.filter(action__startswith="alert.").count() == 2


def test_acknowledging_a_resolved_alert_is_a_400(api, tenant_a, alert):
    post(api, f"/api/v1/alerts/{alert.pk}/resolve/")

    response = post(api, f"/api/v1/alerts/{alert.pk}/acknowledge/")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "status"


def test_a_resolution_note_over_300_characters_is_refused(api, alert):
    response = post(api, f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "x" * 301})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "note"


def test_a_read_scope_key_may_list_but_not_acknowledge(client, read_key, tenant_a, alert):
    listed = client.get("/api/v1/alerts/", headers=bearer(read_key))
    acknowledged = post(client, f"/api/v1/alerts/{alert.pk}/acknowledge/", headers=bearer(read_key))

    assert listed.status_code == 200
    assert acknowledged.status_code == 403
    with active(tenant_a):
        assert Alert.objects.get().status == "open"


def test_an_analyst_may_acknowledge_and_a_viewer_may_not(client, tenant_a, teammate, alert):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user

    client.force_login(viewer)
    refused = post(client, f"/api/v1/alerts/{alert.pk}/acknowledge/")
    client.force_login(teammate)
    accepted = post(client, f"/api/v1/alerts/{alert.pk}/acknowledge/")

    assert (refused.status_code, accepted.status_code) == (403, 200)
    assert accepted.json()["acknowledged_by"] == "teammate@a.example"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/alerts/{pk}/"),
        ("post", "/api/v1/alerts/{pk}/acknowledge/"),
        ("post", "/api/v1/alerts/{pk}/resolve/"),
    ],
)
def test_another_tenants_alert_is_not_found(client, api_key_b, tenant_a, alert, method, path):
    response = getattr(client, method)(
        path.format(pk=alert.pk), content_type="application/json", headers=bearer(api_key_b[1])
    )
    missing = getattr(client, method)(
        path.format(pk=2_000_000_000), content_type="application/json", headers=bearer(api_key_b[1])
    )

    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    with active(tenant_a):
        assert Alert.objects.get().status == "open"


def test_the_outsider_lists_only_its_own_alerts(client, outsider, alert):
    client.force_login(outsider)

    response = client.get("/api/v1/alerts/")

    assert response.status_code == 200
    assert response.json()["results"] == []


# --- Alert rules -----------------------------------------------------------------------------


def test_it_lists_every_rule_with_thresholds_and_their_schema(api):
    response = api.get("/api/v1/alert-rules/")

    assert response.status_code == 200
    rules = {rule["kind"]: rule for rule in response.json()}
    assert set(rules) == set(AlertRule.Kind.values)
    overdue = rules["overdue"]
    assert overdue["thresholds"] == {"days": [31, 61, 91], "min_amount": "1000.00"}
    assert [field["name"] for field in overdue["threshold_fields"]] == ["days", "min_amount"]
    assert overdue["auto_resolves"] is True
    assert rules["over_limit"]["thresholds"] == {"tolerance_percent": "0.00"}


def test_a_write_key_updates_a_rule(api, tenant_a):
    response = patch(
        api,
        "/api/v1/alert-rules/overdue/",
        {"enabled": False, "thresholds": {"days": [15, 45], "min_amount": "250"}},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["enabled"] is False
    assert body["thresholds"] == {"days": [15, 45], "min_amount": "250.00"}
    assert api.get("/api/v1/alert-rules/overdue/").json()["customised"] is True


def test_invalid_thresholds_are_a_400_naming_the_field(api, tenant_a):
    response = patch(api, "/api/v1/alert-rules/overdue/", {"thresholds": {"days": [0, 5000]}})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "thresholds.days"
    with active(tenant_a):
        assert not AlertRule.objects.exists()


def test_an_unknown_rule_is_not_found(api):
    assert patch(api, "/api/v1/alert-rules/moon_phase/", {"enabled": False}).status_code == 404


def test_changing_rules_needs_manage_monitoring_or_a_write_key(
    client, read_key, owner, teammate, tenant_a
):
    by_key = patch(
        client, "/api/v1/alert-rules/overdue/", {"enabled": False}, headers=bearer(read_key)
    )
    client.force_login(teammate)
    by_analyst = patch(client, "/api/v1/alert-rules/overdue/", {"enabled": False})
    readable = client.get("/api/v1/alert-rules/")
    client.force_login(owner)
    by_admin = patch(client, "/api/v1/alert-rules/overdue/", {"enabled": False})

    assert (by_key.status_code, by_analyst.status_code, readable.status_code) == (403, 403, 200)
    assert by_admin.status_code == 200


def test_rule_settings_stay_within_their_tenant(client, api_key_a, api_key_b):
    patch(
        client, "/api/v1/alert-rules/legal_event/", {"enabled": False}, headers=bearer(api_key_a[1])
    )

    response = client.get("/api/v1/alert-rules/legal_event/", headers=bearer(api_key_b[1]))

    assert response.json()["enabled"] is True


# --- Webhook endpoints -----------------------------------------------------------------------

ENDPOINT = {
    "url": "https://hooks.example.com/creditguard",
    "description": "ERP inbox",
    "event_types": ["alert.created"],
}


def test_creating_an_endpoint_shows_the_secret_once(api):
    created = post(api, "/api/v1/webhook-endpoints/", ENDPOINT)
    listed = api.get("/api/v1/webhook-endpoints/")
    detail = api.get(f"/api/v1/webhook-endpoints/{created.json()['id']}/")

    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["event_types"] == ["alert.created"]
    assert "secret" not in listed.json()["results"][0]
    assert "secret" not in detail.json()


def test_an_unsafe_url_or_event_type_is_a_400(api, monkeypatch):
    monkeypatch.setattr(webhooks, "_resolve", lambda host, port: ["10.0.0.7"])

    private = post(api, "/api/v1/webhook-endpoints/", ENDPOINT)
    unknown = post(api, "/api/v1/webhook-endpoints/", {**ENDPOINT, "event_types": ["nope"]})

    assert private.status_code == unknown.status_code == 400
    assert private.json()["errors"][0]["field"] == "url"
    assert unknown.json()["errors"][0]["field"].startswith("event_types")


def test_update_rotate_and_delete_an_endpoint(api, tenant_a):
    endpoint_id = post(api, "/api/v1/webhook-endpoints/", ENDPOINT).json()["id"]
    url = f"/api/v1/webhook-endpoints/{endpoint_id}/"

    updated = patch(api, url, {"is_active": False, "event_types": []})
    rotated = post(api, f"{url}rotate-secret/")
    deleted = api.delete(url)

    assert updated.status_code == 200
    assert (updated.json()["is_active"], updated.json()["event_types"]) == (False, [])
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["previous_secret_expires_at"] is not None
    assert deleted.status_code == 204
    with active(tenant_a):
        assert not WebhookEndpoint.objects.exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "webhook_endpoint.create",
        "webhook_endpoint.update",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.delete",
    } <= actions


def test_the_delivery_log_shows_attempts_and_errors(api, tenant_a):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
        WebhookDelivery.objects.create(
            tenant=tenant_a,
            endpoint=endpoint,
            event_id="evt_1",
            event_type="alert.created",
            payload={"type": "alert.created"},
            attempts=2,
            last_status_code=503,
            last_error="HTTP 503 Service Unavailable",
        )

    response = api.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/?status=pending")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["event_id"], row["attempts"], row["last_status_code"]) == ("evt_1", 2, 503)
    assert row["last_error"] == "HTTP 503 Service Unavailable"


def test_webhook_endpoints_need_manage_monitoring(client, teammate, owner):
    client.force_login(teammate)
    refused = client.get("/api/v1/webhook-endpoints/")
    client.force_login(owner)
    allowed = client.get("/api/v1/webhook-endpoints/")

    assert (refused.status_code, allowed.status_code) == (403, 200)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "rotate-secret/"),
        ("get", "deliveries/"),
    ],
)
def test_another_tenants_endpoint_is_not_found(client, outsider, tenant_a, method, suffix):
    with active(tenant_a):
        endpoint = WebhookEndpointFactory(tenant=tenant_a)
        secret = endpoint.secret
    client.force_login(outsider)

    response = getattr(client, method)(
        f"/api/v1/webhook-endpoints/{endpoint.pk}/{suffix}",
        {"is_active": False} if method == "patch" else None,
        content_type="application/json",
    )

    assert response.status_code == 404
    with active(tenant_a):
        unchanged = WebhookEndpoint.objects.get()
    assert (unchanged.is_active, unchanged.secret) == (True, secret)
