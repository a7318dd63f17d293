"""Settings pages by role: admins manage, credit managers read the audit trail, others see 403."""

import pytest
from django.urls import reverse

from creditguard.accounts.models import Membership
from creditguard.api.models import ApiKey
from creditguard.tenancy.models import Tenant
from tests.conftest import active
from tests.factories import ApiKeyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# (method, url name, needs an object): every settings page.
SETTINGS_PAGES = [
    pytest.param("get", "members", None, id="members"),
    pytest.param("get", "member-edit", "membership", id="member-edit"),
    pytest.param("get", "api-keys", None, id="api-keys"),
    pytest.param("post", "api-key-revoke", "api_key", id="api-key-revoke"),
    pytest.param("get", "audit-log", None, id="audit-log"),
]
ALLOWED = {
    "viewer": set(),
    "analyst": set(),
    "credit_manager": {"audit-log"},
    "admin": {"members", "member-edit", "api-keys", "api-key-revoke", "audit-log"},
}


@pytest.fixture
def settings_objects(tenant_a, owner, teammate):
    with active(tenant_a):
        return {
            "membership": Membership.objects.get(user=teammate),
            "api_key": ApiKeyFactory(tenant=tenant_a),
        }


def sign_in_with_role(client, tenant, role: str):
    with active(tenant):
        user = MembershipFactory(tenant=tenant, role=role).user
    client.force_login(user)
    return user


@pytest.mark.parametrize("role", ALLOWED)
@pytest.mark.parametrize(("method", "url_name", "object_key"), SETTINGS_PAGES)
def test_a_settings_page_answers_according_to_the_role(
    client, tenant_a, settings_objects, role, method, url_name, object_key
):
    sign_in_with_role(client, tenant_a, role)
    args = [settings_objects[object_key].pk] if object_key else []

    response = getattr(client, method)(reverse(url_name, args=args))

    if url_name not in ALLOWED[role]:
        assert response.status_code == 403
    elif method == "post":
        assert response.status_code == 302
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("role", ["viewer", "analyst", "credit_manager"])
def test_a_refused_revoke_leaves_the_key_active(client, tenant_a, settings_objects, role):
    sign_in_with_role(client, tenant_a, role)
    api_key = settings_objects["api_key"]

    client.post(reverse("api-key-revoke", args=[api_key.pk]))

    with active(tenant_a):
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at is None


@pytest.mark.parametrize(
    ("role", "visible_links"),
    [
        ("viewer", set()),
        ("analyst", set()),
        ("credit_manager", {"audit-log"}),
        ("admin", {"members", "api-keys", "audit-log"}),
    ],
)
def test_the_navigation_links_only_the_settings_the_role_may_open(
    client, tenant_a, role, visible_links
):
    sign_in_with_role(client, tenant_a, role)

    page = client.get(reverse("dashboard")).content.decode()

    linked = {
        name for name in ("members", "api-keys", "audit-log") if f'href="{reverse(name)}"' in page
    }
    assert linked == visible_links


def test_a_user_without_a_tenant_gets_the_no_access_page(client):
    client.force_login(UserFactory())

    response = client.get(reverse("dashboard"))

    assert response.status_code == 403
    assert b"not a member of any active tenant" in response.content


def test_a_deactivated_member_loses_access(client, tenant_a, owner):
    user = sign_in_with_role(client, tenant_a, "admin")
    with active(tenant_a):
        Membership.objects.filter(user=user).update(is_active=False)

    response = client.get(reverse("members"))

    assert response.status_code == 403
    assert b"not a member of any active tenant" in response.content


def test_members_of_a_deactivated_tenant_lose_access(client, tenant_a, owner):
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)
    client.force_login(owner)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 403
