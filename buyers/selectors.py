"""Reads for the buyer credit file and the portfolio, in the tenant's base currency."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce

from creditguard.dates import today
from creditguard.i18n import name_order, sorted_choices
from creditguard.reference.fx import CENT
from creditguard.reference.selectors import fx_rates_on
from creditguard.tenancy.models import Tenant

from . import ledger, receivables
from .figures import cached_on_figures
from .ledger import OPEN_STATUSES as OPEN_STATUSES  # re-exported for forms and views
from .models import Buyer, Dispute, FinancialStatement, Invoice, PaymentPlan
from .records import statement_warning_text

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

ZERO = Decimal("0")
HUNDRED = Decimal("100")
# The buyer list's sort keys (`?sort=`, "-" for descending) and what each sorts by; name and
# country sort as names are read in the active language (`creditguard.i18n.name_order`). The
# figures come from `BuyerFigures` (kept current by `buyers.figures`), never from the invoices.
BUYER_SORT_FIELDS = {
    "name": "legal_name",
    "country": "country__name",
    "exposure": "figures__exposure",
    "overdue": "figures__overdue",
    "grade": "figures__grade",
    "score": "figures__score",
    "limit": "figures__credit_limit",
    "utilisation": "figures__utilisation",
    "cover": "figures__cover",
    "updated": "updated_at",
}
BUYER_ORDERINGS = frozenset([*BUYER_SORT_FIELDS, *(f"-{key}" for key in BUYER_SORT_FIELDS)])
NAME_SORTS = {"name", "country"}
# The credit file's invoice filter (`?status=`): what a credit controller asks for.
INVOICE_FILTERS = ("open", "overdue", "paid", "disputed")


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


@dataclass(frozen=True)
class BuyerListFilters:
    """The buyer list's filters (the `?` parameters of /buyers/ and its CSV export)."""

    search: str = ""
    country: str = ""
    sector: str = ""
    status: str = ""
    grade_min: int | None = None  # grades run from 1 (best) to 10 (worst)
    grade_max: int | None = None
    policy_id: int | None = None  # the covering insurance policy
    overdue: bool = False  # only buyers with an overdue amount
    over_limit: bool = False  # exposure above the own credit limit in force
    no_limit: bool = False  # no own credit limit in force
    uninsured: bool = False  # no insurer cover in force
    utilisation_min: Decimal | None = None  # percent of the own credit limit


def _filtered_buyers(buyers: QuerySet[Buyer], filters: BuyerListFilters) -> QuerySet[Buyer]:
    conditions = Q()
    if filters.search:
        conditions &= (
            Q(legal_name__icontains=filters.search)
            | Q(erp_reference__iexact=filters.search)
            | Q(registration_number__iexact=filters.search)
            | Q(vat_number__iexact=filters.search)
        )
    conditions &= scope_q(
        buyer="",
        figures="figures__",
        policy_id=filters.policy_id,
        country=filters.country,
        sector=filters.sector,
        grade_min=filters.grade_min,
        grade_max=filters.grade_max,
    )
    if filters.status:
        conditions &= Q(status=filters.status)
    if filters.overdue:
        conditions &= Q(figures__overdue__gt=0)
    if filters.over_limit:
        conditions &= Q(figures__credit_limit__isnull=False) & Q(
            figures__exposure__gt=F("figures__credit_limit")
        )
    if filters.no_limit:
        conditions &= Q(figures__credit_limit__isnull=True)
    if filters.uninsured:
        conditions &= Q(figures__cover__isnull=True) | Q(figures__cover=0)
    if filters.utilisation_min is not None:
        conditions &= Q(figures__utilisation__gte=filters.utilisation_min / HUNDRED)
    return buyers.filter(conditions)


def _buyer_ordering(ordering: str, *, language: str) -> list[OrderBy]:
    descending = ordering.startswith("-")
    key = ordering.removeprefix("-")
    if key not in BUYER_SORT_FIELDS:
        key, descending = "name", False
    field_name = BUYER_SORT_FIELDS[key]
    if key == "country" and language.lower().startswith("zh"):
        field_name = "country__name_zh"
    if key in NAME_SORTS:
        first = name_order(field_name, language=language, descending=descending)
    else:
        # Buyers without a figure (no score, no limit, no cover) come last either way.
        first = (
            F(field_name).desc(nulls_last=True)
            if descending
            else F(field_name).asc(nulls_last=True)
        )
    tie = [first] if key == "name" else [first, name_order("legal_name", language=language)]
    return [*tie, F("id").asc()]


def buyer_list(
    *,
    tenant: Tenant,
    filters: BuyerListFilters | None = None,
    ordering: str = "name",
    language: str = "en",
) -> QuerySet[Buyer]:
    """The tenant's buyers with their current figures (`BuyerFigures`; call
    `buyers.figures.figures_fresh` first): one query per page, however many invoices."""
    buyers = Buyer.objects.filter(tenant=tenant).select_related("country")
    buyers = _filtered_buyers(buyers, filters or BuyerListFilters())
    return buyers.annotate(
        exposure=Coalesce(F("figures__exposure"), Value(ZERO)),
        overdue=Coalesce(F("figures__overdue"), Value(ZERO)),
        open_invoices=Coalesce(F("figures__open_invoices"), Value(0)),
        grade=F("figures__grade"),
        score=F("figures__score"),
        credit_limit=F("figures__credit_limit"),
        limit_blocked=Coalesce(F("figures__limit_blocked"), Value(False)),
        cover=F("figures__cover"),
        utilisation=F("figures__utilisation"),
    ).order_by(*_buyer_ordering(ordering, language=language))


