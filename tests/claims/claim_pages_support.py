"""Builders for the claim page and dossier tests: a sent overdue notification for a Chinese
buyer under a policy with terms, and a claim drafted from it (create with the tenant active)."""

from __future__ import annotations

from datetime import timedelta

from claims import services
from claims.models import Claim
from policies.models import OverdueNotification
from policies.services import overdue_notifications as notification_services
from tests.factories import InsurerCoverFactory
from tests.insurance.notification_support import (
    AS_OF,
    chinese_buyer,
    covered_invoice,
    policy_with_terms,
)


def sent_notification(tenant, actor) -> OverdueNotification:
    policy = policy_with_terms(tenant)
    buyer = chinese_buyer(tenant)
    InsurerCoverFactory(
        buyer=buyer,
        policy=policy,
        insurer=policy.insurer,
        decision_date=AS_OF - timedelta(days=300),
    )
    covered_invoice(policy, buyer, due_days_ago=50, number="INV-2027-0042")
    covered_invoice(policy, buyer, due_days_ago=55, number="INV-2027-0043", amount="500.00")
    notification_services.overdue_notifications_propose(tenant=tenant, as_of=AS_OF)
    notification = OverdueNotification.objects.get(buyer=buyer)
    notification_services.notification_review(
        tenant=tenant, actor=actor, notification=notification, notes=""
    )
    notification_services.notification_mark_sent(
        tenant=tenant,
        actor=actor,
        notification=notification,
        sent_on=AS_OF,
        insurer_reference="TL-1",
    )
    notification.refresh_from_db()
    return notification


def drafted_claim(tenant, actor, notification: OverdueNotification) -> Claim:
    return services.claim_create(
        tenant=tenant,
        actor=actor,
        policy=notification.policy,
        buyer=notification.buyer,
        cause=Claim.Cause.INSOLVENCY,
        loss_date=AS_OF - timedelta(days=1),
        invoice_ids=list(notification.items.values_list("invoice_id", flat=True)),
        notes="Buyer filed for insolvency.",
    )
