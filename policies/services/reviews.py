"""Daily reviews: expire lapsed limits and covers, remind owners of reviews due."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from creditguard.accounts.models import Membership
from creditguard.audit.services import audit_record
from creditguard.dates import today
from creditguard.tenancy.models import Tenant

from .. import schedule, selectors
from ..models import CreditLimit, InsurerCover
from .notifications import notify


def limit_reviews_run(*, tenant: Tenant, as_of: date | None = None) -> dict[str, int]:
    """Daily: expire lapsed limits and covers, remind owners of reviews due. Idempotent: every
    change is a compare-and-set, so a rerun (or a redelivered task) changes nothing."""
    as_of = as_of or today()
    counts = {"expired_limits": 0, "expired_covers": 0, "reminders": 0}
    for limit in CreditLimit.objects.filter(
        status__in=selectors.USABLE_LIMIT_STATUSES, expiry_date__lt=as_of
    ).select_related("buyer", "owner"):
        claimed = CreditLimit.objects.filter(pk=limit.pk, status=limit.status).update(
            status=CreditLimit.Status.EXPIRED, updated_at=timezone.now()
        )
        if not claimed:
            continue
        counts["expired_limits"] += 1
        audit_record(
            tenant=tenant,
            actor=None,
            action="credit_limit.expire",
            obj=limit,
            before={"status": limit.status},
            after={"status": CreditLimit.Status.EXPIRED, "expiry_date": limit.expiry_date},
        )
        notify(
            tenant=tenant,
            users=_limit_owners(tenant, limit),
            message=_("The credit limit of %(buyer)s expired on %(date)s.")
            % {"buyer": limit.buyer.legal_name, "date": limit.expiry_date.isoformat()},
            link=reverse("limits:buyer", args=[limit.buyer_id]),
        )
    for cover in InsurerCover.objects.filter(
        status__in=InsurerCover.IN_FORCE, expiry_date__lt=as_of
    ):
        if InsurerCover.objects.filter(pk=cover.pk, status=cover.status).update(
            status=InsurerCover.Status.EXPIRED, updated_at=timezone.now()
        ):
            counts["expired_covers"] += 1
            audit_record(
                tenant=tenant,
                actor=None,
                action="insurer_cover.expire",
                obj=cover,
                before={"status": cover.status},
                after={"status": InsurerCover.Status.EXPIRED},
            )
    window_end = as_of + timedelta(days=schedule.REMINDER_DAYS)
    for limit in CreditLimit.objects.filter(
        status__in=selectors.USABLE_LIMIT_STATUSES, review_date__lte=window_end
    ).select_related("buyer", "owner"):
        stage = schedule.review_reminder_stage(review_date=limit.review_date, as_of=as_of)
        if stage is None or (
            limit.reminder_stage == stage and limit.reminder_for == limit.review_date
        ):
            continue
        claimed = CreditLimit.objects.filter(
            pk=limit.pk, reminder_stage=limit.reminder_stage, reminder_for=limit.reminder_for
        ).update(reminder_stage=stage.value, reminder_for=limit.review_date)
        if not claimed:
            continue
        counts["reminders"] += 1
        if stage == schedule.ReminderStage.OVERDUE:
            message = _("The review of the credit limit of %(buyer)s is overdue (due %(date)s).")
        else:
            message = _("The credit limit of %(buyer)s is due for review on %(date)s.")
        notify(
            tenant=tenant,
            users=_limit_owners(tenant, limit),
            message=message
            % {"buyer": limit.buyer.legal_name, "date": limit.review_date.isoformat()},
            link=reverse("limits:buyer", args=[limit.buyer_id]),
        )
    return counts


def _limit_owners(tenant: Tenant, limit: CreditLimit) -> list[User]:
    """The limit's credit manager, or every member who may decide on limits."""
    owner = limit.owner
    if (
        owner is not None
        and owner.is_active
        and Membership.objects.filter(user=owner, is_active=True).exists()
    ):
        return [owner]
    return [membership.user for membership in selectors.deciders(tenant=tenant)]
