"""Demo claims for `manage.py seed_demo`: claims in every state, filed from the overdue
notifications the insurance demo sent (protracted default) and for insolvent buyers, with
their history spread over the past months so the KPIs (handling time, recovery rate, bad-debt
ratio) show realistic figures, and a few recoveries and write-offs.

Deterministic (seeded per tenant) and idempotent: a tenant that already has claims is left as
it is. Everything goes through the services; only the timestamps of the demo's past steps are
moved back afterwards. Call it after `policies.demo.seed_demo_policies`.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from buyers.models import Buyer
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Role
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from policies.models import OverdueNotification

from . import services
from .models import Claim, Recovery

# The states the demo's claims end in, in the order they are filed (oldest first).
PLAN = [
    "paid", "paid", "paid", "paid", "paid", "rejected", "withdrawn", "partially_approved",
    "approved", "under_review", "under_review", "submitted", "submitted", "draft", "draft",
]  # fmt: skip


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


def seed_demo_claims(*, tenant: Tenant, as_of: date) -> bool:
    """Seed claims for `tenant`; returns False when it already had claims (or no notices)."""
    rng = random.Random(f"creditguard-claims-{tenant.slug}")
    with tenant_context(tenant):
        if Claim.objects.exists():
            return False
        manager = (
            Membership.objects.filter(role__in=[Role.CREDIT_MANAGER, Role.ADMIN])
            .select_related("user")
            .order_by("role", "pk")
            .first()
        )
        actor = manager.user if manager else None
        # Notified invoices past their waiting period (6 months for the demo's policies) and
        # not yet past their claim deadline: those a policyholder would claim now.
        due_window = (as_of - timedelta(days=265), as_of - timedelta(days=185))
        notices = list(
            OverdueNotification.objects.filter(
                status="sent",
                items__due_date__range=due_window,
                items__invoice__status__in=["open", "partially_paid"],
            )
            .distinct()
            .select_related("policy", "buyer")
            .order_by("sent_on", "pk")
        )
        insolvent = {
            buyer.pk for buyer in Buyer.objects.filter(status=Buyer.Status.INSOLVENT).only("pk")
        }
        filed = 0
        seen: set[int] = set()
        for notice in notices:
            if filed == len(PLAN):
                break
            if notice.buyer_id in seen:
                continue
            outcome = PLAN[filed]
            cause = "insolvency" if notice.buyer_id in insolvent else "protracted_default"
            # The loss is dated two months after the notification, at least three months ago.
            sent_on = notice.sent_on or as_of
            loss_date = min(sent_on + timedelta(days=60), as_of - timedelta(days=90))
            try:
                claim = services.claim_from_notification(
                    tenant=tenant,
                    actor=actor,
                    notification=notice,
                    cause=cause,
                    loss_date=loss_date,
                )
            except ValidationError:
                continue  # nothing of it is still open
            if outcome in ("paid", "approved", "partially_approved") and not (
                claim.indemnity_amount > 0
            ):
                services.claim_withdraw(
                    tenant=tenant, actor=actor, claim=claim, comment="Nothing eligible to claim."
                )
                seen.add(notice.buyer_id)
                continue
            seen.add(notice.buyer_id)
            _advance(rng, tenant=tenant, actor=actor, claim=claim, outcome=outcome, as_of=as_of)
            filed += 1
        return filed > 0


def _advance(
    rng: random.Random,
    *,
    tenant: Tenant,
    actor: User | None,
    claim: Claim,
    outcome: str,
    as_of: date,
) -> None:
    """Take `claim` to `outcome`, then date its steps back as if they had taken their time."""
    if outcome == "draft":
        return
    if outcome == "withdrawn":
        services.claim_withdraw(
            tenant=tenant, actor=actor, claim=claim, comment="Buyer paid after all."
        )
        return
    claim = services.claim_submit(tenant=tenant, actor=actor, claim=claim)
    if outcome == "submitted":
        return
    claim = services.claim_start_review(tenant=tenant, actor=actor, claim=claim)
    if outcome == "under_review":
        return
    if outcome == "rejected":
        services.claim_decide(
            tenant=tenant,
            actor=actor,
            claim=claim,
            decision="rejected",
            comment="Overdue notified after the deadline; the insurer declines.",
        )
        return
    partial = outcome == "partially_approved"
    approved = (claim.indemnity_amount * Decimal("0.8")).quantize(Decimal("0.01"))
    claim = services.claim_decide(
        tenant=tenant,
        actor=actor,
        claim=claim,
        decision="partially_approved" if partial else "approved",
        approved_amount=approved if partial else None,
        insurer_reference=f"CLM-{rng.randint(100000, 999999)}",
        comment="One delivery fell outside the cover." if partial else "",
    )
    if outcome != "paid":
        return
    # Paid in the past: submitted 5–20 days after the loss, paid 25–75 days later.
    submitted = min(claim.loss_date + timedelta(days=rng.randint(5, 20)), as_of)
    paid_on = min(submitted + timedelta(days=rng.randint(25, 75)), as_of)
    claim = services.claim_mark_paid(
        tenant=tenant,
        actor=actor,
        claim=claim,
        paid_amount=claim.approved_amount or claim.indemnity_amount,
        paid_on=paid_on,
    )
    Claim.objects.filter(pk=claim.pk).update(
        submitted_at=_at(submitted),
        review_started_at=_at(submitted + timedelta(days=3)),
        decided_at=_at(paid_on - timedelta(days=5)),
        paid_at=_at(paid_on),
    )
    claim.refresh_from_db()
    loss = claim.claimed_amount
    if not Recovery.objects.exists() or rng.random() < 0.5:  # the first paid claim has one
        services.recovery_record(
            tenant=tenant,
            actor=actor,
            claim=claim,
            received_on=paid_on,
            amount=(loss * Decimal("0.15")).quantize(Decimal("0.01")),
            source="estate" if claim.cause == "insolvency" else "buyer",
            note="First distribution." if claim.cause == "insolvency" else "Partial payment.",
        )
    recovered = sum((r.amount for r in claim.recoveries.all()), Decimal(0))
    uninsured = loss - (claim.paid_amount or Decimal(0)) - recovered
    if uninsured > 0 and rng.random() < 0.5:
        services.write_off_record(
            tenant=tenant,
            actor=actor,
            claim=claim,
            amount=(uninsured * Decimal("0.5")).quantize(Decimal("0.01")),
            written_off_on=paid_on,
            reason="Uninsured part deemed irrecoverable.",
        )
