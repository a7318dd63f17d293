"""Every page and API endpoint, seen from another tenant.

The tables below list every named URL of the project. A new page or endpoint makes
`test_every_url_is_listed_in_a_tenancy_table` fail until it gets a row here, and with that row
its outsider test.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from creditguard.accounts.models import Membership
from creditguard.api.models import ApiKey
from creditguard.audit.models import AuditEvent
from tests.conftest import active, bearer
from tests.factories import ApiKeyFactory, AuditEventFactory

pytestmark = pytest.mark.django_db

# Pages and endpoints that list the active tenant's data: (url name, text of tenant B's data
# that the page shows to tenant B's admin).
TENANT_LIST_PAGES = [
    pytest.param("dashboard", "tenant-b-audit-marker", id="dashboard"),
    pytest.param("members", "outsider@b.example", id="members"),
    pytest.param("api-keys", "Tenant B ERP link", id="api-keys"),
    pytest.param("audit-log", "tenant-b-audit-marker", id="audit-log"),
]
TENANT_API_ENDPOINTS = [
    pytest.param("api:root", "Tenant B Ltd", id="api-root"),
    pytest.param("api:audit-event-list", "tenant-b-audit-marker", id="api-audit-events"),
]
# Pages and endpoints that act on one object of the active tenant: (method, url name, key of
# the object in `tenant_a_objects`). API rows are tried with tenant B's key and B's session.
TENANT_OBJECT_PAGES = [
    pytest.param("get", "member-edit", "membership", id="member-edit-get"),
    pytest.param("post", "member-edit", "membership", id="member-edit-post"),
    pytest.param("post", "api-key-revoke", "api_key", id="api-key-revoke"),
]
# No tenant data: public pages, or covered elsewhere (tenant switching: tests/web).
NOT_TENANT_SCOPED = {
    "healthz",
    "set_language",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "tenant-switch",
    "api:schema",
    "api:docs",
}

TENANT_A_MARKERS = [
    "Tenant A Ltd",
    "owner@a.example",
    "teammate@a.example",
    "Tenant A ERP link",
    "tenant-a-audit-marker",
]

# A valid form for the POST rows, so that only the tenant check can refuse it (default: empty).
POST_DATA = {
    "member-edit": {
        "role": "viewer",
        "approval_authority": "1",
        "approval_currency": "EUR",
        "is_active": "on",
    },
}


@pytest.fixture
def tenant_a_objects(tenant_a, owner, teammate):
    with active(tenant_a):
        api_key = ApiKeyFactory(tenant=tenant_a, name="Tenant A ERP link")
        AuditEventFactory(tenant=tenant_a, object_label="tenant-a-audit-marker")
        membership = Membership.objects.get(user=teammate)
    return {"membership": membership, "api_key": api_key}


@pytest.fixture
def tenant_b_data(tenant_b, outsider, api_key_b):
    with active(tenant_b):
        ApiKeyFactory(tenant=tenant_b, name="Tenant B ERP link")
        AuditEventFactory(tenant=tenant_b, object_label="tenant-b-audit-marker")
    return api_key_b


def url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def page_text_without_its_url_and_csrf_token(response) -> str:
    text = response.content.decode().replace(response.request["PATH_INFO"], "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


def param_values(params: list) -> list[tuple]:
    return [param.values for param in params]


def test_every_url_is_listed_in_a_tenancy_table():
    listed = (
        {name for name, _marker in param_values(TENANT_LIST_PAGES)}
        | {name for name, _marker in param_values(TENANT_API_ENDPOINTS)}
        | {name for _method, name, _key in param_values(TENANT_OBJECT_PAGES)}
        | NOT_TENANT_SCOPED
    )

    names = url_names(get_resolver())

    assert sorted(names - listed) == [], "new URLs: give each a row, and so an outsider test"
    assert sorted(listed - names) == [], "rows for URLs that no longer exist"


@pytest.mark.parametrize(("url_name", "tenant_b_marker"), TENANT_LIST_PAGES)
def test_a_list_page_shows_the_outsider_only_its_own_tenants_data(
    client, outsider, tenant_a_objects, tenant_b_data, url_name, tenant_b_marker
):
    client.force_login(outsider)

    response = client.get(reverse(url_name))

    assert response.status_code == 200
    page = response.content.decode()
    assert tenant_b_marker in page
    assert [marker for marker in TENANT_A_MARKERS if marker in page] == []


@pytest.mark.parametrize(("url_name", "tenant_b_marker"), TENANT_API_ENDPOINTS)
@pytest.mark.parametrize("credential", ["api_key", "session"])
def test_an_api_endpoint_shows_tenant_b_only_its_own_data(
    client, outsider, tenant_a_objects, tenant_b_data, url_name, tenant_b_marker, credential
):
    headers = {}
    if credential == "api_key":
        headers = bearer(tenant_b_data[1])
    else:
        client.force_login(outsider)

    response = client.get(reverse(url_name), headers=headers)

    assert response.status_code == 200
    body = response.content.decode()
    assert tenant_b_marker in body
    assert [marker for marker in TENANT_A_MARKERS if marker in body] == []


def test_filtering_the_api_audit_trail_by_another_tenants_object_finds_nothing(
    client, tenant_a_objects, tenant_b_data
):
    api_key = tenant_a_objects["api_key"]

    response = client.get(
        reverse("api:audit-event-list"),
        {"object_type": "api.apikey", "object_id": api_key.pk},
        headers=bearer(tenant_b_data[1]),
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def with_outsider_credentials(rows: list) -> list:
    return [
        pytest.param(*row.values, credential, id=f"{row.id}-{credential}")
        for row in rows
        for credential in (
            ["session", "api_key"] if row.values[1].startswith("api:") else ["session"]
        )
    ]


def send_as_outsider(client, outsider, api_key_b, credential, method, url_name, pk):
    kwargs = {}
    if credential == "api_key":
        kwargs["headers"] = bearer(api_key_b[1])
    else:
        client.force_login(outsider)
    if method != "get":
        kwargs["data"] = POST_DATA.get(url_name, {})
        if url_name.startswith("api:"):
            kwargs["content_type"] = "application/json"
    return getattr(client, method)(reverse(url_name, args=[pk]), **kwargs)


@pytest.mark.parametrize(
    ("method", "url_name", "object_key", "credential"),
    with_outsider_credentials(TENANT_OBJECT_PAGES),
)
def test_outsider_gets_404_for_tenant_a_objects_and_nothing_changes(
    client,
    tenant_a,
    outsider,
    tenant_a_objects,
    tenant_b_data,
    method,
    url_name,
    object_key,
    credential,
):
    target = tenant_a_objects[object_key]

    response = send_as_outsider(
        client, outsider, tenant_b_data, credential, method, url_name, target.pk
    )

    assert response.status_code == 404
    with active(tenant_a):
        assert Membership.objects.get(pk=tenant_a_objects["membership"].pk).role == "analyst"
        assert ApiKey.objects.get(pk=tenant_a_objects["api_key"].pk).revoked_at is None
        assert not AuditEvent.objects.exclude(object_label="tenant-a-audit-marker").exists()


@pytest.mark.parametrize(
    ("method", "url_name", "object_key", "credential"),
    with_outsider_credentials(TENANT_OBJECT_PAGES),
)
def test_another_tenants_object_looks_exactly_like_a_missing_one(
    client, outsider, tenant_a_objects, tenant_b_data, method, url_name, object_key, credential
):
    def send(pk: int):
        return send_as_outsider(client, outsider, tenant_b_data, credential, method, url_name, pk)

    other_tenants = send(tenant_a_objects[object_key].pk)
    missing = send(2_000_000_000)

    assert other_tenants.status_code == missing.status_code == 404
    assert page_text_without_its_url_and_csrf_token(
        other_tenants
    ) == page_text_without_its_url_and_csrf_token(missing)


@pytest.mark.parametrize(("url_name", "_marker"), TENANT_LIST_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url_name, _marker):
    url = reverse(url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(("url_name", "_marker"), TENANT_API_ENDPOINTS)
def test_an_anonymous_api_call_is_refused_with_401(client, url_name, _marker):
    response = client.get(reverse(url_name))

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
