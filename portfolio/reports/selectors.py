"""What each report shows, gathered from the selectors that own the figures.

Nothing here computes a business rule: per-buyer figures across the portfolio come from the
maintained `BuyerFigures` (`buyers.figures`), their totals, aging and grade distribution from
the dashboard's selectors (`portfolio.selectors`); one buyer's credit file, exposure, aging and DSO
from `buyers.selectors`; scores and their explanation, alerts and country ratings from
`monitoring.selectors`; a buyer's limit and cover in force from `policies.selectors`; insured,
uninsured, over-cover and cover-lost amounts from the coverage sweep (`policies.insurance.kpis`,
`policies.insurance.scope`); claim figures from `claims.selectors`.
This module only arranges them: per buyer, grouped by country and sector, and the
observations the health check draws from them.

Every function runs with the tenant active, in the report's language (labels, names of
countries and sectors, the health check's observations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from buyers.charts import aging_bars
from buyers.figures import figures_fresh
from buyers.models import Buyer
from buyers.selectors import CreditFile, buyer_credit_file
from claims.selectors import ClaimsKpis, claims_kpis
from creditguard.reference.models import Country
from creditguard.reference.nace import SECTIONS, section_name, title_of
from creditguard.tenancy.models import Tenant
from creditguard.web.templatetags.money import amount, percent
from monitoring.models import Alert, BuyerScore, CountryRisk
from monitoring.selectors import (
    FactorExplanation,
    buyer_risk_context,
    explain_factors,
    grade_risk_class,
    open_alert_counts,
    score_history,
)
from policies import selectors as limits
from policies.insurance.kpis import (
    BuyerCoverage,
    InsuranceKpis,
    buyer_coverage,
    portfolio_insurance_kpis,
)
from policies.insurance.scope import policy_of_buyers, versions_in_force
from policies.models import CreditLimit, InsurancePolicy, InsurerCover

from ..selectors import (
    DashboardFilters,
    GradeRow,
    PortfolioTotals,
    grade_distribution,
    portfolio_totals,
)

ZERO = Decimal("0")
TOP_ROWS = 15  # buyers, countries and sectors listed in a table
OVER_LIMIT_SHOWN = 30
ITEMS_SHOWN = 10  # buyers or countries named under a health-check suggestion
# Health-check observations: cover used above this share of the cover in force is tight; below
# the low mark it may cost premium for little protection.
COVER_TIGHT = Decimal("0.9")
COVER_IDLE = Decimal("0.2")
PROTECTED_SHARE_TARGET = Decimal("0.8")


# --- Per buyer ---------------------------------------------------------------------------------


@dataclass
class BuyerRow:
    """One buyer's current figures, in the tenant's base currency."""

    pk: int
    name: str
    country: str
    sector: str
    exposure: Decimal
    overdue: Decimal
    limit: Decimal | None
    cover: Decimal
    utilisation: Decimal | None
    over_limit: bool
    grade: int | None
    insured: Decimal = ZERO
    over_cover: Decimal = ZERO
    cover_lost: Decimal = ZERO
    policy_id: int | None = None

    @property
    def uninsured(self) -> Decimal:
        return max(self.exposure - self.insured, ZERO)

    @property
    def risk_class(self) -> str:
        return grade_risk_class(self.grade)

    @property
    def cover_utilisation(self) -> Decimal | None:
        return self.exposure / self.cover if self.cover else None


def buyer_rows(*, tenant: Tenant) -> list[BuyerRow]:
    """Every buyer with its current figures (`BuyerFigures`, kept current by the figures jobs:
    exposure, overdue, own limit, cover in force, insured part, utilisation, grade, covering
    policy), plus the over-cover and cover-lost parts of the last coverage sweep
    (`buyer_coverage`, one grouped query per policy). The figures hold for today."""
    figures_fresh(tenant=tenant)
    rows = [
        BuyerRow(
            pk=pk,
            name=name,
            country=country,
            sector=sector,
            exposure=exposure or ZERO,
            overdue=overdue or ZERO,
            limit=limit,
            cover=cover or ZERO,
            utilisation=utilisation,
            over_limit=utilisation is not None and utilisation > 1,
            grade=grade,
            insured=insured or ZERO,
            policy_id=policy_id,
        )
        for (
            pk,
            name,
            country,
            sector,
            exposure,
            overdue,
            limit,
            cover,
            utilisation,
            grade,
            insured,
            policy_id,
        ) in Buyer.objects.order_by("pk").values_list(
            "pk",
            "legal_name",
            "country_id",
            "nace_section",
            "figures__exposure",
            "figures__overdue",
            "figures__credit_limit",
            "figures__cover",
            "figures__utilisation",
            "figures__grade",
            "figures__insured",
            "figures__policy_id",
        )
    ]
    by_pk = {row.pk: row for row in rows}
    for policy in InsurancePolicy.objects.all():
        for pk, coverage in buyer_coverage(policy=policy, buyer_ids=list(by_pk)).items():
            if pk in by_pk:
                by_pk[pk].over_cover += coverage.over_cover
                by_pk[pk].cover_lost += coverage.cover_lost
    return rows


@dataclass
class GroupRow:
    """Buyers of one country or one sector, added up."""

    code: str
    name: str
    buyers: int = 0
    exposure: Decimal = ZERO
    overdue: Decimal = ZERO
    insured: Decimal = ZERO
    high_risk: Decimal = ZERO  # exposure on buyers in the high-risk grades (8–10)
    rating: int | None = None  # country risk rating, countries only

    @property
    def uninsured(self) -> Decimal:
        return max(self.exposure - self.insured, ZERO)

    @property
    def overdue_share(self) -> Decimal | None:
        return self.overdue / self.exposure if self.exposure else None

    @property
    def high_risk_share(self) -> Decimal | None:
        return self.high_risk / self.exposure if self.exposure else None


def _grouped(rows: Iterable[BuyerRow], key: Callable[[BuyerRow], str]) -> dict[str, GroupRow]:
    groups: dict[str, GroupRow] = {}
    for row in rows:
        code = key(row)
        group = groups.setdefault(code, GroupRow(code=code, name=code))
        group.buyers += 1
        group.exposure += row.exposure
        group.overdue += row.overdue
        group.insured += min(row.insured, row.exposure)
        if row.risk_class == "high":
            group.high_risk += row.exposure
    return groups


def by_country(rows: Iterable[BuyerRow]) -> list[GroupRow]:
    """Exposure by country, largest first, with each country's name and current risk rating."""
    groups = _grouped(rows, lambda row: row.country)
    names = {
        country.code: country.localized_name for country in Country.objects.filter(code__in=groups)
    }
    ratings = dict(
        CountryRisk.objects.filter(country_id__in=groups)
        .order_by("country_id", "-effective_date")
        .distinct("country_id")
        .values_list("country_id", "rating")
    )
    for code, group in groups.items():
        group.name = names.get(code, code)
        group.rating = ratings.get(code)
    return sorted(groups.values(), key=lambda group: group.exposure, reverse=True)


