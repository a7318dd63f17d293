"""Policies' columns of `buyers.BuyerFigures`: the own limit in force, the insurer cover in
force, the insured part of the exposure and the covering policy (registered in
`PoliciesConfig.ready`; buyers never imports policies)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db.models import DecimalField, F, Min, Q, Sum
from django.db.models.functions import Round

from buyers.figures import FigureContext, SourceRows
from creditguard.reference.selectors import fx_factor

from .insurance.policy_selectors import in_force_amount
from .models import CreditLimit, InsurerCover, InvoiceCoverage
from .selectors import USABLE_LIMIT_STATUSES

MONEY_FIELD = DecimalField(max_digits=24, decimal_places=2)


def figures_from_policies(context: FigureContext, buyer_ids: Sequence[int]) -> list[SourceRows]:
    rates = dict(context.rates)
    factor = fx_factor(rates, to_currency=context.tenant.base_currency)
    # The buyer's one limit (creditlimit_one_per_buyer), in force while active or blocked
    # (`USABLE_LIMIT_STATUSES`), in base currency.
    limits = (
        CreditLimit.unscoped.filter(
            tenant=context.tenant, buyer_id__in=buyer_ids, status__in=USABLE_LIMIT_STATUSES
        )
        .annotate(
            credit_limit=Round(F("amount") * factor, 2, output_field=MONEY_FIELD),
            limit_blocked=Q(status=CreditLimit.Status.BLOCKED),
        )
        .values("buyer_id", "credit_limit", "limit_blocked")
    )
    # The cover in force from the decisions (`insurance.cover`, as the limits overview reads
    # it); NULL when nothing is in force. The covering policy: of a cover in force.
    in_force = in_force_amount(as_of=context.as_of)
    covers = (
        InsurerCover.unscoped.filter(tenant=context.tenant, buyer_id__in=buyer_ids)
        .annotate(in_force=in_force, in_force_base=Round(F("in_force") * factor, 2))
        .values("buyer_id")
        .annotate(
            cover=Sum("in_force_base", filter=Q(in_force__gt=0), output_field=MONEY_FIELD),
            # Named after the figures column; grouped rows, so no clash with the model's field.
            policy_id=Min("policy_id", filter=Q(in_force__gt=0)),  # type: ignore[no-redef]
        )
        .order_by()
    )
    # The insured part of the exposure as the daily coverage sweep split it.
    insured = (
        InvoiceCoverage.unscoped.filter(tenant=context.tenant, buyer_id__in=buyer_ids)
        .values("buyer_id")
        .annotate(insured=Sum("insured"))
        .order_by()
    )
    return [
        SourceRows(limits, defaults={"limit_blocked": False}),
        SourceRows(covers),
        SourceRows(insured, defaults={"insured": Decimal("0")}),
    ]
