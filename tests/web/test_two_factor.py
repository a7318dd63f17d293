"""Two-factor sign-in (TOTP): the code step, set-up and turn-off, the tenant requirement."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from creditguard.audit.models import AuditEvent
from creditguard.tenancy.models import Tenant
from tests.conftest import active
from tests.factories import DEFAULT_PASSWORD, MembershipFactory
from tests.two_factor import current_code, force_login_verified, totp_device

pytestmark = pytest.mark.django_db

CODE_STEP = reverse("two-factor-verify")


def sign_in(client, email: str, *, next_url: str = ""):
    data = {"username": email, "password": DEFAULT_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data, REMOTE_ADDR="198.51.100.7")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def require_two_factor(tenant) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(require_admin_two_factor=True)


def audit_actions(tenant) -> list[str]:
    with active(tenant):
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Signing in -----------------------------------------------------------------------------


def test_a_user_without_a_device_signs_in_with_the_password_alone(client, teammate):
    response = sign_in(client, "teammate@a.example")

    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_with_a_device_the_password_alone_does_not_open_the_dashboard(client, teammate):
    totp_device(teammate)

    sign_in(client, "teammate@a.example")
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(CODE_STEP)
    assert client.get(reverse("buyers:list")).status_code == 302
    assert "Enter your code" in client.get(CODE_STEP).content.decode()


def test_force_login_of_a_user_with_a_device_still_owes_the_code(client, teammate):
    totp_device(teammate)
    client.force_login(teammate)

    assert client.get(reverse("members")).status_code == 302
    assert client.get(reverse("two-factor")).status_code == 302


def test_the_api_treats_a_session_without_its_code_as_signed_out(client, teammate):
    totp_device(teammate)
    client.force_login(teammate)

    response = client.get("/api/v1/buyers/")

    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


def test_the_api_accepts_the_session_once_verified(client, teammate):
    force_login_verified(client, teammate, totp_device(teammate))

    assert client.get("/api/v1/buyers/").status_code == 200


def test_a_wrong_code_is_refused(client, teammate):
    device = totp_device(teammate)
    sign_in(client, "teammate@a.example")

    response = client.post(CODE_STEP, {"code": wrong(current_code(device))})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_the_right_code_signs_in_and_returns_to_the_page_asked_for(client, teammate):
    device = totp_device(teammate)
    sign_in(client, "teammate@a.example", next_url="/buyers/")
    assert client.get("/buyers/")["Location"] == f"{CODE_STEP}?next=%2Fbuyers%2F"

    response = client.post(CODE_STEP, {"code": current_code(device), "next": "/buyers/"})

    assert response["Location"] == "/buyers/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_wrong_codes_are_throttled_so_guessing_stops(client, teammate):
    device = totp_device(teammate)
    sign_in(client, "teammate@a.example")
    client.post(CODE_STEP, {"code": wrong(current_code(device))})

    # Within the wait after a failure, even the right code is refused.
    response = client.post(CODE_STEP, {"code": current_code(device)})

    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_code_step_sends_a_signed_out_visitor_to_sign_in(client):
    response = client.get(CODE_STEP)

    assert response["Location"].startswith(reverse("login"))


def test_the_password_lockout_still_works_for_users_with_a_device(client, teammate):
    totp_device(teammate)
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": "teammate@a.example", "password": "wrong-password"},
            REMOTE_ADDR="198.51.100.7",
        )

    assert sign_in(client, "teammate@a.example").status_code == 429


# --- Setting up and turning off ---------------------------------------------------------------


def test_a_user_sets_up_two_factor_with_the_qr_code_and_a_code(client, teammate, tenant_a):
    client.force_login(teammate)

    page = client.get(reverse("two-factor"))
    body = page.content.decode()
    device = TOTPDevice.objects.get(user=teammate)
    assert "<svg" in body and "otpauth" not in body.split("<svg", 1)[0]
    assert page.context["manual_key"].replace(" ", "")
    assert not device.confirmed

    response = client.post(reverse("two-factor"), {"code": current_code(device)})

    assert response["Location"] == reverse("two-factor")
    device.refresh_from_db()
    assert device.confirmed
    # This session proved the device: it stays signed in.
    assert client.get(reverse("dashboard")).status_code == 200
    assert audit_actions(tenant_a) == ["user.two_factor_enable"]


def test_reloading_the_set_up_page_keeps_the_same_secret(client, teammate):
    client.force_login(teammate)

    first = client.get(reverse("two-factor")).context["manual_key"]
    second = client.get(reverse("two-factor")).context["manual_key"]

    assert first == second
    assert TOTPDevice.objects.filter(user=teammate).count() == 1


def test_set_up_refuses_a_wrong_code(client, teammate, tenant_a):
    client.force_login(teammate)
    client.get(reverse("two-factor"))
    device = TOTPDevice.objects.get(user=teammate)

    response = client.post(reverse("two-factor"), {"code": wrong(current_code(device))})

    assert response.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    assert audit_actions(tenant_a) == []


def test_set_up_asks_for_six_digits(client, teammate):
    client.force_login(teammate)
    client.get(reverse("two-factor"))

    response = client.post(reverse("two-factor"), {"code": "12ab"})

    assert "Enter the six digits" in response.content.decode()


def test_a_user_turns_two_factor_off_with_a_current_code(client, teammate, tenant_a):
    device = totp_device(teammate)
    force_login_verified(client, teammate, device)

    response = client.post(reverse("two-factor"), {"code": current_code(device)})

    assert response["Location"] == reverse("two-factor")
    assert not TOTPDevice.objects.filter(user=teammate).exists()
    assert audit_actions(tenant_a) == ["user.two_factor_disable"]


def test_turning_off_needs_the_right_code(client, teammate, tenant_a):
    device = totp_device(teammate)
    force_login_verified(client, teammate, device)

    response = client.post(reverse("two-factor"), {"code": wrong(current_code(device))})

    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=teammate, confirmed=True).exists()
    assert audit_actions(tenant_a) == []


def test_enabling_is_audited_in_every_tenant_of_the_user(client, teammate, tenant_a, tenant_b):
    with active(tenant_b):
        MembershipFactory(tenant=tenant_b, user=teammate, role="viewer")
    client.force_login(teammate)
    client.get(reverse("two-factor"))
    device = TOTPDevice.objects.get(user=teammate)

    client.post(reverse("two-factor"), {"code": current_code(device)})

    assert audit_actions(tenant_a) == ["user.two_factor_enable"]
    assert audit_actions(tenant_b) == ["user.two_factor_enable"]
    with active(tenant_a):
        event = AuditEvent.objects.get()
    assert event.actor_user == teammate and event.after == {"two_factor": True}


# --- The tenant requirement -------------------------------------------------------------------


def test_an_admin_turns_on_the_requirement_and_it_is_audited(client, owner, tenant_a):
    force_login_verified(client, owner, totp_device(owner))

    response = client.post(reverse("tenant-two-factor"), {"required": "on"})

    assert response["Location"] == reverse("two-factor")
    tenant_a.refresh_from_db()
    assert tenant_a.require_admin_two_factor
    with active(tenant_a):
        event = AuditEvent.objects.get(action="tenant.require_admin_two_factor")
    assert event.before == {"require_admin_two_factor": False}
    assert event.after == {"require_admin_two_factor": True}
    assert event.actor_user == owner


def test_saving_the_unchanged_requirement_writes_no_audit_row(client, owner, tenant_a):
    client.force_login(owner)

    client.post(reverse("tenant-two-factor"), {})

    assert audit_actions(tenant_a) == []


def test_the_settings_page_shows_the_requirement_to_admins_only(client, owner, teammate):
    client.force_login(owner)
    assert (
        "Require two-factor for administrators"
        in client.get(reverse("two-factor")).content.decode()
    )

    client.force_login(teammate)
    page = client.get(reverse("two-factor")).content.decode()
    assert "Require two-factor for administrators" not in page


def test_an_analyst_may_not_change_the_requirement(client, teammate, tenant_a):
    client.force_login(teammate)

    assert client.post(reverse("tenant-two-factor"), {"required": "on"}).status_code == 403
    tenant_a.refresh_from_db()
    assert not tenant_a.require_admin_two_factor


def test_an_outsider_cannot_change_another_tenants_requirement(
    client, outsider, tenant_a, tenant_b
):
    client.force_login(outsider)

    client.post(reverse("tenant-two-factor"), {"required": "on"})

    tenant_a.refresh_from_db()
    tenant_b.refresh_from_db()
    assert not tenant_a.require_admin_two_factor
    assert tenant_b.require_admin_two_factor  # only ever the outsider's own tenant
    assert audit_actions(tenant_a) == []


def test_the_requirement_sends_an_admin_without_a_device_to_set_up(client, owner, tenant_a):
    require_two_factor(tenant_a)

    response = sign_in(client, "owner@a.example")
    assert response["Location"] == reverse("dashboard")
    blocked = client.get(reverse("dashboard"))

    assert blocked["Location"].startswith(reverse("two-factor"))
    assert client.get(reverse("members")).status_code == 302
    assert client.get("/api/v1/buyers/").status_code in (401, 403)
    page = client.get(reverse("two-factor"))
    assert "requires two-factor authentication for administrators" in page.content.decode()

    device = TOTPDevice.objects.get(user=owner)
    done = client.post(reverse("two-factor"), {"code": current_code(device), "next": "/"})

    assert done["Location"] == "/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_the_requirement_leaves_other_roles_alone(client, teammate, tenant_a):
    require_two_factor(tenant_a)
    client.force_login(teammate)

    assert client.get(reverse("dashboard")).status_code == 200


def test_an_admin_may_not_turn_off_two_factor_while_the_tenant_requires_it(client, owner, tenant_a):
    device = totp_device(owner)
    require_two_factor(tenant_a)
    force_login_verified(client, owner, device)

    response = client.post(reverse("two-factor"), {"code": current_code(device)})

    assert "requires two-factor authentication for administrators" in response.content.decode()
    assert TOTPDevice.objects.filter(user=owner).exists()


def test_the_pages_are_translated(client, teammate):
    totp_device(teammate)
    client.force_login(teammate)

    page = client.get(CODE_STEP, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "输入" in page
