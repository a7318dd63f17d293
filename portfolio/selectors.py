"""Reads for the portfolio dashboard.

Every per-buyer figure comes from `buyers.models.BuyerFigures` (one row per buyer, kept current by
`buyers.figures`), aggregated with a few GROUP BY queries: the page never reads invoices. The
definitions stay with their owners: exposure, overdue, aging and credit sales are the ledger's
(`buyers.ledger`, `buyers.receivables`), DSO is `receivables.dso`, the claims KPIs are
`claims.selectors.claims_kpis`, the warning lead time `monitoring.alerts.warning_lead_times`.

The filters (policy, country, sector, grade band) select buyers; every figure is then taken over
those buyers only. The DSO trend is the exception: it is read from the tenant's month-end
`PortfolioSnapshot` rows, which hold the whole portfolio.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from buyers import receivables
from buyers.figures import cached_on_figures
from buyers.models import BuyerFigures, PortfolioSnapshot
from buyers.selectors import scope_q
from creditguard.dates import today
from creditguard.tenancy.models import Tenant

ZERO: Final = Decimal("0.00")
MONEY: Final = DecimalField(max_digits=18, decimal_places=2)
# The credit sales column of BuyerFigures covers 365 days; DSO is taken over the same window.
DSO_WINDOW_DAYS: Final = 365
TREND_MONTHS: Final = 12
TOP_EXPOSURES: Final = 10

AGING_COLUMNS: Final = {
    "current": "aging_current",
    "1_30": "aging_1_30",
    "31_60": "aging_31_60",
    "61_90": "aging_61_90",
    "91_180": "aging_91_180",
    "over_180": "aging_over_180",
}

# Limit utilisation bands (exposure ÷ own limit): (key, lower bound included, upper excluded).
UTILISATION_BANDS: Final = (
    ("under_50", None, Decimal("0.5")),
    ("50_80", Decimal("0.5"), Decimal("0.8")),
    ("80_100", Decimal("0.8"), Decimal("1")),
    ("over_100", Decimal("1"), None),
)


@dataclass(frozen=True)
class DashboardFilters:
    policy_id: int | None = None
    country: str = ""
    sector: str = ""
    grade_min: int | None = None
    grade_max: int | None = None

    @property
    def active(self) -> bool:
        return any(self.params().values())

    @property
    def splits_buyers(self) -> bool:
        """Country, sector or grade: figures kept only per policy or tenant cannot follow them."""
        return bool(self.country or self.sector or self.grade_min or self.grade_max)

    def params(self) -> dict[str, str]:
        """The filters as buyer-list query parameters (the names are the buyer list's)."""
        values = {
            "policy": self.policy_id,
            "country": self.country,
            "sector": self.sector,
            "grade_min": self.grade_min,
            "grade_max": self.grade_max,
        }
        return {name: str(value) for name, value in values.items() if value not in (None, "")}


def figures_in_scope(*, filters: DashboardFilters) -> QuerySet[BuyerFigures]:
    """The BuyerFigures rows of the buyers the filters select (tenant-scoped manager)."""
    return BuyerFigures.objects.filter(scope_q(buyer="buyer__", figures="", **asdict(filters)))


def buyers_in_scope(*, filters: DashboardFilters) -> QuerySet[BuyerFigures, Any]:
    """The buyer ids in scope, as a sub-query for other tables (claims, alerts)."""
    return figures_in_scope(filters=filters).values("buyer_id")


def _sum(column: str, condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum(column, filter=condition), ZERO, output_field=MONEY)


def _band_q(low: Decimal | None, high: Decimal | None) -> Q:
    condition = Q(utilisation__isnull=False)
    if low is not None:
        condition &= Q(utilisation__gte=low)
    if high is not None:
        condition &= Q(utilisation__lt=high)
    return condition


@dataclass(frozen=True)
class UtilisationBand:
    key: str
    low: Decimal | None
    high: Decimal | None
    buyers: int


@dataclass(frozen=True)
class PortfolioTotals:
    currency: str
    as_of: date | None
    buyers: int
    exposure: Decimal
    overdue: Decimal
    disputed: Decimal
    insured: Decimal
    credit_sales: Decimal
    aging: dict[str, Decimal]
    overdue_buyers: int
    open_alerts: int
    with_limit: int
    no_limit: int
    over_limit: int
    over_limit_excess: Decimal
    blocked: int
    limits_total: Decimal
    utilisation_bands: list[UtilisationBand] = field(default_factory=list)

    @property
    def uninsured(self) -> Decimal:
        return max(self.exposure - self.insured, ZERO)

    @property
    def protected_share(self) -> Decimal | None:
        """Insured ÷ exposure, the brief's "share of receivables protected" (None: no exposure)."""
        return (
            None
            if self.exposure <= 0
            else (self.insured / self.exposure).quantize(Decimal("0.0001"))
        )

    @property
    def dso(self) -> Decimal | None:
        return receivables.dso(
            receivables=self.exposure, credit_sales=self.credit_sales, period_days=DSO_WINDOW_DAYS
        )


def _total_aggregates() -> dict[str, Any]:
    """The aggregates of `PortfolioTotals`: sums and counts, and the oldest ``as_of`` (so
    that totals of groups add up to the totals of their union)."""
    bands = {
        f"t_band_{key}": Count("id", filter=_band_q(low, high))
        for key, low, high in UTILISATION_BANDS
    }
    over_limit = Q(credit_limit__isnull=False, exposure__gt=F("credit_limit"))
    return dict(
        t_buyers=Count("id"),
        t_as_of=Min("as_of"),
        t_exposure=_sum("exposure"),
        t_overdue=_sum("overdue"),
        t_disputed=_sum("disputed"),
        t_insured=_sum("insured"),
        t_credit_sales=_sum("credit_sales_365"),
        **{f"t_aging_{key}": _sum(column) for key, column in AGING_COLUMNS.items()},
        t_overdue_buyers=Count("id", filter=Q(overdue__gt=0)),
        t_open_alerts=Coalesce(Sum("open_alerts"), 0),
        t_with_limit=Count("id", filter=Q(credit_limit__isnull=False)),
        t_no_limit=Count("id", filter=Q(credit_limit__isnull=True)),
        t_over_limit=Count("id", filter=over_limit),
        t_over_limit_exposure=_sum("exposure", over_limit),
        t_over_limit_limits=_sum("credit_limit", over_limit),
        t_blocked=Count("id", filter=Q(limit_blocked=True)),
        t_limits_total=_sum("credit_limit"),
        **bands,
    )


def portfolio_totals(*, tenant: Tenant, filters: DashboardFilters) -> PortfolioTotals:
    """Totals, aging, limit use and open alerts of the buyers in scope: one aggregate query."""
    return _totals(tenant, figures_in_scope(filters=filters).aggregate(**_total_aggregates()))


def _totals(tenant: Tenant, row: dict[str, Any]) -> PortfolioTotals:
    return PortfolioTotals(
        currency=tenant.base_currency,
        as_of=row["t_as_of"],
        buyers=row["t_buyers"],
        exposure=row["t_exposure"],
        overdue=row["t_overdue"],
        disputed=row["t_disputed"],
        insured=row["t_insured"],
        credit_sales=row["t_credit_sales"],
        aging={key: row[f"t_aging_{key}"] for key in AGING_COLUMNS},
        overdue_buyers=row["t_overdue_buyers"],
        open_alerts=row["t_open_alerts"],
        with_limit=row["t_with_limit"],
        no_limit=row["t_no_limit"],
        over_limit=row["t_over_limit"],
        over_limit_excess=row["t_over_limit_exposure"] - row["t_over_limit_limits"],
        blocked=row["t_blocked"],
        limits_total=row["t_limits_total"],
        utilisation_bands=[
            UtilisationBand(key, low, high, row[f"t_band_{key}"])
            for key, low, high in UTILISATION_BANDS
        ],
    )


@dataclass(frozen=True)
class GradeRow:
    grade: int | None  # None: not scored yet
    buyers: int
    exposure: Decimal


def grade_distribution(*, filters: DashboardFilters) -> list[GradeRow]:
    """Buyers and exposure per grade (1 best … 10 worst, then the unscored): one GROUP BY."""
    rows = (
        figures_in_scope(filters=filters)
        .order_by()
        .values("grade")
        .annotate(buyers=Count("id"), total=_sum("exposure"))
        .values_list("grade", "buyers", "total")
    )
    found = {grade: (buyers, total) for grade, buyers, total in rows}
    grades: list[int | None] = [*range(1, 11), None]
    return [
        GradeRow(grade, *found.get(grade, (0, ZERO)))
        for grade in grades
        if grade is not None or grade in found
    ]


@dataclass(frozen=True)
class RiskCell:
    country: str
    sector: str
    buyers: int
    exposure: Decimal
    overdue: Decimal


def risk_cells(*, filters: DashboardFilters) -> list[RiskCell]:
    """Exposure and overdue per country × sector (one GROUP BY); the by-country and by-sector
    totals are sums of these cells."""
    rows = (
        figures_in_scope(filters=filters)
        .order_by()
        .values(country=F("buyer__country_id"), sector=F("buyer__nace_section"))
        .annotate(buyers=Count("id"), total=_sum("exposure"), late=_sum("overdue"))
        .values_list("country", "sector", "buyers", "total", "late")
    )
    return [RiskCell(*row) for row in rows]


@dataclass(frozen=True)
class PortfolioFigures:
    """What the dashboard aggregates over the buyers in scope."""

    totals: PortfolioTotals
    grades: list[GradeRow]
    cells: list[RiskCell]


def portfolio_figures(*, tenant: Tenant, filters: DashboardFilters) -> PortfolioFigures:
    """`portfolio_totals`, `grade_distribution` and `risk_cells` from one scan of the figures
    (grouped by country, sector and grade, then added up), cached until the figures change
    (`buyers.figures.cached_on_figures`): the dashboard's cost no longer grows with the
    portfolio between two refreshes."""
    return cached_on_figures(
        tenant=tenant,
        key=f"portfolio:figures:{today()}:{urlencode(sorted(filters.params().items()))}",
        compute=lambda: _portfolio_figures(tenant=tenant, filters=filters),
    )


def _portfolio_figures(*, tenant: Tenant, filters: DashboardFilters) -> PortfolioFigures:
    aggregates = _total_aggregates()
    grouped: QuerySet[Any, Any] = (
        figures_in_scope(filters=filters)
        .order_by()
        .values(g_country=F("buyer__country_id"), g_sector=F("buyer__nace_section"))
        .annotate(g_grade=F("grade"))
        .values("g_country", "g_sector", "g_grade")
        .annotate(**aggregates)
    )
    groups = list(grouped)
    if groups:
        row: dict[str, Any] = {
            name: sum(group[name] for group in groups) for name in aggregates if name != "t_as_of"
        }
        row["t_as_of"] = min(
            (group["t_as_of"] for group in groups if group["t_as_of"] is not None), default=None
        )
    else:  # no buyer in scope: the zeros, typed as the database gives them
        row = figures_in_scope(filters=filters).aggregate(**aggregates)
    by_grade: dict[int | None, list[Any]] = {}
    by_cell: dict[tuple[str, str], list[Any]] = {}
    for group in groups:
        grade = by_grade.setdefault(group["g_grade"], [0, ZERO])
        grade[0] += group["t_buyers"]
        grade[1] += group["t_exposure"]
        cell = by_cell.setdefault((group["g_country"], group["g_sector"]), [0, ZERO, ZERO])
        cell[0] += group["t_buyers"]
        cell[1] += group["t_exposure"]
        cell[2] += group["t_overdue"]
    grades: list[int | None] = [*range(1, 11), None]
    return PortfolioFigures(
        totals=_totals(tenant, row),
        grades=[
            GradeRow(grade, *by_grade.get(grade, (0, ZERO)))
            for grade in grades
            if grade is not None or grade in by_grade
        ],
        cells=[
            RiskCell(country, sector, buyers, exposure, overdue)
            for (country, sector), (buyers, exposure, overdue) in by_cell.items()
        ],
    )


def top_exposures(*, filters: DashboardFilters, limit: int = TOP_EXPOSURES) -> list[BuyerFigures]:
    """The buyers in scope with the largest exposure, with their buyer row."""
    return list(
        figures_in_scope(filters=filters)
        .filter(exposure__gt=0)
        .select_related("buyer")
        .order_by("-exposure", "buyer_id")[:limit]
    )


def month_ends(*, as_of: date, months: int = TREND_MONTHS) -> list[date]:
    """The last ``months`` month-ends on or before ``as_of``, oldest first."""
    year, month = as_of.year, as_of.month
    ends: list[date] = []
    while len(ends) < months:
        end = date(year, month, calendar.monthrange(year, month)[1])
        if end <= as_of:
            ends.append(end)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return ends[::-1]


@dataclass(frozen=True)
class DsoPoint:
    as_of: date
    dso: Decimal | None
    exposure: Decimal


def dso_trend(*, as_of: date, months: int = TREND_MONTHS) -> list[DsoPoint]:
    """DSO at each of the last ``months`` month-ends, from the tenant's snapshots (one query);
    month-ends without a snapshot are left out."""
    snapshots = PortfolioSnapshot.objects.filter(
        as_of__in=month_ends(as_of=as_of, months=months)
    ).order_by("as_of")
    return [
        DsoPoint(
            as_of=snapshot.as_of,
            dso=receivables.dso(
                receivables=snapshot.exposure,
                credit_sales=snapshot.credit_sales_365,
                period_days=DSO_WINDOW_DAYS,
            ),
            exposure=snapshot.exposure,
        )
        for snapshot in snapshots
    ]
