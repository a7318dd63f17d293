"""Recording what courts, registries and information providers report about buyers."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.audit.services import audit_record
from creditguard.tenancy.models import Tenant

from .events import buyer_risk_changed
from .models import LegalEvent

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

INSOLVENCY_KINDS = {LegalEvent.Kind.INSOLVENCY_FILING, LegalEvent.Kind.INSOLVENCY_PROCEEDINGS}


@transaction.atomic
def legal_event_record(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    kind: str,
    event_date: date,
    description: str = "",
    source: str = "",
) -> LegalEvent:
    """Record the event and re-score the buyer; insolvency also marks the buyer insolvent."""
    if kind not in LegalEvent.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of legal event.")})
    if event_date > timezone.localdate():
        raise ValidationError({"event_date": _("The event date cannot be in the future.")})
    event = LegalEvent.objects.create(
        tenant=tenant,
        buyer=buyer,
        kind=kind,
        event_date=event_date,
        description=description.strip(),
        source=source.strip(),
    )
    if kind in INSOLVENCY_KINDS and buyer.status != Buyer.Status.INSOLVENT:
        previous_status = buyer.status
        buyer.status = Buyer.Status.INSOLVENT
        buyer.save(update_fields=["status", "updated_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="buyer.update",
            obj=buyer,
            before={"status": previous_status},
            after={"status": buyer.status},
        )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="legal_event.record",
        obj=event,
        after={
            "buyer": buyer.erp_reference,
            "kind": kind,
            "event_date": event_date,
            "source": source,
        },
    )
    buyer_risk_changed(tenant_id=tenant.pk, buyer_ids=[buyer.pk], reason="legal_event")
    return event
