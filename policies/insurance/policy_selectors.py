"""Reads for insurance policies and the cover under them: the policies, the cover table of a
policy (cover in force, pending change), the evidence of the DCL rules, and the cover in force
as an ORM expression (`in_force_amount`).

The rules themselves have one owner each: terms in force and scope in `scope`, the cover in
force and effective dates in `cover`, the DCL in `dcl`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from buyers.models import Buyer, FinancialStatement, Invoice
from buyers.receivables import PAID_INVOICE_STATUS
from creditguard.reference.fx import MissingRate, convert
from creditguard.reference.selectors import fx_rates_on

if TYPE_CHECKING:
    from .kpis import BuyerCoverage

from ..models import CoverDecision, CreditLimit, InsurancePolicy, InsurerCover, PolicyVersion
from . import cover as cover_rules
from .dcl import DclEvidence

CENT = Decimal("0.01")
ZERO = Decimal("0")
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=2)


# --- Policies --------------------------------------------------------------------------------


def insurance_policies() -> QuerySet[InsurancePolicy]:
    return InsurancePolicy.objects.select_related("created_by").order_by("insurer", "number", "id")


def policy_choices_for_buyer_list(sender: object, **kwargs: object) -> list[tuple[int, str]]:
    """Receiver of `buyers.signals.buyer_list_policies`: the active tenant's policies."""
    return [(policy.pk, str(policy)) for policy in insurance_policies()]


def policy_versions(policy: InsurancePolicy) -> QuerySet[PolicyVersion]:
    """The versions of `policy`, newest effective first (the history of its terms)."""
    return (
        PolicyVersion.objects.filter(policy=policy)
        .select_related("created_by")
        .order_by("-effective_from", "-version")
    )


# --- Cover in force --------------------------------------------------------------------------


def in_force_amount(*, as_of: date, cover_ref: str = "pk") -> Subquery:
    """SQL expression: the amount in force on `as_of` of the cover `OuterRef(cover_ref)`, in
    the cover's currency — `cover.amount_in_force` (the latest decision effective on or before
    `as_of`; nothing after a withdrawal, refusal or expiry, or past its expiry date), NULL for a
    cover without a decision effective yet."""
    latest = (
        CoverDecision.objects.filter(cover_id=OuterRef(cover_ref), effective_date__lte=as_of)
        .order_by("-effective_date", "-id")
        .annotate(
            in_force=Case(
                When(
                    Q(kind__in=sorted(cover_rules.ENDING)) | Q(expiry_date__lt=as_of),
                    then=Value(ZERO),
                ),
                default=F("amount"),
                output_field=MONEY_FIELD,
            )
        )
        .values("in_force")[:1]
    )
    return Subquery(latest, output_field=MONEY_FIELD)


def figures_of(decisions: Sequence[CoverDecision]) -> list[cover_rules.DecisionFigure]:
    return [
        cover_rules.DecisionFigure(
            id=decision.pk,
            kind=decision.kind,
            amount=decision.amount,
            effective_date=decision.effective_date,
            expiry_date=decision.expiry_date,
        )
        for decision in decisions
    ]


@dataclass
class CoverRow:
    """One buyer of a policy's cover table."""

    buyer: Buyer
    cover: InsurerCover | None
    in_force: Decimal  # on `as_of`, in the cover's currency
    currency: str
    latest: CoverDecision | None  # the latest decision recorded
    pending: CoverDecision | None  # the next decision that takes effect after `as_of`
    in_scope: bool
    # Its open invoices under the policy, from the last sweep (`kpis.buyer_coverage`).
    figure: BuyerCoverage | None = None

    @property
    def kind(self) -> str | None:
        return self.cover.kind if self.cover else None


