"""In-app notifications of the limit workflow, each also emailed after the commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.utils import timezone

from creditguard.queue import enqueue_on_commit
from creditguard.tenancy.models import Tenant

from ..models import Notification


def notify(
    *, tenant: Tenant, users: Iterable[User], message: str, link: str = ""
) -> list[Notification]:
    """In-app notifications, each also sent by email once the transaction commits."""
    created = Notification.objects.bulk_create(
        [
            Notification(tenant=tenant, user=user, message=message[:300], link=link[:300])
            for user in {user.pk: user for user in users}.values()
        ]
    )
    for notification in created:
        enqueue_on_commit("policies.notification_email_send", notification.pk, tenant_id=tenant.pk)
    return created


def notifications_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
