"""Reads for the buyer credit file and the portfolio, in the tenant's base currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum

from creditguard.dates import today
from creditguard.reference.fx import CENT
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.models import Tenant

from . import ledger, receivables
from .ledger import OPEN_STATUSES as OPEN_STATUSES  # re-exported for forms and views
from .models import Buyer, Dispute, FinancialStatement, Invoice, PaymentPlan

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

ZERO = Decimal("0")
BUYER_ORDERINGS = {
    "name": "legal_name",
    "-name": "-legal_name",
    "exposure": "exposure",
    "-exposure": "-exposure",
    "overdue": "overdue",
    "-overdue": "-overdue",
    "country": "country__name",
    "-country": "-country__name",
    "updated": "updated_at",
    "-updated": "-updated_at",
}


class ReceivablesFigures(TypedDict):
    """The annotations of `buyers_with_exposure` (`ledger.receivables_annotations`)."""

    exposure: Decimal
    overdue: Decimal
    open_invoices: int


def buyers_with_exposure(
    *, tenant: Tenant, as_of: date | None = None
) -> QuerySet[WithAnnotations[Buyer, ReceivablesFigures]]:
    """Buyers annotated with exposure, overdue amount and open invoice count (base currency)."""
    as_of = as_of or today()
    factors = ledger.base_factors(fx_rates_on(as_of), base=tenant.base_currency)
    figures = ledger.receivables_annotations(factors=factors, as_of=as_of)
    return Buyer.objects.select_related("country").annotate(
        exposure=figures["exposure"],
        overdue=figures["overdue"],
        open_invoices=figures["open_invoices"],
    )


def buyer_list(
    *,
    tenant: Tenant,
    search: str = "",
    country: str = "",
    sector: str = "",
    status: str = "",
    ordering: str = "name",
) -> QuerySet[Buyer]:
    buyers = buyers_with_exposure(tenant=tenant)
    if search:
        buyers = buyers.filter(
            Q(legal_name__icontains=search)
            | Q(erp_reference__iexact=search)
            | Q(registration_number__iexact=search)
            | Q(vat_number__iexact=search)
        )
    if country:
        buyers = buyers.filter(country_id=country)
    if sector:
        buyers = buyers.filter(nace_section=sector)
    if status:
        buyers = buyers.filter(status=status)
    return buyers.order_by(BUYER_ORDERINGS.get(ordering, "legal_name"), "id")


@dataclass(frozen=True)
class StatementView:
    statement: FinancialStatement
    ratios: dict[str, Decimal | None]


@dataclass(frozen=True)
class PlanView:
    plan: PaymentPlan
    summary: receivables.PaymentPlanSummary


@dataclass
class CreditFile:
    """Everything the buyer page and the credit-file API show, figures in base currency."""

    buyer: Buyer
    as_of: date
    currency: str
    exposure: Decimal
    overdue: Decimal
    disputed: Decimal
    aging: dict[str, Decimal]
    dso: Decimal | None
    days_beyond_terms: Decimal | None
    statements: list[StatementView]
    payment_plans: list[PlanView]
    group_members: list[Buyer] = field(default_factory=list)
    group_exposure: Decimal = ZERO
    unconverted_currencies: set[str] = field(default_factory=set)


def buyer_credit_file(*, tenant: Tenant, buyer: Buyer, as_of: date | None = None) -> CreditFile:
    as_of = as_of or today()
    base = tenant.base_currency
    factors = ledger.base_factors(fx_rates_on(as_of), base=base)
    invoices = Invoice.objects.filter(buyer=buyer)
    open_items = ledger.open_items(invoices, factors=factors)
    settled = ledger.settled_items(invoices, factors=factors, as_of=as_of)
    exposure = receivables.exposure(open_items)
    disputed = _open_disputes(buyer=buyer, factors=factors)
    sales = ledger.credit_sales(invoices, factors=factors, as_of=as_of).get(buyer.pk, ZERO)
    statements = [
        StatementView(
            statement=statement,
            ratios=receivables.financial_ratios(
                revenue=statement.revenue,
                ebit=statement.ebit,
                net_income=statement.net_income,
                total_assets=statement.total_assets,
                current_assets=statement.current_assets,
                current_liabilities=statement.current_liabilities,
                total_liabilities=statement.total_liabilities,
                equity=statement.equity,
            ),
        )
        for statement in buyer.financials.all()[:5]
    ]
    plans = [
        PlanView(
            plan=plan,
            summary=receivables.payment_plan_summary(ledger.plan_instalments(plan), as_of=as_of),
        )
        for plan in buyer.payment_plans.prefetch_related("instalments")
    ]
    members = group_members(buyer=buyer)
    group_exposure = ZERO
    if len(members) > 1:
        group_exposure = (
            buyers_with_exposure(tenant=tenant, as_of=as_of)
            .filter(pk__in=[member.pk for member in members])
            .aggregate(total=Sum("exposure"))["total"]
            or ZERO
        )
    return CreditFile(
        buyer=buyer,
        as_of=as_of,
        currency=base,
        exposure=exposure,
        overdue=receivables.overdue_amount(open_items, as_of=as_of),
        disputed=disputed,
        aging=receivables.aging(open_items, as_of=as_of),
        dso=receivables.dso(receivables=exposure, credit_sales=sales),
        days_beyond_terms=receivables.days_beyond_terms(
            settled=settled, open_items=open_items, as_of=as_of
        ),
        statements=statements,
        payment_plans=plans,
        group_members=members,
        group_exposure=group_exposure.quantize(CENT),
        unconverted_currencies=ledger.unconverted_currencies(invoices, factors=factors),
    )


def _open_disputes(*, buyer: Buyer | None, factors: dict[str, Decimal]) -> Decimal:
    """What is in dispute: the open disputes' amounts (capped at what the invoice still owes);
    an invoice the ERP marked disputed without a dispute record counts in full."""
    disputes = Dispute.objects.filter(status=Dispute.Status.OPEN)
    invoices = Invoice.objects.filter(ledger.open_q() & ledger.disputed_q())
    if buyer is not None:
        disputes, invoices = disputes.filter(buyer=buyer), invoices.filter(buyer=buyer)
    per_invoice = (
        disputes.filter(invoice=OuterRef("pk"))
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    total = ZERO
    for amount, paid, currency, disputed in invoices.annotate(
        disputed=Subquery(per_invoice)
    ).values_list("amount", "paid_amount", "currency", "disputed"):
        if currency in factors:
            outstanding = amount - paid
            total += receivables.to_base(
                min(disputed or outstanding, outstanding), factors[currency]
            )
    for currency, amount in disputes.filter(invoice__isnull=True).values_list("currency", "amount"):
        if currency in factors:
            total += receivables.to_base(amount, factors[currency])
    return total


def group_members(*, buyer: Buyer, max_depth: int = 6) -> list[Buyer]:
    """The buyer's whole group: its top parent and every company below it."""
    root = buyer
    for _level in range(max_depth):
        if root.parent_id is None:
            break
        root = Buyer.objects.get(pk=root.parent_id)
    members = [root]
    frontier = [root.pk]
    for _level in range(max_depth):
        children = list(Buyer.objects.filter(parent_id__in=frontier))
        if not children:
            break
        members.extend(children)
        frontier = [child.pk for child in children]
    return members


