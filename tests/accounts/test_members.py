"""Settings → Users and roles: add members, edit roles and authority, keep one admin."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from creditguard.accounts.models import Membership
from creditguard.audit.models import AuditEvent
from tests.conftest import active
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def add_form(**overrides) -> dict:
    return {
        "email": "new.analyst@a.example",
        "role": "analyst",
        "approval_authority": "0",
        **overrides,
    }


def edit_form(**overrides) -> dict:
    return {
        "role": "analyst",
        "approval_authority": "0",
        "approval_currency": "EUR",
        "is_active": "on",
        **overrides,
    }


def membership_of(tenant, user) -> Membership:
    with active(tenant):
        return Membership.objects.get(user=user)


def audit_count(tenant) -> int:
    with active(tenant):
        return AuditEvent.objects.count()


@pytest.fixture
def admin_client(client, owner):
    client.force_login(owner)
    return client


def test_an_admin_adds_a_new_user_by_email(admin_client, tenant_a):
    response = admin_client.post(
        reverse("members"),
        add_form(
            email="  Li.Na@A.example ",
            full_name="Li Na",
            role="credit_manager",
            approval_authority="50000",
        ),
    )

    assert response.status_code == 302 and response["Location"] == reverse("members")
    user = User.objects.get(email="li.na@a.example")
    assert (user.username, user.first_name, user.last_name) == ("li.na@a.example", "Li", "Na")
    assert not user.has_usable_password()
    membership = membership_of(tenant_a, user)
    assert (membership.role, membership.approval_authority, membership.approval_currency) == (
        "credit_manager",
        Decimal("50000"),
        "EUR",
    )
    assert "li.na@a.example was added." in admin_client.get(reverse("members")).content.decode()


def test_an_admin_adds_an_existing_user_of_another_tenant_without_copying_them(
    admin_client, tenant_a, tenant_b, outsider
):
    users_before = User.objects.count()

    admin_client.post(reverse("members"), add_form(email="OUTSIDER@b.example", role="viewer"))

    assert User.objects.count() == users_before
    assert membership_of(tenant_a, outsider).role == "viewer"
    assert membership_of(tenant_b, outsider).role == "admin"


def test_adding_someone_who_is_already_a_member_is_a_form_error(admin_client, tenant_a, teammate):
    before = audit_count(tenant_a)

    response = admin_client.post(reverse("members"), add_form(email="Teammate@A.example"))

    assert response.status_code == 200
    assert "already a member" in str(response.context["form"].errors["email"])
    assert membership_of(tenant_a, teammate).role == "analyst"
    assert audit_count(tenant_a) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"email": "not-an-email"}, "email", id="bad-email"),
        pytest.param({"approval_authority": "-1"}, "approval_authority", id="negative-authority"),
        pytest.param({"approval_authority": "lots"}, "approval_authority", id="not-a-number"),
        pytest.param({"role": "owner"}, "role", id="unknown-role"),
    ],
)
def test_bad_input_when_adding_is_a_form_error_and_nothing_is_written(
    admin_client, tenant_a, overrides, field
):
    users_before, audit_before = User.objects.count(), audit_count(tenant_a)

    response = admin_client.post(reverse("members"), add_form(**overrides))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert '<small class="error" role="alert">' in response.content.decode()
    assert User.objects.count() == users_before
    assert audit_count(tenant_a) == audit_before


def test_an_admin_edits_a_members_role_and_authority(admin_client, tenant_a, teammate):
    membership = membership_of(tenant_a, teammate)

    response = admin_client.post(
        reverse("member-edit", args=[membership.pk]),
        edit_form(role="credit_manager", approval_authority="125000.50", approval_currency="CHF"),
    )

    assert response.status_code == 302
    membership = membership_of(tenant_a, teammate)
    assert (membership.role, membership.approval_authority, membership.approval_currency) == (
        "credit_manager",
        Decimal("125000.50"),
        "CHF",
    )


def test_the_edit_page_shows_the_current_values(admin_client, tenant_a, teammate):
    membership = membership_of(tenant_a, teammate)

    response = admin_client.get(reverse("member-edit", args=[membership.pk]))

    assert response.status_code == 200
    assert response.context["form"].initial["role"] == "analyst"
    assert "teammate@a.example" in response.content.decode()


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"role": "credit_manager"}, id="demoted"),
        pytest.param({"role": "admin", "is_active": ""}, id="deactivated"),
    ],
)
def test_the_last_active_admin_cannot_be_removed(admin_client, tenant_a, owner, overrides):
    membership = membership_of(tenant_a, owner)
    before = audit_count(tenant_a)

    response = admin_client.post(
        reverse("member-edit", args=[membership.pk]), edit_form(**overrides)
    )

    assert response.status_code == 200
    assert "at least one active administrator" in response.content.decode()
    membership = membership_of(tenant_a, owner)
    assert (membership.role, membership.is_active) == ("admin", True)
    assert audit_count(tenant_a) == before


def test_an_admin_may_step_down_when_another_admin_remains(admin_client, tenant_a, owner):
    with active(tenant_a):
        MembershipFactory(tenant=tenant_a, role="admin")
    membership = membership_of(tenant_a, owner)

    response = admin_client.post(
        reverse("member-edit", args=[membership.pk]), edit_form(role="viewer")
    )

    assert response.status_code == 302
    assert membership_of(tenant_a, owner).role == "viewer"


def test_an_inactive_admin_does_not_count_as_the_remaining_admin(admin_client, tenant_a, owner):
    with active(tenant_a):
        MembershipFactory(tenant=tenant_a, role="admin", is_active=False)
    membership = membership_of(tenant_a, owner)

    response = admin_client.post(
        reverse("member-edit", args=[membership.pk]), edit_form(role="viewer")
    )

    assert response.status_code == 200
    assert membership_of(tenant_a, owner).role == "admin"


def test_an_admin_of_another_tenant_does_not_count_as_the_remaining_admin(
    admin_client, tenant_a, owner, outsider
):
    membership = membership_of(tenant_a, owner)

    admin_client.post(reverse("member-edit", args=[membership.pk]), edit_form(role="viewer"))

    assert membership_of(tenant_a, owner).role == "admin"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"approval_authority": "-5"}, "approval_authority", id="negative-authority"),
        pytest.param({"approval_currency": "eur"}, "approval_currency", id="lower-case-currency"),
        pytest.param({"approval_currency": "EURO"}, "approval_currency", id="four-letters"),
        pytest.param({"role": "root"}, "role", id="unknown-role"),
    ],
)
def test_bad_input_when_editing_is_a_form_error_and_nothing_is_saved(
    admin_client, tenant_a, teammate, overrides, field
):
    membership = membership_of(tenant_a, teammate)
    before = audit_count(tenant_a)

    response = admin_client.post(
        reverse("member-edit", args=[membership.pk]),
        edit_form(**{"role": "viewer", "approval_authority": "10", **overrides}),
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    membership = membership_of(tenant_a, teammate)
    assert (membership.role, membership.approval_authority) == ("analyst", Decimal("0"))
    assert audit_count(tenant_a) == before
