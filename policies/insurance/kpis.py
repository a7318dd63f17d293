"""Insurance KPIs (selectors): how much of the receivables is protected, what is not, and what the
protection costs. Read from the last coverage sweep (`InvoiceCoverage`, written daily by
`policies.services.coverage.coverage_sweep`): the figures are "as of" the last sweep
(`last_sweep_on`), except the portfolio's total exposure, which is the live ledger figure.

Definitions (amounts in the tenant's base currency):

- **total exposure**: for the portfolio, the ledger exposure of every open invoice
  (`buyers.ledger`, rates of ``as_of``), insured or not; for one policy, the outstanding of the
  open invoices under it.
- **insured**, **over cover**, **cover lost**: sums over the sweep's rows (cover lost: the
  outstanding of invoices whose cover was lost by a missed notification deadline).
- **uninsured** = total exposure − insured (never below 0): for the portfolio this includes the
  invoices under no policy.
- **protected share** = insured ÷ total exposure (a fraction; None without exposure).
- **premium as a share of insured turnover** = premium of the policy year ÷ insured turnover
  declared in it. The policy year is the period of the terms in force on ``as_of``; its premium
  is the premium of the policy's SUBMITTED declarations of periods starting in it plus their
  adjustments; the insured turnover is the declared amount (plus adjustments) of those of them
  on the turnover basis. None when nothing has been declared on turnover. For the portfolio,
  both are converted to the base currency (rates of ``as_of``) and added over policies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from buyers import ledger, receivables
from buyers.models import Invoice
from creditguard.audit.models import AuditEvent
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.models import Tenant

from ..models import (
    Declaration,
    DeclarationAdjustment,
    InsurancePolicy,
    InvoiceCoverage,
    PremiumBasis,
)
from ..services.coverage import SWEEP_ACTION
from .scope import version_in_force, versions_in_force

ZERO: Final = Decimal("0.00")
SHARE_PLACES: Final = Decimal("0.0001")
RATE_PLACES: Final = Decimal("0.000001")


@dataclass(frozen=True)
class InsuranceKpis:
    as_of: date
    last_sweep: date | None  # the figures from InvoiceCoverage are as of this day
    currency: str
    total_exposure: Decimal
    insured: Decimal
    uninsured: Decimal
    over_cover: Decimal
    cover_lost: Decimal
    protected_share: Decimal | None  # fraction: 0.8512 = 85.12 %
    premium: Decimal | None  # premium of the policy year(s), base currency
    insured_turnover: Decimal | None
    premium_share_of_turnover: Decimal | None  # fraction: 0.0021 = 0.21 %
    policy_id: int | None = None
    invoices: int = 0  # open invoices under a policy (sweep rows)


def last_sweep_on(*, tenant: Tenant) -> date | None:
    """The day the last coverage sweep of ``tenant`` computed (its audit event)."""
    event = (
        AuditEvent.objects.filter(tenant=tenant, action=SWEEP_ACTION)
        .order_by("-id")
        .values_list("after", flat=True)
        .first()
    )
    if not isinstance(event, dict) or not isinstance(event.get("as_of"), str):
        return None
    return date.fromisoformat(event["as_of"])


def _share(part: Decimal, whole: Decimal | None, places: Decimal) -> Decimal | None:
    if whole is None or whole <= 0:
        return None
    return (part / whole).quantize(places)


@dataclass(frozen=True)
class _Sums:
    outstanding: Decimal
    insured: Decimal
    over_cover: Decimal
    cover_lost: Decimal
    invoices: int


@dataclass(frozen=True)
class BuyerCoverage:
    """A buyer's open invoices under a policy, from the last sweep (tenant base currency)."""

    outstanding: Decimal
    insured: Decimal
    uninsured: Decimal
    over_cover: Decimal
    cover_lost: Decimal


def buyer_coverage(*, policy: InsurancePolicy, buyer_ids: list[int]) -> dict[int, BuyerCoverage]:
    """Insured, uninsured and over-cover exposure of `buyer_ids` under `policy` (one query)."""
    money = ledger.MONEY_FIELD
    rows = (
        InvoiceCoverage.objects.filter(policy=policy, buyer_id__in=buyer_ids)
        .values("buyer_id")
        .annotate(
            total_outstanding=Sum("outstanding"),
            total_insured=Sum("insured"),
            total_uninsured=Sum("uninsured"),
            total_over_cover=Sum("over_cover"),
            total_cover_lost=Coalesce(
                Sum("outstanding", filter=Q(cover_lost=True)), ZERO, output_field=money
            ),
        )
    )
    return {
        row["buyer_id"]: BuyerCoverage(
            outstanding=row["total_outstanding"],
            insured=row["total_insured"],
            uninsured=row["total_uninsured"],
            over_cover=row["total_over_cover"],
            cover_lost=row["total_cover_lost"],
        )
        for row in rows
    }


def _coverage_sums(rows: QuerySet[InvoiceCoverage]) -> _Sums:
    money = ledger.MONEY_FIELD
    totals = rows.aggregate(
        total_outstanding=Coalesce(Sum("outstanding"), ZERO, output_field=money),
        total_insured=Coalesce(Sum("insured"), ZERO, output_field=money),
        total_over_cover=Coalesce(Sum("over_cover"), ZERO, output_field=money),
        total_cover_lost=Coalesce(
            Sum("outstanding", filter=Q(cover_lost=True)), ZERO, output_field=money
        ),
        invoice_count=Count("id"),
    )
    return _Sums(
        outstanding=totals["total_outstanding"],
        insured=totals["total_insured"],
        over_cover=totals["total_over_cover"],
        cover_lost=totals["total_cover_lost"],
        invoices=totals["invoice_count"],
    )


