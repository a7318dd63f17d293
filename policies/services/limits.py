"""Credit limits: grant or change (review and expiry dates by risk class), block, unblock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.audit.services import audit_record, snapshot
from creditguard.tenancy.models import Tenant

from .. import schedule
from ..models import CreditLimit, LimitRequest

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

LIMIT_FIELDS = [
    "amount",
    "currency",
    "payment_terms_days",
    "status",
    "grade",
    "risk_class",
    "granted_on",
    "review_date",
    "expiry_date",
    "blocked_reason",
]


@transaction.atomic
def credit_limit_set(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    amount: Decimal,
    payment_terms_days: int,
    grade: int | None,
    granted_on: date,
    request: LimitRequest | None = None,
    owner: User | None = None,
    override_reason: str = "",
) -> CreditLimit:
    """Grant or change the buyer's limit; review and expiry dates follow from its risk class.
    `override_reason`: the limit is outside the credit policy, granted as an override."""
    plan = schedule.limit_schedule(grade=grade, granted_on=granted_on)
    limit = CreditLimit.objects.select_for_update().filter(buyer=buyer).first()
    before = snapshot(limit, LIMIT_FIELDS) if limit else None
    if limit is None:
        limit = CreditLimit(tenant=tenant, buyer=buyer)
    limit.amount = amount
    limit.currency = tenant.base_currency
    limit.payment_terms_days = payment_terms_days
    limit.status = CreditLimit.Status.ACTIVE
    limit.blocked_reason = ""
    limit.grade = grade
    limit.risk_class = plan.risk_class.value
    limit.granted_on = granted_on
    limit.review_date = plan.review_date
    limit.expiry_date = plan.expiry_date
    limit.request = request
    limit.owner = owner if owner is not None else limit.owner
    limit.reminder_stage, limit.reminder_for = "", None
    limit.policy_override, limit.override_reason = bool(override_reason), override_reason
    limit.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_limit.change" if before else "credit_limit.grant",
        obj=limit,
        before=before,
        after={
            **snapshot(limit, LIMIT_FIELDS),
            "request": request.pk if request else None,
            **(
                {"policy_override": True, "override_reason": override_reason}
                if override_reason
                else {}
            ),
        },
    )
    return limit


@transaction.atomic
def credit_limit_block(
    *, tenant: Tenant, actor: Actor, limit: CreditLimit, reason: str
) -> CreditLimit:
    """Stop new orders on the buyer's limit (credit checks answer hold)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the limit is blocked.")]})
    limit = CreditLimit.objects.select_for_update().get(pk=limit.pk)
    if limit.status != CreditLimit.Status.ACTIVE:
        raise ValidationError(_("Only an active limit can be blocked."))
    before = snapshot(limit, ["status", "blocked_reason"])
    limit.status, limit.blocked_reason = CreditLimit.Status.BLOCKED, reason[:300]
    limit.save(update_fields=["status", "blocked_reason", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_limit.block",
        obj=limit,
        before=before,
        after=snapshot(limit, ["status", "blocked_reason"]),
    )
    return limit


@transaction.atomic
def credit_limit_unblock(*, tenant: Tenant, actor: Actor, limit: CreditLimit) -> CreditLimit:
    limit = CreditLimit.objects.select_for_update().get(pk=limit.pk)
    if limit.status != CreditLimit.Status.BLOCKED:
        raise ValidationError(_("Only a blocked limit can be unblocked."))
    before = snapshot(limit, ["status", "blocked_reason"])
    limit.status, limit.blocked_reason = CreditLimit.Status.ACTIVE, ""
    limit.save(update_fields=["status", "blocked_reason", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="credit_limit.unblock",
        obj=limit,
        before=before,
        after=snapshot(limit, ["status", "blocked_reason"]),
    )
    return limit
