"""Settings → API keys: a key is shown once, stored as a hash, and stops working when revoked."""

import hashlib
import re

import pytest
from django.urls import reverse

from creditguard.api.models import ApiKey
from tests.conftest import active, bearer

pytestmark = pytest.mark.django_db


def create_key_in_the_ui(client, name: str = "SAP connector", scope: str = "write") -> str:
    response = client.post(reverse("api-keys"), {"name": name, "scope": scope})
    assert response.status_code == 200
    match = re.search(
        r'<code class="secret" id="new-api-key">([^<]+)</code>', response.content.decode()
    )
    assert match, "the new key is shown on the page"
    return match.group(1)


def test_the_new_key_is_shown_once_and_only_its_sha256_is_stored(client, tenant_a, owner):
    client.force_login(owner)

    raw_key = create_key_in_the_ui(client)

    with active(tenant_a):
        api_key = ApiKey.objects.get()
        stored = [str(value) for value in ApiKey.objects.values_list().get(pk=api_key.pk)]
    assert raw_key.startswith(f"cg_{api_key.prefix}_")
    assert api_key.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert not [value for value in stored if raw_key in value]
    assert (api_key.name, api_key.scope, api_key.created_by) == ("SAP connector", "write", owner)
    assert raw_key not in client.get(reverse("api-keys")).content.decode()


def test_a_key_created_in_the_ui_authenticates_for_its_tenant(client, owner):
    client.force_login(owner)
    raw_key = create_key_in_the_ui(client)
    client.logout()

    response = client.get(reverse("api:root"), headers=bearer(raw_key))

    assert response.json()["tenant"]["slug"] == "tenant-a"


def test_a_read_key_created_in_the_ui_cannot_write(client, owner):
    client.force_login(owner)
    raw_key = create_key_in_the_ui(client, scope="read")
    client.logout()

    response = client.post(reverse("api:audit-event-list"), {}, headers=bearer(raw_key))

    assert response.status_code == 403


def test_an_invalid_form_shows_errors_and_creates_no_key(client, tenant_a, owner):
    client.force_login(owner)

    response = client.post(reverse("api-keys"), {"name": "", "scope": "admin"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "scope"}
    assert b'id="new-api-key"' not in response.content
    with active(tenant_a):
        assert not ApiKey.objects.exists()


def test_a_revoked_key_stops_authenticating(client, tenant_a, owner, api_key_a):
    api_key, raw_key = api_key_a
    client.force_login(owner)

    response = client.post(reverse("api-key-revoke", args=[api_key.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("api-keys")
    client.logout()
    assert client.get(reverse("api:root"), headers=bearer(raw_key)).status_code == 401
    with active(tenant_a):
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


def test_revoking_needs_a_post(client, owner, api_key_a):
    client.force_login(owner)

    response = client.get(reverse("api-key-revoke", args=[api_key_a[0].pk]))

    assert response.status_code == 405
