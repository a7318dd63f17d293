from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from buyers.charts import aging_bars, dso_chart, heat_level
from buyers.figures import figures_fresh
from buyers.selectors import scope_choices
from claims.selectors import claims_kpis
from creditguard.audit.activity import activity_feed
from creditguard.dates import today
from creditguard.reference.nace import SECTIONS, section_name
from creditguard.tenancy.http import TenantHttpRequest
from creditguard.web.decorators import tenant_view
from monitoring.alerts import warning_lead_times
from monitoring.selectors import grade_risk_class
from monitoring.views import LEAD_TIME_WINDOW_DAYS
from policies.insurance.kpis import policy_kpis, portfolio_insurance_kpis

from . import selectors
from .forms import DashboardFilterForm
from .selectors import DashboardFilters, RiskCell

# The risk map shows the largest countries and sectors; the rest is summed up as "Other".
RISK_MAP_COUNTRIES = 8
RISK_MAP_SECTORS = 6
OTHER = ""


def _link(name: str, filters: DashboardFilters, **extra: object) -> str:
    """The list behind a figure, with the dashboard's filters (`extra` may override them)."""
    params: dict[str, object] = {**filters.params(), **extra}
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{reverse(name)}?{query}" if query else reverse(name)


@dataclass(frozen=True)
class MapCell:
    exposure: Decimal
    overdue: Decimal
    buyers: int
    heat: int  # 0–5, share of the largest cell
    url: str | None


@dataclass(frozen=True)
class MapRow:
    code: str
    name: str
    cells: list[MapCell]
    total: MapCell


def _risk_map(
    cells: list[RiskCell],
    *,
    filters: DashboardFilters,
    country_names: dict[str, str],
    sector_names: dict[str, str],
) -> dict[str, Any]:
    """Country × sector exposure (largest first, the rest as "Other"), with row and column
    totals: the exposure by country and by sector."""

    def ranked(key: str, keep: int) -> list[str]:
        totals: dict[str, Decimal] = {}
        for cell in cells:
            totals[getattr(cell, key)] = totals.get(getattr(cell, key), Decimal(0)) + cell.exposure
        order = sorted(totals, key=lambda code: (-totals[code], code))
        return order if len(order) <= keep + 1 else [*order[:keep], OTHER]

    countries = ranked("country", RISK_MAP_COUNTRIES)
    sectors = ranked("sector", RISK_MAP_SECTORS)
    grid: dict[tuple[str, str], list[Decimal | int]] = {}

    def add(country: str, sector: str, cell: RiskCell) -> None:
        entry = grid.setdefault((country, sector), [Decimal(0), Decimal(0), 0])
        entry[0] += cell.exposure
        entry[1] += cell.overdue
        entry[2] += cell.buyers

    for cell in cells:
        country = cell.country if cell.country in countries else OTHER
        sector = cell.sector if cell.sector in sectors else OTHER
        for row_key in (country, "*"):
            for column_key in (sector, "*"):
                add(row_key, column_key, cell)
    peak = max(
        (Decimal(values[0]) for (row, col), values in grid.items() if "*" not in (row, col)),
        default=Decimal(0),
    )

    def map_cell(row: str, col: str) -> MapCell:
        exposure, overdue, buyers = grid.get((row, col), (Decimal(0), Decimal(0), 0))
        params: dict[str, object] = {"sort": "-exposure"}
        if row not in ("*", OTHER):
            params["country"] = row
        if col not in ("*", OTHER):
            params["sector"] = col
        linkable = buyers and OTHER not in (row, col)
        return MapCell(
            exposure=Decimal(exposure),
            overdue=Decimal(overdue),
            buyers=int(buyers),
            heat=heat_level(Decimal(exposure), peak) if "*" not in (row, col) else 0,
            url=_link("buyers:list", filters, **params) if linkable else None,
        )

    return {
        "columns": [
            {
                "code": code,
                "name": sector_names.get(code, code) if code else _("Other"),
                "total": map_cell("*", code),
            }
            for code in sectors
        ],
        "rows": [
            MapRow(
                code=code,
                name=country_names.get(code, code) if code else _("Other"),
                cells=[map_cell(code, sector) for sector in sectors],
                total=map_cell(code, "*"),
            )
            for code in countries
        ],
        "total": map_cell("*", "*"),
    }


def _utilisation(totals: selectors.PortfolioTotals, filters: DashboardFilters) -> list[dict]:
    labels = {
        "under_50": _("Below 50%"),
        "50_80": _("50–80%"),
        "80_100": _("80–100%"),
        "over_100": _("Over the limit"),
    }
    rows = []
    for band in totals.utilisation_bands:
        if band.key == "over_100":
            url = _link("buyers:list", filters, over_limit=1, sort="-utilisation")
        else:
            low = int((band.low or 0) * 100)
            url = _link("buyers:list", filters, utilisation_min=low or None, sort="utilisation")
        rows.append({"key": band.key, "label": labels[band.key], "buyers": band.buyers, "url": url})
    return rows


