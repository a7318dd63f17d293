"""Insurer cover: the insurer's credit limit decision on a buyer, recorded or changed.

The edge (API serializer or page form) parses the input into `CoverTerms`; the service checks
the rules that need the whole cover or the database and trusts the values otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from buyers.models import Buyer
from creditguard.audit.services import audit_changes, snapshot
from creditguard.tenancy.models import Tenant

from ..models import InsurerCover

if TYPE_CHECKING:
    from creditguard.audit.services import Actor


@dataclass(frozen=True)
class CoverTerms:
    """One insurer decision, as the API and the cover page parse it (currency upper-case)."""

    insurer: str
    amount: Decimal
    currency: str
    decision_date: date
    policy_number: str = ""
    decision_reference: str = ""
    expiry_date: date | None = None
    status: str = InsurerCover.Status.GRANTED
    notes: str = ""

    @classmethod
    def of(cls, cover: InsurerCover, **changes: Any) -> CoverTerms:
        """The terms of `cover` with `changes` applied (a partial update)."""
        current = {field.name: getattr(cover, field.name) for field in dataclasses.fields(cls)}
        return cls(**{**current, **changes})


COVER_FIELDS = [field.name for field in dataclasses.fields(CoverTerms)]


@transaction.atomic
def insurer_cover_save(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer: Buyer,
    terms: CoverTerms,
    cover: InsurerCover | None = None,
) -> InsurerCover:
    """Record an insurer's decision on a buyer, or replace the terms of `cover`."""
    if terms.expiry_date is not None and terms.expiry_date < terms.decision_date:
        raise ValidationError({"expiry_date": [_("The cover cannot expire before the decision.")]})
    clash = InsurerCover.objects.filter(buyer=buyer, insurer__iexact=terms.insurer)
    if cover is not None:
        clash = clash.exclude(pk=cover.pk)
    if clash.exists():
        raise ValidationError(
            {"insurer": [_("This insurer already has a cover on this buyer; change that one.")]}
        )
    current = snapshot(cover, COVER_FIELDS) if cover else {}
    if cover is None:
        cover = InsurerCover(tenant=tenant, buyer=buyer)
    for name, value in dataclasses.asdict(terms).items():
        setattr(cover, name, value)
    cover.save()
    audit_changes(
        tenant=tenant,
        actor=actor,
        action="insurer_cover.update" if current else "insurer_cover.create",
        obj=cover,
        before=current,
        after=snapshot(cover, COVER_FIELDS),
    )
    return cover
