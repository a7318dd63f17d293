"""Reads for the buyer credit file and the portfolio, in the tenant's base currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from creditguard.reference.fx import CENT, MissingRate, convert
from creditguard.reference.selectors import fx_factor, fx_rates_on
from creditguard.tenancy.models import Tenant

from . import receivables
from .models import Buyer, Dispute, FinancialStatement, Invoice, PaymentPlan

OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID, Invoice.Status.DISPUTED)
DSO_PERIOD_DAYS = 90
DBT_LOOKBACK_DAYS = 365
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


def today() -> date:
    return timezone.localdate()


def buyers_with_exposure(*, tenant: Tenant, as_of: date | None = None) -> QuerySet[Buyer]:
    """Buyers annotated with exposure, overdue amount and open invoice count (base currency)."""
    as_of = as_of or today()
    factor = fx_factor(
        fx_rates_on(as_of), to_currency=tenant.base_currency, currency_field="invoices__currency"
    )
    outstanding = (F("invoices__amount") - F("invoices__paid_amount")) * factor
    is_open = Q(invoices__status__in=OPEN_STATUSES)
    money = DecimalField(max_digits=24, decimal_places=2)
    return Buyer.objects.select_related("country").annotate(
        exposure=Coalesce(Sum(outstanding, filter=is_open), Value(ZERO), output_field=money),
        overdue=Coalesce(
            Sum(outstanding, filter=is_open & Q(invoices__due_date__lt=as_of)),
            Value(ZERO),
            output_field=money,
        ),
        open_invoices=Count("invoices", filter=is_open),
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


def _to_base(amount: Decimal, currency: str, base: str, rates: dict[str, Decimal]) -> Decimal:
    return convert(amount, from_currency=currency, to_currency=base, units_per_eur=rates)


def buyer_credit_file(*, tenant: Tenant, buyer: Buyer, as_of: date | None = None) -> CreditFile:
    as_of = as_of or today()
    base = tenant.base_currency
    rates = fx_rates_on(as_of)
    unconverted: set[str] = set()

    open_items: list[receivables.OpenItem] = []
    for due_date, amount, paid, currency, status in Invoice.objects.filter(
        buyer=buyer, status__in=OPEN_STATUSES
    ).values_list("due_date", "amount", "paid_amount", "currency", "status"):
        try:
            outstanding = _to_base(amount - paid, currency, base, rates)
        except MissingRate:
            unconverted.add(currency)
            continue
        open_items.append(
            receivables.OpenItem(
                due_date=due_date,
                outstanding=outstanding,
                disputed=status == Invoice.Status.DISPUTED,
            )
        )

    settled: list[receivables.SettledItem] = []
    for issue_date, due_date, paid_date, amount, currency in Invoice.objects.filter(
        buyer=buyer,
        status=Invoice.Status.PAID,
        paid_date__gte=as_of - timedelta(days=DBT_LOOKBACK_DAYS),
    ).values_list("issue_date", "due_date", "paid_date", "amount", "currency"):
        if currency in rates:
            settled.append(
                receivables.SettledItem(
                    issue_date=issue_date,
                    due_date=due_date,
                    paid_date=paid_date,
                    amount=_to_base(amount, currency, base, rates),
                )
            )

    exposure = receivables.exposure(open_items)
    disputed = _open_disputes(buyer=buyer, base=base, rates=rates)
    sales = _invoiced_sales(
        buyer=buyer, since=as_of - timedelta(days=DSO_PERIOD_DAYS), base=base, rates=rates
    )
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
            summary=receivables.payment_plan_summary(
                [
                    receivables.Instalment(
                        due_date=i.due_date,
                        amount=i.amount,
                        paid_amount=i.paid_amount,
                        paid_date=i.paid_date,
                    )
                    for i in plan.instalments.all()
                ],
                as_of=as_of,
            ),
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
        dso=receivables.dso(receivables=exposure, credit_sales=sales, period_days=DSO_PERIOD_DAYS),
        days_beyond_terms=receivables.days_beyond_terms(
            settled=settled, open_items=open_items, as_of=as_of
        ),
        statements=statements,
        payment_plans=plans,
        group_members=members,
        group_exposure=group_exposure.quantize(CENT),
        unconverted_currencies=unconverted,
    )


def _open_disputes(*, buyer: Buyer | None, base: str, rates: dict[str, Decimal]) -> Decimal:
    """What is in dispute: the open disputes' amounts (capped at what the invoice still owes);
    an invoice the ERP marked disputed without a dispute record counts in full."""
    disputes = Dispute.objects.filter(status=Dispute.Status.OPEN)
    invoices = Invoice.objects.filter(status=Invoice.Status.DISPUTED)
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
        if currency in rates:
            outstanding = amount - paid
            total += _to_base(min(disputed or outstanding, outstanding), currency, base, rates)
    for row in (
        disputes.filter(invoice__isnull=True).values("currency").annotate(total=Sum("amount"))
    ):
        if row["currency"] in rates:
            total += _to_base(row["total"], row["currency"], base, rates)
    return total


def _invoiced_sales(
    *, buyer: Buyer | None, since: date, base: str, rates: dict[str, Decimal]
) -> Decimal:
    invoices = Invoice.objects.filter(issue_date__gte=since)
    if buyer is not None:
        invoices = invoices.filter(buyer=buyer)
    total = ZERO
    for row in invoices.values("currency").annotate(total=Sum("amount")):
        if row["currency"] in rates:
            total += _to_base(row["total"], row["currency"], base, rates)
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
    """Aging and exposure over every open invoice: one grouped query, converted in Python."""
    as_of = as_of or today()
    base = tenant.base_currency
    rates = fx_rates_on(as_of)
    aging = dict.fromkeys(receivables.AGING_BUCKET_KEYS, ZERO)
    by_country: dict[str, Decimal] = {}
    rows = (
        Invoice.objects.filter(status__in=OPEN_STATUSES)
        .values("currency", "due_date", "buyer__country_id")
        .annotate(outstanding=Sum(F("amount") - F("paid_amount")))
    )
    for row in rows:
        if row["currency"] not in rates:
            continue
        amount = _to_base(row["outstanding"], row["currency"], base, rates)
        bucket = receivables.aging_bucket(
            receivables.days_past_due(due_date=row["due_date"], as_of=as_of)
        )
        aging[bucket] += amount
        country = row["buyer__country_id"]
        by_country[country] = by_country.get(country, ZERO) + amount
    exposure = sum(aging.values(), ZERO)
    sales = _invoiced_sales(
        buyer=None, since=as_of - timedelta(days=DSO_PERIOD_DAYS), base=base, rates=rates
    )
    return PortfolioSummary(
        currency=base,
        as_of=as_of,
        buyer_count=Buyer.objects.count(),
        exposure=exposure,
        overdue=exposure - aging["current"],
        disputed=_open_disputes(buyer=None, base=base, rates=rates),
        aging=aging,
        dso=receivables.dso(receivables=exposure, credit_sales=sales, period_days=DSO_PERIOD_DAYS),
        top_countries=sorted(by_country.items(), key=lambda item: item[1], reverse=True)[:8],
    )