@tenant_view()
def dashboard(request: TenantHttpRequest) -> HttpResponse:
    tenant, membership = request.tenant, request.membership
    assert tenant is not None and membership is not None  # tenant_view
    figures_fresh(tenant=tenant)
    as_of = today()
    language = get_language() or "en"
    countries, sectors = scope_choices(tenant=tenant, language=language)
    country_names = dict(countries)
    sector_names = {
        letter: section_name(letter, language) for letter, _label in sectors if letter in SECTIONS
    }
    form = DashboardFilterForm(request.GET or None, countries=countries, sectors=sectors)
    filters = form.filters()
    scope = selectors.buyers_in_scope(filters=filters) if filters.active else None

    # Totals, grades and risk cells: one scan of the figures, cached until they change.
    portfolio = selectors.portfolio_figures(tenant=tenant, filters=filters)
    totals, grades = portfolio.totals, portfolio.grades
    peak_grade = max((row.buyers for row in grades), default=0)
    top = selectors.top_exposures(filters=filters)
    trend = selectors.dso_trend(as_of=as_of)

    if filters.splits_buyers:
        insurance = None  # over cover, cover lost and premiums are kept per policy only
    elif filters.policy_id is not None:
        insurance = policy_kpis(tenant=tenant, policy=form.cleaned_data["policy"], as_of=as_of)
    else:
        insurance = portfolio_insurance_kpis(tenant=tenant, as_of=as_of, exposure=totals.exposure)
    claims = claims_kpis(tenant=tenant, as_of=as_of, buyers=scope, credit_sales=totals.credit_sales)
    lead_times = warning_lead_times(
        tenant=tenant,
        since=timezone.now() - timedelta(days=LEAD_TIME_WINDOW_DAYS),
        buyers=scope,
    )
    links = {
        "buyers": _link("buyers:list", filters),
        "exposure": _link("buyers:list", filters, sort="-exposure"),
        "overdue": _link("buyers:list", filters, overdue=1, sort="-overdue"),
        "disputed": _link("buyers:list", filters, overdue=1, sort="-overdue"),
        "uninsured": _link("buyers:list", filters, uninsured=1, sort="-exposure"),
        "protected": _link("buyers:list", filters, sort="-cover"),
        "no_limit": _link("buyers:list", filters, no_limit=1, sort="-exposure"),
        "over_limit": _link("buyers:list", filters, over_limit=1, sort="-utilisation"),
        "utilisation": _link("buyers:list", filters, sort="-utilisation"),
        "alerts": _link("monitoring:alerts", filters, status="open"),
        "lead_times": _link("monitoring:alerts", filters),
        # The limit and claim lists filter by buyer state, not by country or grade.
        "blocked": _link("limits:overview", DashboardFilters(), state="blocked"),
        "claims": _link("claims:list", DashboardFilters(policy_id=filters.policy_id)),
        "paid_claims": _link(
            "claims:list", DashboardFilters(policy_id=filters.policy_id), status="paid"
        ),
        "insurance": reverse("insurance:list"),
    }
    aging_links = [
        links["exposure"] if key == "current" else links["overdue"] for key in totals.aging
    ]
    return render(
        request,
        "portfolio/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "totals": totals,
            "as_of": as_of,
            "links": links,
            "aging_bars": aging_bars(totals.aging),
            "aging_rows": list(zip(aging_bars(totals.aging), aging_links, strict=True)),
            "grades": [
                {
                    "row": row,
                    "risk": grade_risk_class(row.grade),
                    "width": 0 if not peak_grade else round(100 * row.buyers / peak_grade),
                    "url": _link("buyers:list", filters, grade_min=row.grade, grade_max=row.grade)
                    if row.grade is not None and row.buyers
                    else None,
                }
                for row in grades
            ],
            "risk_map": _risk_map(
                portfolio.cells,
                filters=filters,
                country_names=country_names,
                sector_names=sector_names,
            ),
            "top_exposures": [
                (figures, country_names.get(figures.buyer.country_id, figures.buyer.country_id))
                for figures in top
            ],
            "utilisation": _utilisation(totals, filters),
            "dso_chart": dso_chart([(point.as_of, point.dso) for point in trend]),
            "dso_trend": trend,
            "insurance": insurance,
            "claims": claims,
            "lead_times": lead_times,
            "lead_time_window_days": LEAD_TIME_WINDOW_DAYS,
            "activity": activity_feed(tenant=tenant, membership=membership),
        },
    )