def by_sector(rows: Iterable[BuyerRow]) -> list[GroupRow]:
    """Exposure by NACE section, largest first."""
    language = get_language() or "en"
    groups = _grouped(rows, lambda row: row.sector)
    for code, group in groups.items():
        group.name = section_name(code, language) if code in SECTIONS else code
    return sorted(groups.values(), key=lambda group: group.exposure, reverse=True)


# --- Buyer credit report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRow:
    score: BuyerScore
    change: int | None  # grade steps against the period before (positive: worse)
    factors: list[FactorExplanation]  # those weighing the score down, heaviest first


@dataclass(frozen=True)
class CreditReport:
    tenant: Tenant
    buyer: Buyer
    as_of: date
    sector_name: str
    nace_title: str | None  # the official English title of the buyer's NACE code
    file: CreditFile
    figures: limits.BuyerFigures
    risk: dict[str, Any]
    scores: list[ScoreRow]
    limit: CreditLimit | None
    covers: list[InsurerCover]
    policy: InsurancePolicy | None
    coverage: BuyerCoverage | None  # the buyer's open invoices under its policy (last sweep)
    alerts: list[Alert]
    aging: list[tuple[str, Decimal, str]]


def credit_report(*, tenant: Tenant, buyer: Buyer, as_of: date) -> CreditReport:
    language = get_language() or "en"
    file = buyer_credit_file(tenant=tenant, buyer=buyer, as_of=as_of)
    figures = limits.buyer_figures(tenant=tenant, buyer_ids=[buyer.pk], as_of=as_of)[buyer.pk]
    risk = buyer_risk_context(tenant=tenant, buyer=buyer)["buyer_risk"]
    history = score_history(buyer=buyer, periods=12)
    scores = [
        ScoreRow(
            score=score,
            change=score.grade - history[index - 1].grade if index else None,
            factors=sorted(
                (item for item in explain_factors(score.factors) if item.points < 0),
                key=lambda item: item.points,
            ),
        )
        for index, score in enumerate(history)
    ]
    policy_id = policy_of_buyers(buyer_ids=[buyer.pk], on=as_of).get(buyer.pk)
    policy = InsurancePolicy.objects.filter(pk=policy_id).first() if policy_id else None
    return CreditReport(
        tenant=tenant,
        buyer=buyer,
        as_of=as_of,
        sector_name=section_name(buyer.nace_section, language)
        if buyer.nace_section in SECTIONS
        else buyer.nace_section,
        nace_title=title_of(buyer.nace_code),
        file=file,
        figures=figures,
        risk=risk,
        scores=list(reversed(scores)),  # newest first
        limit=figures.limit,
        covers=list(InsurerCover.objects.filter(buyer=buyer).order_by("insurer", "id")),
        policy=policy,
        coverage=buyer_coverage(policy=policy, buyer_ids=[buyer.pk]).get(buyer.pk)
        if policy
        else None,
        alerts=list(risk["open_alerts"]),
        aging=aging_bars(file.aging),
    )