def buyer_list_count(*, tenant: Tenant, filters: BuyerListFilters | None = None) -> int:
    """How many buyers `buyer_list` holds with these filters (its paginator's count): counted
    once per change of the figures (`figures.cached_on_figures`; a buyer written is marked for
    a refresh, so that moves it too), not on every page view."""
    filters = filters or BuyerListFilters()
    digest = hashlib.sha256(repr(filters).encode()).hexdigest()[:32]
    return cached_on_figures(
        tenant=tenant,
        key=f"buyers:list-count:{digest}",
        compute=lambda: _filtered_buyers(Buyer.objects.filter(tenant=tenant), filters).count(),
    )


def buyer_countries_and_sectors(*, tenant: Tenant) -> tuple[list[str], list[str]]:
    """The country codes and NACE sections of the tenant's buyers, sorted (the choices of the
    list and dashboard filters): one query per change of the figures."""
    return cached_on_figures(
        tenant=tenant, key="buyers:countries-sectors", compute=_countries_and_sectors
    )


def scope_choices(
    *, tenant: Tenant, language: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The country and sector choices of the filters that narrow a list or the dashboard to
    some buyers: the tenant's own countries by localised name, its NACE sections in NACE
    order ("C · Manufacturing"). Call `figures_fresh` first (they are cached on the figures)."""
    from creditguard.reference.models import Country
    from creditguard.reference.nace import SECTIONS, section_name

    country_codes, sector_codes = buyer_countries_and_sectors(tenant=tenant)
    countries = sorted_choices(
        (
            (country.code, country.localized_name)
            for country in Country.objects.filter(code__in=country_codes)
        ),
        language=language,
    )
    sectors = [
        (letter, f"{letter} · {section_name(letter, language)}" if letter in SECTIONS else letter)
        for letter in sector_codes
    ]
    return countries, sectors


def scope_q(
    *,
    buyer: str,
    figures: str,
    policy_id: int | None = None,
    country: str = "",
    sector: str = "",
    grade_min: int | None = None,
    grade_max: int | None = None,
) -> Q:
    """The buyers a scope selects (covering policy, country, NACE section, grade band) as a
    condition: ``buyer`` is the path to the buyer ("" on buyers, "buyer__" from an alert or
    the figures), ``figures`` the path to its `BuyerFigures` ("figures__" on buyers, "" on
    the figures, "buyer__figures__" from an alert). The dashboard and the lists its figures
    link to select the same buyers with it."""
    condition = Q()
    if policy_id is not None:
        condition &= Q(**{f"{figures}policy_id": policy_id})
    if country:
        condition &= Q(**{f"{buyer}country_id": country})
    if sector:
        condition &= Q(**{f"{buyer}nace_section": sector})
    if grade_min is not None:
        condition &= Q(**{f"{figures}grade__gte": grade_min})
    if grade_max is not None:
        condition &= Q(**{f"{figures}grade__lte": grade_max})
    return condition


def _countries_and_sectors() -> tuple[list[str], list[str]]:
    pairs = Buyer.objects.order_by().values_list("country_id", "nace_section").distinct()
    countries: set[str] = set()
    sectors: set[str] = set()
    for country, sector in pairs:
        countries.add(country)
        if sector:
            sectors.add(sector)
    return sorted(countries), sorted(sectors)


def credit_file_invoices(
    *,
    buyer: Buyer,
    as_of: date,
    status: str = "",
    due_from: date | None = None,
    due_to: date | None = None,
    search: str = "",
) -> QuerySet[Invoice]:
    """The buyer's invoices for the credit file, open ones first (oldest due date first), then
    the paid and closed ones (latest paid first). Reads only this buyer's invoices
    (index `invoice_buyer_status_idx`)."""
    invoices = Invoice.objects.filter(buyer=buyer)
    if status == "open":
        invoices = invoices.filter(ledger.open_q())
    elif status == "overdue":
        invoices = invoices.filter(ledger.overdue_q(as_of=as_of))
    elif status == "paid":
        invoices = invoices.filter(status=Invoice.Status.PAID)
    elif status == "disputed":
        invoices = invoices.filter(ledger.disputed_q())
    if due_from is not None:
        invoices = invoices.filter(due_date__gte=due_from)
    if due_to is not None:
        invoices = invoices.filter(due_date__lte=due_to)
    if search:
        invoices = invoices.filter(Q(number__icontains=search) | Q(erp_reference__icontains=search))
    is_open = Q(status__in=OPEN_STATUSES)
    return invoices.annotate(
        is_closed=Case(When(is_open, then=Value(0)), default=Value(1)),
        open_due=Case(When(is_open, then=F("due_date")), default=Value(None)),
    ).order_by(
        "is_closed",
        F("open_due").asc(nulls_last=True),
        F("paid_date").desc(nulls_last=True),
        "-issue_date",
        "-id",
    )


@dataclass(frozen=True)
class StatementView:
    statement: FinancialStatement
    ratios: dict[str, Decimal | None]

    @property
    def warning_texts(self) -> list[str]:
        """The statement's stored warnings in the active language."""
        return [statement_warning_text(warning) for warning in self.statement.warnings or ()]


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
