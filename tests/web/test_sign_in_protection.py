"""Sign-in lockout, administrator unlock, throttled reset mails, and security headers."""

import pytest
from django.core import mail
from django.urls import reverse

from creditguard.audit.models import AuditEvent
from tests.conftest import active
from tests.factories import DEFAULT_PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


def sign_in(client, password: str, *, email: str = "teammate@a.example", ip: str = "198.51.100.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_five_wrong_passwords_lock_the_address_with_a_clear_message(client, teammate):
    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 200  # the form again, with its error

    locked = sign_in(client, WRONG)

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Even the right password is refused while the lock lasts.
    assert sign_in(client, DEFAULT_PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_counts_the_address_however_it_is_typed(client, teammate):
    for email in ["teammate@a.example", "TEAMMATE@a.example", " Teammate@A.example "] * 2:
        sign_in(client, WRONG, email=email)

    assert sign_in(client, DEFAULT_PASSWORD).status_code == 429


def test_a_lock_from_one_client_does_not_lock_the_member_out_elsewhere(client, teammate):
    for _ in range(5):
        sign_in(client, WRONG, ip="203.0.113.9")

    response = sign_in(client, DEFAULT_PASSWORD, ip="198.51.100.7")

    assert response.status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(client, teammate):
    for _ in range(4):
        sign_in(client, WRONG)
    assert sign_in(client, DEFAULT_PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 200


def test_an_administrator_sees_the_lock_and_lifts_it_and_that_is_audited(
    client, owner, teammate, tenant_a
):
    for _ in range(5):
        sign_in(client, WRONG)
    with active(tenant_a):
        membership = teammate.memberships.get()
    admin = client.__class__()
    admin.force_login(owner)

    assert "Locked" in admin.get(reverse("members")).content.decode()
    page = admin.get(reverse("member-edit", args=[membership.pk])).content.decode()
    assert "Unlock now" in page
    response = admin.post(reverse("member-unlock", args=[membership.pk]))

    assert response.status_code == 302
    assert sign_in(client, DEFAULT_PASSWORD).status_code == 302
    with active(tenant_a):
        event = AuditEvent.objects.get(action="membership.unlock")
    assert event.actor_user == owner and event.object_id == str(membership.pk)


def test_an_analyst_may_not_unlock(client, teammate, tenant_a):
    with active(tenant_a):
        membership = teammate.memberships.get()
    client.force_login(teammate)

    assert client.post(reverse("member-unlock", args=[membership.pk])).status_code == 403


def test_an_outsider_cannot_unlock_another_tenants_member(client, outsider, teammate, tenant_a):
    with active(tenant_a):
        membership = teammate.memberships.get()
    client.force_login(outsider)

    assert client.post(reverse("member-unlock", args=[membership.pk])).status_code == 404


def test_unlock_needs_a_post(client, owner, teammate, tenant_a):
    with active(tenant_a):
        membership = teammate.memberships.get()
    client.force_login(owner)

    assert client.get(reverse("member-unlock", args=[membership.pk])).status_code == 405


def test_reset_mails_for_one_address_are_throttled_without_telling(client, teammate):
    answers = [
        client.post(reverse("password_reset"), {"email": "teammate@a.example"}) for _ in range(10)
    ]

    assert all(answer.status_code == 302 for answer in answers)
    assert len(mail.outbox) == 3


def test_reset_mails_from_one_client_are_throttled_across_addresses(client, tenant_a):
    with active(tenant_a):
        emails = [
            MembershipFactory(tenant=tenant_a, user__email=f"user{n}@a.example").user.email
            for n in range(12)
        ]

    for email in emails:
        client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR="192.0.2.1")

    assert len(mail.outbox) == 10


def test_pages_carry_a_content_security_policy_that_allows_no_inline_script(client, owner):
    client.force_login(owner)

    policy = client.get(reverse("dashboard"))["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_the_api_docs_load_their_script_from_a_url_not_inline(client):
    page = client.get("/api/v1/docs/").content.decode()

    assert "<script>" not in page
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