# --- Monthly portfolio risk report -------------------------------------------------------------


def month_bounds(period: str) -> tuple[date, date]:
    """ "2026-11" → (1 Nov 2026, 30 Nov 2026)."""
    first = date.fromisoformat(f"{period}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _aware(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, timezone.get_current_timezone())


@dataclass(frozen=True)
class GradeMove:
    buyer: Buyer
    before: int
    after: int
    exposure: Decimal


@dataclass(frozen=True)
class PortfolioReport:
    tenant: Tenant
    period: str
    period_start: date
    period_end: date
    as_of: date
    currency: str
    totals: PortfolioTotals
    aging: list[tuple[str, Decimal, str]]
    insurance: InsuranceKpis
    claims: ClaimsKpis
    rows: list[BuyerRow]
    grades: list[GradeRow]
    countries: list[GroupRow]
    sectors: list[GroupRow]
    top_exposures: list[BuyerRow]
    over_limit: list[BuyerRow]  # the largest OVER_LIMIT_SHOWN of them
    downgrades: list[GradeMove]  # the largest TOP_ROWS of them
    downgrade_count: int
    upgrades: int
    alerts: list[tuple[str, int, int]]  # (severity, raised in the period, open now)
    open_alerts: int


def _grade_moves(
    *, period_start: date, period_end: date, exposure: dict[int, Decimal]
) -> tuple[list[GradeMove], int]:
    """Buyers whose score of the period is worse than their score before it (and how many got
    better), from the stored monthly scores."""
    scores = list(
        BuyerScore.objects.filter(period__lte=period_end)
        .order_by("buyer_id", "-period")
        .values_list("buyer_id", "period", "grade")
    )
    latest: dict[int, list[tuple[date, int]]] = {}
    for buyer_id, period, grade in scores:
        kept = latest.setdefault(buyer_id, [])
        if len(kept) < 2:
            kept.append((period, grade))
    worse: list[tuple[int, int, int]] = []
    better = 0
    for buyer_id, kept in latest.items():
        if len(kept) < 2 or kept[0][0] < period_start:
            continue
        (_now, after), (_before, before) = kept
        if after > before:
            worse.append((buyer_id, before, after))
        elif after < before:
            better += 1
    buyers = Buyer.objects.in_bulk([buyer_id for buyer_id, _b, _a in worse])
    moves = [
        GradeMove(buyers[pk], before, after, exposure.get(pk, ZERO))
        for pk, before, after in worse
        if pk in buyers
    ]
    moves.sort(key=lambda move: (move.before - move.after, -move.exposure))
    return moves, better


def portfolio_report(*, tenant: Tenant, period: str, as_of: date) -> PortfolioReport:
    period_start, period_end = month_bounds(period)
    rows = buyer_rows(tenant=tenant)  # makes the figures fresh
    everything = DashboardFilters()
    totals = portfolio_totals(tenant=tenant, filters=everything)
    insurance = portfolio_insurance_kpis(tenant=tenant, as_of=as_of)
    claims = claims_kpis(tenant=tenant, as_of=as_of)
    downgrades, upgrades = _grade_moves(
        period_start=period_start,
        period_end=period_end,
        exposure={row.pk: row.exposure for row in rows},
    )
    raised = (
        Alert.objects.filter(
            created_at__gte=_aware(period_start, time.min),
            created_at__lte=_aware(period_end, time.max),
        )
        .order_by()
        .values("severity")
        .annotate(count=Count("id"))
        .values_list("severity", "count")
    )
    raised_counts = dict(raised)
    over_limit = sorted(
        (row for row in rows if row.over_limit), key=lambda row: row.exposure, reverse=True
    )
    open_counts = open_alert_counts()
    return PortfolioReport(
        tenant=tenant,
        period=period,
        period_start=period_start,
        period_end=period_end,
        as_of=as_of,
        currency=tenant.base_currency,
        totals=totals,
        aging=aging_bars(totals.aging),
        insurance=insurance,
        claims=claims,
        rows=rows,
        grades=grade_distribution(filters=everything),
        countries=by_country(rows)[:TOP_ROWS],
        sectors=by_sector(rows)[:TOP_ROWS],
        top_exposures=sorted(rows, key=lambda row: row.exposure, reverse=True)[:TOP_ROWS],
        over_limit=over_limit[:OVER_LIMIT_SHOWN],
        downgrades=downgrades[:TOP_ROWS],
        downgrade_count=len(downgrades),
        upgrades=upgrades,
        alerts=[
            (str(severity.label), raised_counts.get(severity, 0), open_counts.get(severity, 0))
            for severity in Alert.Severity
        ],
        open_alerts=sum(open_counts.values()),
    )


# --- Annual credit-protection health check -----------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """An observation from the data and what to consider, with the buyers or countries it is
    about."""

    title: str
    text: str
    items: list[str] = field(default_factory=list)  # the first ITEMS_SHOWN of them
    more: int = 0  # how many more there are

    @classmethod
    def about(cls, title: str, text: str, items: list[str] | None = None) -> Suggestion:
        items = items or []
        return cls(title, text, items[:ITEMS_SHOWN], max(len(items) - ITEMS_SHOWN, 0))


@dataclass(frozen=True)
class HealthCheck:
    tenant: Tenant
    year: str
    as_of: date
    currency: str
    insurance: InsuranceKpis
    claims: ClaimsKpis
    rows: list[BuyerRow]
    uninsured_buyers: list[BuyerRow]  # exposure, no cover in force
    no_limit_buyers: list[BuyerRow]  # exposure, no usable limit
    above_cover: list[BuyerRow]  # exposure above the cover in force
    cover_lost: list[BuyerRow]
    outside_cover: list[GroupRow]  # countries with exposure under no policy
    countries: list[GroupRow]
    sectors: list[GroupRow]
    suggestions: list[Suggestion]
    policies: list[InsurancePolicy]


def _names(rows: Iterable[BuyerRow]) -> list[str]:
    return [row.name for row in rows]


def _suggestions(
    *,
    currency: str,
    insurance: InsuranceKpis,
    rows: list[BuyerRow],
    above_cover: list[BuyerRow],
    outside_cover: list[GroupRow],
    cover_lost: list[BuyerRow],
    uninsured_buyers: list[BuyerRow],
) -> list[Suggestion]:
    """Policy review points, each from a figure of the data (the thresholds above)."""
    suggestions = []
    share = insurance.protected_share
    if share is not None and share < PROTECTED_SHARE_TARGET:
        suggestions.append(
            Suggestion.about(
                _("Protected share below %(target)s")
                % {"target": percent(PROTECTED_SHARE_TARGET, 0)},
                _(
                    "Only %(share)s of the receivables are insured. Review which buyers and "
                    "countries the policy leaves out."
                )
                % {"share": percent(share)},
            )
        )
    if above_cover:
        total = sum((row.exposure - row.cover for row in above_cover), ZERO)
        suggestions.append(
            Suggestion.about(
                _("Buyers above their cover"),
                ngettext(
                    "%(count)s buyer owes %(amount)s more than its cover in force: "
                    "ask the insurer for higher cover or reduce the limit.",
                    "%(count)s buyers owe %(amount)s more than their cover in force: "
                    "ask the insurer for higher cover or reduce their limits.",
                    len(above_cover),
                )
                % {"count": len(above_cover), "amount": amount(total, currency)},
                _names(above_cover),
            )
        )
    tight = [
        row
        for row in rows
        if row.cover_utilisation is not None and COVER_TIGHT <= row.cover_utilisation <= 1
    ]
    if tight:
        suggestions.append(
            Suggestion.about(
                _("Cover almost fully used"),
                ngettext(
                    "%(count)s buyer uses %(share)s or more of its cover: a larger order "
                    "would be uninsured.",
                    "%(count)s buyers use %(share)s or more of their cover: a larger order "
                    "would be uninsured.",
                    len(tight),
                )
                % {"count": len(tight), "share": percent(COVER_TIGHT, 0)},
                _names(tight),
            )
        )
    idle = [
        row
        for row in rows
        if row.cover_utilisation is not None and row.cover_utilisation < COVER_IDLE
    ]
    if idle:
        unused = sum((row.cover - row.exposure for row in idle), ZERO)
        suggestions.append(
            Suggestion.about(
                _("Cover hardly used"),
                ngettext(
                    "%(count)s buyer uses less than %(share)s of its cover (%(amount)s "
                    "unused): cover that is not needed may be cancelled.",
                    "%(count)s buyers use less than %(share)s of their cover (%(amount)s "
                    "unused): cover that is not needed may be cancelled.",
                    len(idle),
                )
                % {
                    "count": len(idle),
                    "share": percent(COVER_IDLE, 0),
                    "amount": amount(unused, currency),
                },
                _names(idle),
            )
        )
    if outside_cover:
        total = sum((group.exposure for group in outside_cover), ZERO)
        suggestions.append(
            Suggestion.about(
                _("Countries outside the policy"),
                _(
                    "%(amount)s of exposure is on buyers in countries no policy "
                    "covers: consider extending the covered countries."
                )
                % {"amount": amount(total, currency)},
                [f"{group.name} ({group.code})" for group in outside_cover],
            )
        )
    if uninsured_buyers:
        suggestions.append(
            Suggestion.about(
                _("Buyers without cover"),
                ngettext(
                    "%(count)s buyer with exposure has no cover in force: apply for cover "
                    "or keep its limit within what the business may lose.",
                    "%(count)s buyers with exposure have no cover in force: apply for cover "
                    "or keep their limits within what the business may lose.",
                    len(uninsured_buyers),
                )
                % {"count": len(uninsured_buyers)},
                _names(uninsured_buyers),
            )
        )
    if cover_lost:
        suggestions.append(
            Suggestion.about(
                _("Cover lost by late notification"),
                _(
                    "%(amount)s lost its cover because an overdue was not "
                    "notified in time: check the notification routine and deadlines."
                )
                % {"amount": amount(insurance.cover_lost, currency)},
                _names(cover_lost),
            )
        )
    return suggestions


def health_check(*, tenant: Tenant, year: str, as_of: date) -> HealthCheck:
    rows = buyer_rows(tenant=tenant)
    insurance = portfolio_insurance_kpis(tenant=tenant, as_of=as_of)
    claims = claims_kpis(tenant=tenant, as_of=as_of)
    exposed = [row for row in rows if row.exposure > 0]
    uninsured_buyers = sorted(
        (row for row in exposed if not row.cover), key=lambda row: row.exposure, reverse=True
    )
    no_limit_buyers = sorted(
        (row for row in exposed if row.limit is None), key=lambda row: row.exposure, reverse=True
    )
    above_cover = sorted(
        (row for row in exposed if row.cover and row.exposure > row.cover),
        key=lambda row: row.exposure - row.cover,
        reverse=True,
    )
    cover_lost = sorted(
        (row for row in rows if row.cover_lost > 0), key=lambda row: row.cover_lost, reverse=True
    )
    countries = by_country(exposed)
    covered_countries = {
        code
        for version in versions_in_force(on=as_of).values()
        for code in version.covered_countries
    }
    outside = by_country(
        row for row in exposed if row.policy_id is None and row.country not in covered_countries
    )
    return HealthCheck(
        tenant=tenant,
        year=year,
        as_of=as_of,
        currency=tenant.base_currency,
        insurance=insurance,
        claims=claims,
        rows=rows,
        uninsured_buyers=uninsured_buyers,
        no_limit_buyers=no_limit_buyers,
        above_cover=above_cover,
        cover_lost=cover_lost,
        outside_cover=outside,
        countries=sorted(countries, key=lambda group: group.uninsured, reverse=True)[:TOP_ROWS],
        sectors=sorted(by_sector(exposed), key=lambda group: group.uninsured, reverse=True)[
            :TOP_ROWS
        ],
        suggestions=_suggestions(
            currency=tenant.base_currency,
            insurance=insurance,
            rows=exposed,
            above_cover=above_cover,
            outside_cover=outside,
            cover_lost=cover_lost,
            uninsured_buyers=uninsured_buyers,
        ),
        policies=list(InsurancePolicy.objects.order_by("insurer", "number")),
    )
