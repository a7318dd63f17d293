"""Celery tasks for limits and insurance: thin wrappers that load by id and call one service."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from creditguard.celery import TenantTask
from creditguard.dates import today
from creditguard.queue import for_each_active_tenant
from creditguard.tenancy.models import Tenant
from creditguard.web.links import absolute_url

from . import services
from .models import Notification
from .services.coverage import coverage_sweep, insurance_alerts_evaluate


@shared_task(name="policies.limit_reviews_all_tenants", ignore_result=True)
def limit_reviews_all_tenants() -> None:
    """Daily (beat): one `limit_reviews_run` per active tenant."""
    for_each_active_tenant("policies.limit_reviews_run", today().isoformat())


@shared_task(base=TenantTask, name="policies.limit_reviews_run", ignore_result=True)
def limit_reviews_run(as_of: str, *, tenant: Tenant) -> None:
    """Expire lapsed limits, send review reminders; idempotent (compare-and-set)."""
    services.limit_reviews_run(tenant=tenant, as_of=date.fromisoformat(as_of))


@shared_task(name="policies.insurance_daily", ignore_result=True)
def insurance_daily() -> None:
    """Daily (beat): one `insurance_daily_run` per active tenant."""
    for_each_active_tenant("policies.insurance_daily_run", today().isoformat())


@shared_task(base=TenantTask, name="policies.insurance_daily_run", ignore_result=True)
def insurance_daily_run(as_of: str, *, tenant: Tenant) -> None:
    """The tenant's daily insurance job, in one transaction; every step is idempotent.

    1. The coverage sweep: deadlines and insured split of every open invoice under a policy.
    2. The other insurance services that read the sweep run here, between the sweep and the
       alerts (discretionary credit limits, overdue-notification proposals, declarations).
    3. Monitoring's insurance alerts (cover reduced, policy deadline) from the fresh sweep.
    """
    day = date.fromisoformat(as_of)
    coverage_sweep(tenant=tenant, as_of=day)
    # -- Services that read the sweep go here. --
    insurance_alerts_evaluate(tenant=tenant, as_of=day)


@shared_task(base=TenantTask, name="policies.notification_email_send", ignore_result=True)
def notification_email_send(notification_id: int, *, tenant: Tenant) -> None:
    """Email one notification to its recipient; a notification is emailed at most once."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return
    # Claimed in the task's transaction: if sending fails, the claim rolls back for the retry.
    if not Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    ):
        return
    body = notification.message
    if notification.link:
        body += f"\n\n{_('Open')}: {absolute_url(notification.link)}"
    send_mail(
        subject=f"CreditGuard: {notification.message[:70]}",
        message=body,
        from_email=None,
        recipient_list=[notification.user.email],
    )
