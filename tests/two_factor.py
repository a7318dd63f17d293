"""Helpers for tests of users with two-factor authentication.

`client.force_login(user)` signs in a user without 2FA as before; for a user with a device the
session also needs the device that verified it, as the code step leaves it.
"""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_device(user, *, confirmed: bool = True) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=confirmed)


def current_code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """The code the user's app shows now (or `offset_steps` steps away)."""
    code = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + offset_steps,
    )
    return f"{code:0{device.digits}d}"


def force_login_verified(client, user, device: TOTPDevice | None = None) -> None:
    """Sign `user` in as if they had also entered a code from `device` (their device)."""
    device = device or TOTPDevice.objects.get(user=user, confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
