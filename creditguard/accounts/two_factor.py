"""Two-factor sign-in with a TOTP authenticator app (django-otp).

Optional for every user; required for the administrators of a tenant that sets
`Tenant.require_admin_two_factor`. A user has at most one TOTP device: unconfirmed while being
set up, confirmed once a code from the app has been accepted. A signed-in session whose user has
a confirmed device counts only once a code has verified it (`OTPMiddleware` keeps the verifying
device in the session): until then `TwoFactorMiddleware` and `VerifiedSessionAuthentication`
treat it as not signed in. Wrong codes are throttled by django-otp: after each failure the
device refuses every code for an exponentially growing delay (`OTP_TOTP_THROTTLE_FACTOR`).

Turning 2FA on or off is recorded in the audit trail of every tenant the user belongs to, so each
tenant's administrators see it; changing the tenant requirement in that tenant's.
"""

from __future__ import annotations

import re
from base64 import b32encode
from enum import StrEnum
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from creditguard.audit.services import audit_record
from creditguard.tenancy.context import activate_tenant, current_tenant_or_none, deactivate_tenant
from creditguard.tenancy.models import Tenant

from .models import Membership
from .roles import Role
from .selectors import memberships_of_user

DEVICE_NAME = "Authenticator app"


class Pending(StrEnum):
    """What a signed-in session still owes before it may do anything else."""

    CODE = "code"  # the user has 2FA on and this session has not given a code yet
    SETUP = "setup"  # an administrator of a tenant that requires 2FA, without 2FA


# --- Selectors ------------------------------------------------------------------------------


def totp_device_of(*, user: User, confirmed: bool | None = True) -> Any:
    """The user's TOTP device (confirmed, unconfirmed, or either with None), or None."""
    devices = TOTPDevice.objects.filter(user=user)
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    return devices.order_by("id").first()


def two_factor_pending(
    *, user: AbstractBaseUser | AnonymousUser, membership: Membership | None
) -> Pending | None:
    """What the session of `user` (as OTPMiddleware leaves it) owes in the active tenant."""
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    if getattr(user, "is_verified", lambda: False)():
        return None
    if totp_device_of(user=user) is not None:
        return Pending.CODE
    if (
        membership is not None
        and membership.role == Role.ADMIN
        and membership.is_active
        and membership.tenant.require_admin_two_factor
    ):
        return Pending.SETUP
    return None


def totp_manual_key(device: Any) -> str:
    """The secret as authenticator apps accept it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


def totp_qr_svg(device: Any) -> str:
    """The device's otpauth:// URI as an inline SVG QR code (drawn here: no image service)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage)
    svg: str = image.to_string(encoding="unicode")
    # A fixed pixel size instead of the library's millimetres; the viewBox keeps it sharp.
    return re.sub(
        r'^<svg width="[^"]+" height="[^"]+"',
        '<svg width="200" height="200" role="img" class="qr-code"',
        svg,
        count=1,
    )


def code_refused_reason(device: Any) -> str | None:
    """Why `device` refuses every code right now (too many wrong ones), or None."""
    allowed, _details = device.verify_is_allowed()
    if allowed:
        return None
    return _("Too many wrong codes. Wait a minute, then try the newest code from your app.")


# --- Services -------------------------------------------------------------------------------


@transaction.atomic
def totp_device_start(*, user: User) -> Any:
    """The unconfirmed device to set up (a new secret the first time, the same one on reload)."""
    device = totp_device_of(user=user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user: User, token: str) -> Any:
    """Turn 2FA on with a code from the app being set up; returns the device, or None when
    the code is wrong (a wrong code counts towards the throttle)."""
    device = (
        TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("id")
    ).first()
    if device is None or totp_device_of(user=user) is not None:
        return None
    if not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    _audit_in_each_tenant(user=user, action="user.two_factor_enable", enabled=True)
    return device


@transaction.atomic
def totp_device_verify(*, user: User, token: str) -> Any:
    """The confirmed device if `token` is its current code, else None (counted as a failure)."""
    device = (
        TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("id")
    ).first()
    if device is None or not device.verify_token(token):
        return None
    return device


@transaction.atomic
def totp_device_remove(*, user: User, token: str) -> bool:
    """Turn 2FA off, proven with a current code; False when the code is wrong. Refused while a
    tenant requires 2FA of this user as its administrator."""
    requiring = [
        membership.tenant.name
        for membership in memberships_of_user(user=user)
        if membership.role == Role.ADMIN and membership.tenant.require_admin_two_factor
    ]
    if requiring:
        raise ValidationError(
            _("%(tenants)s requires two-factor authentication for administrators.")
            % {"tenants": ", ".join(requiring)}
        )
    if totp_device_verify(user=user, token=token) is None:
        return False
    TOTPDevice.objects.filter(user=user).delete()
    _audit_in_each_tenant(user=user, action="user.two_factor_disable", enabled=False)
    return True


@transaction.atomic
def tenant_two_factor_update(*, tenant: Tenant, actor: User, required: bool) -> Tenant:
    """Require (or stop requiring) two-factor authentication of the tenant's administrators."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.require_admin_two_factor == required:
        return tenant
    tenant.require_admin_two_factor = required
    tenant.save(update_fields=["require_admin_two_factor"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="tenant.require_admin_two_factor",
        obj=tenant,
        before={"require_admin_two_factor": not required},
        after={"require_admin_two_factor": required},
    )
    return tenant


def _audit_in_each_tenant(*, user: User, action: str, enabled: bool) -> None:
    # 2FA belongs to the user, not to one tenant: each tenant's administrators see the change
    # on the member in their own audit trail. Row-level security admits each row only with its
    # tenant active, so activate each in turn, then restore the request's.
    previous = current_tenant_or_none()
    try:
        for membership in memberships_of_user(user=user):
            activate_tenant(membership.tenant)
            audit_record(
                tenant=membership.tenant,
                actor=user,
                action=action,
                obj=membership,
                before={"two_factor": not enabled},
                after={"two_factor": enabled},
            )
    finally:
        if previous is not None:
            activate_tenant(previous)
        else:
            deactivate_tenant()
