"""Sign-in protection: lockout after repeated failures (django-axes) and throttled reset mails.

Lockout counts failures per email address *and* client address together
(`AXES_LOCKOUT_PARAMETERS`), so a stranger cannot lock a colleague out from elsewhere; five
failures lock that pair for `AXES_COOLOFF_TIME`, and a tenant administrator can lift the lock
from Settings → Users (`member_unlock`, audited). Password-reset mails are limited per address
and per client in Redis; over the limit the page looks the same, so it tells nobody which
addresses exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from creditguard.accounts.models import Membership
from creditguard.audit.services import audit_record
from creditguard.tenancy.models import Tenant

RESET_MAILS_PER_ADDRESS = 3
RESET_MAILS_PER_CLIENT = 10
RESET_WINDOW_SECONDS = 60 * 60


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The email as the sign-in form stores it (trimmed, lower-case): one counter per user
    however the address is typed. AXES_USERNAME_CALLABLE."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw).strip().lower()


def locked_out_emails(*, emails: Iterable[str]) -> set[str]:
    """Which of these addresses are locked out from some client right now."""
    return set(
        AccessAttempt.objects.filter(
            username__in=[email.lower() for email in emails],
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME,
        ).values_list("username", flat=True)
    )


def member_unlock(*, tenant: Tenant, actor: User, membership: Membership) -> int:
    """Lift every sign-in lockout of the member's address; returns how many were lifted."""
    lifted: int = axes_reset(username=membership.user.email.lower())
    audit_record(
        tenant=tenant,
        actor=actor,
        action="membership.unlock",
        obj=membership,
        before={"locked_out": True},
        after={"locked_out": False},
    )
    return lifted


def reset_mail_allowed(*, email: str, request: HttpRequest | None) -> bool:
    """Count one password-reset mail for the address and the client; False over the limit."""
    keys = [(f"password-reset:address:{email.strip().lower()}", RESET_MAILS_PER_ADDRESS)]
    if request is not None:
        keys.append(
            (f"password-reset:client:{get_client_ip_address(request)}", RESET_MAILS_PER_CLIENT)
        )
    allowed = True
    for key, limit in keys:
        cache.add(key, 0, RESET_WINDOW_SECONDS)
        if cache.incr(key) > limit:
            allowed = False
    return allowed