@dataclass(frozen=True)
class _Premium:
    premium: Decimal
    turnover: Decimal
    declared_on_turnover: bool


def _policy_year_premium(
    *, policy_id: int, period: tuple[date, date], factors: Mapping[str, Decimal]
) -> _Premium | None:
    """Premium and insured turnover of the policy's submitted declarations in ``period``, in
    base currency; None when a declaration's currency has no rate."""
    declarations = list(
        Declaration.objects.filter(
            policy_id=policy_id,
            status=Declaration.Status.SUBMITTED,
            period_start__gte=period[0],
            period_start__lte=period[1],
        ).values_list("pk", "basis", "declared_amount", "premium", "currency")
    )
    if not declarations:
        return _Premium(premium=ZERO, turnover=ZERO, declared_on_turnover=False)
    adjustments: dict[int, tuple[Decimal, Decimal]] = {
        declaration_id: (amount, premium)
        for declaration_id, amount, premium in DeclarationAdjustment.objects.filter(
            declaration_id__in=[row[0] for row in declarations]
        )
        .values("declaration_id")
        .annotate(amount=Sum("amount_change"), premium=Sum("premium_change"))
        .values_list("declaration_id", "amount", "premium")
    }
    premium = turnover = ZERO
    on_turnover = False
    for declaration_id, basis, declared, declared_premium, currency in declarations:
        factor = factors.get(currency)
        if factor is None:
            return None
        amount_change, premium_change = adjustments.get(declaration_id, (ZERO, ZERO))
        premium += receivables.to_base(declared_premium + premium_change, factor)
        if basis == PremiumBasis.TURNOVER:
            on_turnover = True
            turnover += receivables.to_base(declared + amount_change, factor)
    return _Premium(premium=premium, turnover=turnover, declared_on_turnover=on_turnover)


def _premium_totals(
    premiums: Iterable[_Premium | None],
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    premium = turnover = ZERO
    on_turnover = False
    for figure in premiums:
        if figure is None:  # a policy in a currency without a rate: not computable
            return None, None, None
        premium += figure.premium
        turnover += figure.turnover
        on_turnover = on_turnover or figure.declared_on_turnover
    if not on_turnover:
        return premium, None, None
    return premium, turnover, _share(premium, turnover, RATE_PLACES)


def policy_kpis(*, tenant: Tenant, policy: InsurancePolicy, as_of: date) -> InsuranceKpis:
    """The KPIs of one policy (its open invoices, its policy year's premium)."""
    sums = _coverage_sums(InvoiceCoverage.objects.filter(policy=policy))
    version = version_in_force(policy=policy, on=as_of)
    factors = ledger.base_factors(fx_rates_on(as_of), base=tenant.base_currency)
    premium: _Premium | None = _Premium(ZERO, ZERO, declared_on_turnover=False)
    if version is not None:
        premium = _policy_year_premium(
            policy_id=policy.pk,
            period=(version.period_start, version.period_end),
            factors=factors,
        )
    total_premium, turnover, rate = _premium_totals([premium])
    return InsuranceKpis(
        as_of=as_of,
        last_sweep=last_sweep_on(tenant=tenant),
        currency=tenant.base_currency,
        total_exposure=sums.outstanding,
        insured=sums.insured,
        uninsured=max(sums.outstanding - sums.insured, ZERO),
        over_cover=sums.over_cover,
        cover_lost=sums.cover_lost,
        protected_share=_share(sums.insured, sums.outstanding, SHARE_PLACES),
        premium=total_premium,
        insured_turnover=turnover,
        premium_share_of_turnover=rate,
        policy_id=policy.pk,
        invoices=sums.invoices,
    )


def portfolio_insurance_kpis(
    *, tenant: Tenant, as_of: date, exposure: Decimal | None = None
) -> InsuranceKpis:
    """The KPIs of the whole portfolio: every open invoice against what the policies insure.

    ``exposure``: the portfolio's ledger exposure when the caller has it already (the
    dashboard's BuyerFigures), which spares reading the invoices.
    """
    factors = ledger.base_factors(fx_rates_on(as_of), base=tenant.base_currency)
    if exposure is None:
        exposure = Invoice.objects.filter(ledger.open_q()).aggregate(
            total=Coalesce(
                Sum(ledger.outstanding_in_base(factors)), ZERO, output_field=ledger.MONEY_FIELD
            )
        )["total"]
    sums = _coverage_sums(InvoiceCoverage.objects.all())
    premiums = [
        _policy_year_premium(
            policy_id=policy_id,
            period=(version.period_start, version.period_end),
            factors=factors,
        )
        for policy_id, version in versions_in_force(on=as_of).items()
    ]
    total_premium, turnover, rate = _premium_totals(premiums)
    return InsuranceKpis(
        as_of=as_of,
        last_sweep=last_sweep_on(tenant=tenant),
        currency=tenant.base_currency,
        total_exposure=exposure,
        insured=sums.insured,
        uninsured=max(exposure - sums.insured, ZERO),
        over_cover=sums.over_cover,
        cover_lost=sums.cover_lost,
        protected_share=_share(sums.insured, exposure, SHARE_PLACES),
        premium=total_premium if premiums else None,
        insured_turnover=turnover,
        premium_share_of_turnover=rate,
        invoices=sums.invoices,
    )
