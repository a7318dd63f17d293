"""Celery tasks for limits: thin wrappers that load by id and call one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from creditguard.celery import TenantTask
from creditguard.tenancy.models import Tenant

from . import services
from .models import Notification


@shared_task(name="policies.limit_reviews_all_tenants", ignore_result=True)
def limit_reviews_all_tenants() -> None:
    """Daily (beat): one `limit_reviews_run` per active tenant."""
    as_of = timezone.localdate().isoformat()
    for tenant_id in Tenant.objects.filter(is_active=True).values_list("pk", flat=True):
        limit_reviews_run.delay(as_of, tenant_id=tenant_id)


@shared_task(base=TenantTask, name="policies.limit_reviews_run", ignore_result=True)
def limit_reviews_run(as_of: str, *, tenant_id: int) -> None:
    """Expire lapsed limits, send review reminders; idempotent (compare-and-set)."""
    from datetime import date

    services.limit_reviews_run(
        tenant=Tenant.objects.get(pk=tenant_id), as_of=date.fromisoformat(as_of)
    )


@shared_task(base=TenantTask, name="policies.notification_email_send", ignore_result=True)
def notification_email_send(notification_id: int, *, tenant_id: int) -> None:
    """Email one notification to its recipient; a notification is emailed at most once."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return
    # Claimed in the task's transaction: if sending fails, the claim rolls back for the retry.
    if not Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    ):
        return
    link = notification.link
    if link:
        link = getattr(settings, "SITE_URL", "").rstrip("/") + link
    body = notification.message + (f"\n\n{_('Open')}: {link}" if link else "")
    send_mail(
        subject=f"CreditGuard: {notification.message[:70]}",
        message=body,
        from_email=None,
        recipient_list=[notification.user.email],
    )
