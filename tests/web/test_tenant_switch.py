"""POST /tenant/switch/: a user in several tenants chooses the active one."""

import pytest
from django.urls import reverse

from creditguard.accounts.models import Membership
from tests.conftest import active
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenant_client(client, tenant_a, tenant_b, owner):
    """`owner` is admin of A and, here, also an analyst in B."""
    with active(tenant_b):
        MembershipFactory(tenant=tenant_b, user=owner, role="analyst")
    client.force_login(owner)
    return client


def dashboard_heading(client) -> str:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.context["current_tenant"].name


def test_the_first_tenant_by_name_is_active_until_the_user_switches(two_tenant_client):
    assert dashboard_heading(two_tenant_client) == "Tenant A Ltd"


def test_a_member_of_two_tenants_switches_and_then_sees_the_other_tenant(
    two_tenant_client, tenant_b
):
    response = two_tenant_client.post(reverse("tenant-switch"), {"tenant_id": tenant_b.pk})

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    page = two_tenant_client.get(reverse("dashboard"))
    assert "<h1>Tenant B Ltd</h1>" in page.content.decode()
    assert page.context["current_membership"].role == "analyst"
    assert "Switched to Tenant B Ltd." in page.content.decode()


def test_after_switching_the_settings_follow_the_new_role(two_tenant_client, tenant_b):
    assert two_tenant_client.get(reverse("members")).status_code == 200

    two_tenant_client.post(reverse("tenant-switch"), {"tenant_id": tenant_b.pk})

    assert two_tenant_client.get(reverse("members")).status_code == 403


@pytest.mark.parametrize("tenant_id", ["other", "999999999", ""])
def test_switching_to_a_tenant_you_are_not_a_member_of_is_a_404_and_changes_nothing(
    client, owner, tenant_a, tenant_b, tenant_id
):
    client.force_login(owner)
    client.get(reverse("dashboard"))
    session_before = dict(client.session)
    wanted = str(tenant_b.pk) if tenant_id == "other" else tenant_id

    response = client.post(reverse("tenant-switch"), {"tenant_id": wanted})

    assert response.status_code == 404
    assert dict(client.session) == session_before
    assert dashboard_heading(client) == "Tenant A Ltd"


def test_an_inactive_membership_cannot_be_switched_to(two_tenant_client, owner, tenant_b):
    with active(tenant_b):
        Membership.objects.filter(user=owner).update(is_active=False)

    response = two_tenant_client.post(reverse("tenant-switch"), {"tenant_id": tenant_b.pk})

    assert response.status_code == 404


def test_a_session_left_on_a_tenant_the_user_has_left_falls_back_to_another(
    two_tenant_client, owner, tenant_b
):
    two_tenant_client.post(reverse("tenant-switch"), {"tenant_id": tenant_b.pk})
    with active(tenant_b):
        Membership.objects.filter(user=owner).update(is_active=False)

    assert dashboard_heading(two_tenant_client) == "Tenant A Ltd"


def test_next_sends_the_user_back_to_the_page_they_were_on(two_tenant_client, tenant_b):
    response = two_tenant_client.post(
        reverse("tenant-switch"), {"tenant_id": tenant_b.pk, "next": "/settings/audit/?page=2"}
    )

    assert response["Location"] == "/settings/audit/?page=2"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "/\\evil.example",
    ],
)
def test_next_is_not_an_open_redirect(two_tenant_client, tenant_b, next_url):
    response = two_tenant_client.post(
        reverse("tenant-switch"), {"tenant_id": tenant_b.pk, "next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_switching_needs_a_post(two_tenant_client, tenant_b):
    response = two_tenant_client.get(reverse("tenant-switch"), {"tenant_id": tenant_b.pk})

    assert response.status_code == 405


def test_an_anonymous_visitor_cannot_switch(client, tenant_a):
    response = client.post(reverse("tenant-switch"), {"tenant_id": tenant_a.pk})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_switch_select_lists_only_the_users_tenants(two_tenant_client, tenant_b):
    TenantFactory(name="Unrelated Tenant Ltd")

    page = two_tenant_client.get(reverse("dashboard")).content.decode()

    assert f'<option value="{tenant_b.pk}"' in page
    assert "Unrelated Tenant Ltd" not in page
