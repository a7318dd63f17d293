"""Celery tasks for limits and insurance: thin wrappers that load by id and call one service."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.core.cache import cache
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
from .services.coverage import coverage_sweep, insurance_alerts_evaluate, refresh_pending_key
from .services.covers import dcl_refresh
from .services.declarations import declaration_reminders, declarations_prepare
from .services.overdue_notifications import overdue_notifications_propose


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

    1. Discretionary credit limits from the DCL rules (they change the cover the sweep reads).
    2. The coverage sweep: deadlines and insured split of every open invoice under a policy.
    3. What reads the sweep: overdue-notification proposals; declarations of ended periods and
       their reminders.
    4. Monitoring's insurance alerts (cover reduced, policy deadline) from the fresh sweep.
    """
    day = date.fromisoformat(as_of)
    dcl_refresh(tenant=tenant, as_of=day)
    coverage_sweep(tenant=tenant, as_of=day)
    overdue_notifications_propose(tenant=tenant, as_of=day)
    declarations_prepare(tenant=tenant, as_of=day)
    declaration_reminders(tenant=tenant, as_of=day)
    insurance_alerts_evaluate(tenant=tenant, as_of=day)


@shared_task(base=TenantTask, name="policies.coverage_refresh", ignore_result=True)
def coverage_refresh(*, tenant: Tenant) -> None:
    """A sweep of one tenant soon after a change (`coverage_refresh_soon`), and its insurance
    alerts, so a cover cut or a missed deadline shows within seconds."""
    cache.delete(refresh_pending_key(tenant.pk))
    day = today()
    coverage_sweep(tenant=tenant, as_of=day)
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
