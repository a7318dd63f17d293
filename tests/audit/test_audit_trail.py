"""Every audited write records actor, action, object, before and after; the trail is append-only."""

import pytest
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse

from creditguard.accounts.models import Membership
from creditguard.audit.models import AuditEvent
from creditguard.audit.services import audit_record
from tests.conftest import active

pytestmark = pytest.mark.django_db


def only_event(tenant) -> AuditEvent:
    with active(tenant):
        return AuditEvent.objects.get()


def test_adding_a_member_is_audited(client, tenant_a, owner):
    client.force_login(owner)

    client.post(
        reverse("members"),
        {"email": "New.Person@A.example", "role": "viewer", "approval_authority": "0"},
    )

    event = only_event(tenant_a)
    with active(tenant_a):
        membership = Membership.objects.get(user__email="new.person@a.example")
    assert (event.action, event.actor_user, event.actor_label) == (
        "membership.add",
        owner,
        "owner@a.example",
    )
    assert (event.object_type, event.object_id) == ("accounts.membership", str(membership.pk))
    assert event.before is None
    assert event.after == {
        "email": "new.person@a.example",
        "role": "viewer",
        "approval_authority": "0.00",
        "approval_currency": "EUR",
        "is_active": True,
    }


def test_updating_a_member_records_before_and_after(client, tenant_a, owner, teammate):
    with active(tenant_a):
        membership = Membership.objects.get(user=teammate)
    client.force_login(owner)

    client.post(
        reverse("member-edit", args=[membership.pk]),
        {
            "role": "credit_manager",
            "approval_authority": "250000",
            "approval_currency": "USD",
            "is_active": "on",
        },
    )

    event = only_event(tenant_a)
    assert (event.action, event.actor_user, event.object_id) == (
        "membership.update",
        owner,
        str(membership.pk),
    )
    assert event.before == {
        "role": "analyst",
        "approval_authority": "0.00",
        "approval_currency": "EUR",
        "is_active": True,
    }
    assert event.after == {
        "role": "credit_manager",
        "approval_authority": "250000.00",
        "approval_currency": "USD",
        "is_active": True,
    }


def test_a_change_of_role_alone_records_no_change_of_authority(client, tenant_a, owner, teammate):
    with active(tenant_a):
        membership = Membership.objects.get(user=teammate)
    client.force_login(owner)

    client.post(
        reverse("member-edit", args=[membership.pk]),
        {
            "role": "viewer",
            "approval_authority": "0",
            "approval_currency": "EUR",
            "is_active": "on",
        },
    )

    event = only_event(tenant_a)
    changed = {key for key in event.after if event.after[key] != event.before[key]}
    assert changed == {"role"}


def test_creating_an_api_key_is_audited_without_the_secret(client, tenant_a, owner):
    client.force_login(owner)

    response = client.post(reverse("api-keys"), {"name": "ERP", "scope": "read"})

    event = only_event(tenant_a)
    assert (event.action, event.actor_user, event.object_type) == (
        "api_key.create",
        owner,
        "api.apikey",
    )
    assert event.after["name"] == "ERP" and event.after["scope"] == "read"
    raw_key = response.context["new_key"]
    assert event.after["prefix"] == raw_key.split("_")[1]
    assert raw_key not in str(event.after) and raw_key.split("_", 2)[2] not in event.object_label


def test_revoking_an_api_key_is_audited_once(client, tenant_a, owner, api_key_a):
    api_key = api_key_a[0]
    client.force_login(owner)

    client.post(reverse("api-key-revoke", args=[api_key.pk]))
    client.post(reverse("api-key-revoke", args=[api_key.pk]))

    event = only_event(tenant_a)
    assert (event.action, event.actor_user, event.object_id) == (
        "api_key.revoke",
        owner,
        str(api_key.pk),
    )
    assert event.before == {"revoked_at": None}
    assert event.after["revoked_at"]


def test_an_api_key_actor_is_recorded_with_its_prefix_and_name(tenant_a, api_key_a):
    api_key = api_key_a[0]

    with active(tenant_a):
        event = audit_record(tenant=tenant_a, actor=api_key, action="test.by_key")

    assert (event.actor_user, event.actor_api_key) == (None, api_key)
    assert event.actor_label == f"api-key:{api_key.prefix} ({api_key.name})"


def test_the_audit_trail_page_lists_the_events(client, owner):
    client.force_login(owner)
    client.post(reverse("api-keys"), {"name": "Listed key", "scope": "read"})

    page = client.get(reverse("audit-log")).content.decode()

    assert "api_key.create" in page and "Listed key" in page


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'tampered' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
        "TRUNCATE audit_auditevent",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_runtime_role_cannot_rewrite_the_audit_trail(tenant_a, statement):
    with active(tenant_a):
        event = audit_record(tenant=tenant_a, actor=None, action="test.event")
        with (
            pytest.raises(ProgrammingError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk] if "%s" in statement else None)
        assert AuditEvent.objects.get(pk=event.pk).action == "test.event"