@dataclass(frozen=True)
class PortfolioSummary:
    currency: str
    as_of: date
    buyer_count: int
    exposure: Decimal
    overdue: Decimal
    disputed: Decimal
    aging: dict[str, Decimal]
    dso: Decimal | None
    top_countries: list[tuple[str, Decimal]]


def portfolio_summary(*, tenant: Tenant, as_of: date | None = None) -> PortfolioSummary:
    """Aging and exposure over every open invoice: one grouped query in base currency."""
    as_of = as_of or today()
    factors = ledger.base_factors(fx_rates_on(as_of), base=tenant.base_currency)
    aging = dict.fromkeys(receivables.AGING_BUCKET_KEYS, ZERO)
    by_country: dict[str, Decimal] = {}
    rows = (
        ledger.open_invoices()
        .values(bucket=ledger.aging_bucket(as_of=as_of), country=F("buyer__country_id"))
        .annotate(outstanding_base=Sum(ledger.outstanding_in_base(factors)))
        .values_list("bucket", "country", "outstanding_base")
    )
    for bucket, country, outstanding in rows:
        if outstanding is None:
            continue
        aging[bucket] += outstanding
        by_country[country] = by_country.get(country, ZERO) + outstanding
    exposure = sum(aging.values(), ZERO)
    sales = sum(
        ledger.credit_sales(Invoice.objects.all(), factors=factors, as_of=as_of).values(), ZERO
    )
    return PortfolioSummary(
        currency=tenant.base_currency,
        as_of=as_of,
        buyer_count=Buyer.objects.count(),
        exposure=exposure,
        overdue=exposure - aging["current"],
        disputed=_open_disputes(buyer=None, factors=factors),
        aging=aging,
        dso=receivables.dso(receivables=exposure, credit_sales=sales),
        top_countries=sorted(by_country.items(), key=lambda item: item[1], reverse=True)[:8],
    )