def cover_rows(
    *, policy: InsurancePolicy, buyers: Sequence[Buyer], as_of: date, in_scope: bool = True
) -> list[CoverRow]:
    """The cover of `buyers` by the policy's insurer, in three queries."""
    ids = [buyer.pk for buyer in buyers]
    covers = {
        cover.buyer_id: cover
        for cover in InsurerCover.objects.filter(buyer_id__in=ids).filter(
            Q(policy=policy) | Q(policy__isnull=True, insurer__iexact=policy.insurer)
        )
    }
    decisions: dict[int, list[CoverDecision]] = defaultdict(list)
    for decision in CoverDecision.objects.filter(
        cover_id__in=[cover.pk for cover in covers.values()]
    ).order_by("effective_date", "id"):
        decisions[decision.cover_id].append(decision)
    rows = []
    for buyer in buyers:
        cover = covers.get(buyer.pk)
        history = decisions.get(cover.pk, []) if cover else []
        future = [decision for decision in history if decision.effective_date > as_of]
        rows.append(
            CoverRow(
                buyer=buyer,
                cover=cover,
                in_force=cover_rules.amount_in_force(figures_of(history), as_of),
                currency=cover.currency if cover else policy.currency,
                latest=max(history, key=lambda d: (d.decision_date, d.pk), default=None),
                pending=future[0] if future else None,
                in_scope=in_scope,
            )
        )
    return rows


def covers_out_of_scope(
    *, policy: InsurancePolicy, in_scope_ids: QuerySet[Buyer], as_of: date
) -> list[CoverRow]:
    """Covers attached to the policy whose buyer it does not cover (any more)."""
    buyers = list(
        Buyer.objects.filter(insurer_covers__policy=policy)
        .exclude(pk__in=in_scope_ids.values("pk"))
        .select_related("country")
        .order_by("legal_name", "id")
        .distinct()
    )
    return cover_rows(policy=policy, buyers=buyers, as_of=as_of, in_scope=False)


def cover_history(cover: InsurerCover) -> QuerySet[CoverDecision]:
    """The decisions on a cover, newest first (by effective date, then as recorded)."""
    return CoverDecision.objects.filter(cover=cover).order_by("-effective_date", "-id")


# --- DCL evidence ----------------------------------------------------------------------------


def on_time_q(*, as_of: date, lookback_days: int) -> Q:
    """`dcl.paid_on_time` for invoices."""
    return Q(
        status=PAID_INVOICE_STATUS,
        paid_date__isnull=False,
        paid_date__gte=as_of - timedelta(days=lookback_days),
        paid_date__lte=as_of,
    ) & Q(paid_date__lte=F("due_date"))


def dcl_evidence(
    *, policy: InsurancePolicy, version: PolicyVersion, buyer_ids: Sequence[int], as_of: date
) -> dict[int, DclEvidence]:
    """The evidence the DCL rules are checked on, per buyer, as known on `as_of`: the date the
    newest financial statement was recorded (the credit report), the invoices paid on time in
    the lookback, and the active own credit limit in the policy currency (rounded down to the
    cent; None when there is none or no rate converts it)."""
    ids = list(buyer_ids)
    if not ids:
        return {}
    reports = dict(
        FinancialStatement.objects.filter(buyer_id__in=ids, created_at__date__lte=as_of)
        .values("buyer_id")
        .annotate(latest=Max("created_at"))
        .values_list("buyer_id", "latest")
    )
    payments = dict(
        Invoice.objects.filter(buyer_id__in=ids)
        .filter(on_time_q(as_of=as_of, lookback_days=version.dcl_payment_lookback_days))
        .values("buyer_id")
        .annotate(count=Count("id"))
        .values_list("buyer_id", "count")
    )
    rates = fx_rates_on(as_of)
    limits: dict[int, Decimal | None] = {}
    for buyer_id, amount, currency in (
        CreditLimit.objects.filter(buyer_id__in=ids, status=CreditLimit.Status.ACTIVE)
        .filter(expiry_date__gte=as_of)
        .values_list("buyer_id", "amount", "currency")
    ):
        try:
            converted = convert(
                amount, from_currency=currency, to_currency=policy.currency, units_per_eur=rates
            )
        except MissingRate:
            limits[buyer_id] = None
            continue
        limits[buyer_id] = converted.quantize(CENT, rounding=ROUND_DOWN)
    return {
        buyer_id: DclEvidence(
            credit_report_date=(
                timezone.localtime(reports[buyer_id]).date() if buyer_id in reports else None
            ),
            on_time_payments=payments.get(buyer_id, 0),
            own_limit=limits.get(buyer_id),
        )
        for buyer_id in ids
    }
