"""E-mail digests of new alerts: once a day, to every member who may view the portfolio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from creditguard.accounts.models import Membership
from creditguard.accounts.roles import ROLE_PERMISSIONS, Permission
from creditguard.tenancy.models import Tenant
from creditguard.web.links import absolute_url

from .alerts import alert_title
from .models import Alert

# Users have no language of their own yet; digests go out in the tenant default.
DIGEST_LANGUAGE = "en"
DIGEST_MAX_ALERTS = 200
SEVERITY_ORDER = [
    Alert.Severity.CRITICAL,
    Alert.Severity.HIGH,
    Alert.Severity.MEDIUM,
    Alert.Severity.LOW,
]


@dataclass(frozen=True)
class DigestLine:
    alert: Alert
    title: str
    buyer_url: str


def digest_recipients(*, tenant: Tenant) -> list[AbstractBaseUser]:
    """Active members whose role may view the portfolio and who have an e-mail address."""
    roles = [
        role for role, permissions in ROLE_PERMISSIONS.items() if Permission.VIEW in permissions
    ]
    memberships = (
        Membership.objects.filter(
            tenant=tenant, is_active=True, role__in=roles, user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__email")
    )
    return [membership.user for membership in memberships]


def _claim_key(tenant: Tenant, day: date, user: AbstractBaseUser) -> str:
    return f"monitoring:digest:{tenant.pk}:{day.isoformat()}:{user.pk}"


def alert_digest_send(*, tenant: Tenant, day: date) -> int:
    """Send the digest of alerts created on `day` (UTC); return the number of e-mails sent.

    Nothing is sent for a day without alerts. Each recipient gets a day's digest at most once
    (a claim in the cache), so a repeated task does not mail people twice.
    """
    start = datetime.combine(day, time.min, tzinfo=UTC)
    alerts = list(
        Alert.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
        .select_related("buyer")
        .order_by("-created_at", "-id")
    )
    if not alerts:
        return 0
    recipients = digest_recipients(tenant=tenant)
    if not recipients:
        return 0
    with translation.override(DIGEST_LANGUAGE):
        rank = {severity: index for index, severity in enumerate(SEVERITY_ORDER)}
        ordered = sorted(alerts, key=lambda alert: rank.get(alert.severity, len(rank)))
        counts = [
            (Alert.Severity(severity).label, sum(1 for a in alerts if a.severity == severity))
            for severity in SEVERITY_ORDER
        ]
        context = {
            "tenant": tenant,
            "day": day,
            "total": len(alerts),
            "counts": [(label, count) for label, count in counts if count],
            "lines": [
                DigestLine(
                    alert,
                    alert_title(alert),
                    absolute_url(reverse("buyers:detail", args=[alert.buyer_id])),
                )
                for alert in ordered[:DIGEST_MAX_ALERTS]
            ],
            "alerts_url": absolute_url(reverse("monitoring:alerts")),
            "more": max(len(alerts) - DIGEST_MAX_ALERTS, 0),
        }
        subject = ngettext(
            "CreditGuard: %(count)s new alert for %(tenant)s on %(day)s",
            "CreditGuard: %(count)s new alerts for %(tenant)s on %(day)s",
            len(alerts),
        ) % {"count": len(alerts), "tenant": tenant.name, "day": day.isoformat()}
        text = render_to_string("monitoring/email/alert_digest.txt", context)
        html = render_to_string("monitoring/email/alert_digest.html", context)
    sent = 0
    with get_connection() as mail:
        for user in recipients:
            key = _claim_key(tenant, day, user)
            if not cache.add(key, 1, timeout=3 * 24 * 60 * 60):
                continue
            message = EmailMultiAlternatives(
                subject=subject,
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
                connection=mail,
            )
            message.attach_alternative(html, "text/html")
            try:
                message.send()
            except Exception:
                cache.delete(key)  # not sent: a retry may send it
                raise
            sent += 1
    return sent
