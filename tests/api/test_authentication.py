"""API keys: `Authorization: Bearer cg_<prefix>_<secret>` selects the tenant; scopes; sessions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from creditguard.api.models import ApiKey
from creditguard.tenancy.models import Tenant
from tests.conftest import active, bearer
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


def test_a_valid_key_gets_the_api_root_naming_its_tenant(client, tenant_a, api_key_a):
    api_key, raw_key = api_key_a

    response = client.get(reverse("api:root"), headers=bearer(raw_key))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["tenant"] == {"slug": "tenant-a", "name": "Tenant A Ltd", "base_currency": "EUR"}
    assert body["authenticated_as"] == f"api-key:{api_key.prefix}"
    assert body["links"]["audit_events"].endswith("/api/v1/audit-events/")


def test_each_key_selects_its_own_tenant(client, api_key_a, api_key_b):
    slugs = [
        client.get(reverse("api:root"), headers=bearer(raw_key)).json()["tenant"]["slug"]
        for _api_key, raw_key in (api_key_a, api_key_b)
    ]

    assert slugs == ["tenant-a", "tenant-b"]


def test_it_rejects_a_call_without_credentials_with_401_problem(client):
    response = client.get(reverse("api:root"))

    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer", id="no-key"),
        pytest.param("Bearer not-a-creditguard-key", id="no-cg-prefix"),
        pytest.param("Bearer cg_", id="empty-prefix"),
        pytest.param("Bearer cg_deadbeef_unknown-secret", id="unknown-prefix"),
    ],
)
def test_it_rejects_a_malformed_or_unknown_key_with_401_problem(client, api_key_a, authorization):
    response = client.get(reverse("api:root"), headers={"Authorization": authorization})

    assert_problem(response, 401)


def test_it_rejects_the_right_prefix_with_a_wrong_secret(client, api_key_a):
    api_key, raw_key = api_key_a
    forged = f"cg_{api_key.prefix}_{'x' * 43}"
    assert forged != raw_key

    response = client.get(reverse("api:root"), headers=bearer(forged))

    assert_problem(response, 401)


def test_it_rejects_a_revoked_key(client, tenant_a, api_key_a):
    api_key, raw_key = api_key_a
    with active(tenant_a):
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())

    response = client.get(reverse("api:root"), headers=bearer(raw_key))

    body = assert_problem(response, 401)
    assert body["detail"] == "Invalid or revoked API key."


def test_it_rejects_the_key_of_a_deactivated_tenant(client, tenant_a, api_key_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)

    response = client.get(reverse("api:root"), headers=bearer(api_key_a[1]))

    assert_problem(response, 401)


def test_a_read_key_is_refused_a_write_method_with_403_before_the_405(client, tenant_a):
    with active(tenant_a):
        _api_key, raw_key = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")

    response = client.post(reverse("api:audit-event-list"), {}, headers=bearer(raw_key))

    assert_problem(response, 403)


def test_a_write_key_passes_the_permission_check_and_meets_405_on_a_read_only_endpoint(
    client, owner, api_key_a
):
    response = client.post(reverse("api:audit-event-list"), {}, headers=bearer(api_key_a[1]))

    body = assert_problem(response, 405)
    assert '"POST"' in body["detail"]


def test_a_read_key_may_read(client, tenant_a):
    with active(tenant_a):
        _api_key, raw_key = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")

    response = client.get(reverse("api:audit-event-list"), headers=bearer(raw_key))

    assert response.status_code == 200


def test_using_a_key_records_when_it_was_last_used(client, tenant_a, api_key_a):
    api_key, raw_key = api_key_a
    assert api_key.last_used_at is None
    before = timezone.now()

    client.get(reverse("api:root"), headers=bearer(raw_key))

    with active(tenant_a):
        api_key.refresh_from_db()
    assert api_key.last_used_at >= before


def test_last_used_is_written_at_most_once_a_minute(client, tenant_a, api_key_a):
    api_key, raw_key = api_key_a
    recently = timezone.now() - timedelta(seconds=20)
    long_ago = timezone.now() - timedelta(minutes=5)
    with active(tenant_a):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=recently)

    client.get(reverse("api:root"), headers=bearer(raw_key))
    with active(tenant_a):
        api_key.refresh_from_db()
        assert api_key.last_used_at == recently
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=long_ago)

    client.get(reverse("api:root"), headers=bearer(raw_key))
    with active(tenant_a):
        api_key.refresh_from_db()
    assert api_key.last_used_at > recently


def test_a_signed_in_member_may_call_the_api_with_the_session(client, owner):
    client.force_login(owner)

    response = client.get(reverse("api:root"))

    assert response.status_code == 200
    assert response.json()["tenant"]["slug"] == "tenant-a"
    assert response.json()["authenticated_as"] == "owner@a.example"


def test_a_member_without_view_audit_is_refused_the_audit_trail_with_403(client, teammate):
    client.force_login(teammate)

    response = client.get(reverse("api:audit-event-list"))

    assert_problem(response, 403)


def test_a_session_write_without_csrf_token_is_refused(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(reverse("api:audit-event-list"), {})

    assert "CSRF" in assert_problem(response, 403)["detail"]
