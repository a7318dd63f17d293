"""Reads for the monitoring pages and API: scores and their explanation, the country risk
table, back-test inputs and results, and the alert feed.

Tenant-owned rows are read through the tenant-scoped managers (and row-level security), so
every function here sees the active tenant's data only; country risk is global reference data.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from buyers.figures import cached_on_figures, figures_fresh
from buyers.models import Buyer, Invoice
from buyers.selectors import scope_q
from creditguard.i18n import sort_key_for_language
from creditguard.reference.models import Country
from creditguard.tenancy.context import current_tenant
from creditguard.tenancy.models import Tenant

from . import backtest
from .alerts import alert_title, lead_time_days
from .models import Alert, BuyerScore, CountryRisk, LegalEvent

HISTORY_PERIODS = 24  # score history shown on the credit file: two years of monthly scores
BUYER_ALERTS_SHOWN = 10
SEVERITY_ORDER = (
    Alert.Severity.CRITICAL,
    Alert.Severity.HIGH,
    Alert.Severity.MEDIUM,
    Alert.Severity.LOW,
)
INSOLVENCY_KINDS = (LegalEvent.Kind.INSOLVENCY_FILING, LegalEvent.Kind.INSOLVENCY_PROCEEDINGS)
# What each country risk rating means (monitoring/risk_data/README.md).
RATING_MEANINGS = {
    1: gettext_lazy("very low risk"),
    2: gettext_lazy("low risk"),
    3: gettext_lazy("low to moderate risk"),
    4: gettext_lazy("moderate risk"),
    5: gettext_lazy("moderately elevated risk"),
    6: gettext_lazy("elevated risk"),
    7: gettext_lazy("high risk"),
    8: gettext_lazy("very high risk"),
    9: gettext_lazy("severe risk"),
    10: gettext_lazy("extreme risk"),
}


# --- Scores ------------------------------------------------------------------------------------


def current_scores(*, period: date | None = None) -> QuerySet[BuyerScore]:
    """One score per buyer: its latest, or the one of ``period`` when given."""
    scores = BuyerScore.objects.select_related("buyer")
    if period is not None:
        return scores.filter(period=period)
    newer = BuyerScore.objects.filter(buyer_id=OuterRef("buyer_id"), period__gt=OuterRef("period"))
    return scores.filter(~Exists(newer))


def score_history(*, buyer: Buyer, periods: int | None = None) -> list[BuyerScore]:
    """The buyer's scores, oldest first; only the latest ``periods`` when given."""
    scores = BuyerScore.objects.filter(buyer=buyer).order_by("-period")
    if periods is not None:
        scores = scores[:periods]
    return list(reversed(scores))


@dataclass(frozen=True)
class FactorExplanation:
    factor: str
    label: str
    points: Decimal
    weight: Decimal | None
    value: Any
    text: str


def explain_factor(factor: Mapping[str, Any]) -> FactorExplanation:
    """One factor of `BuyerScore.factors` in words, in the active language.

    The message is an English msgid with ``%(name)s`` placeholders (see `monitoring.scoring`);
    a translation that does not fit its parameters falls back to the English text.
    """
    message = str(factor.get("message") or "")
    params = factor.get("params") or {}
    try:
        text = _(message) % params if message else ""
    except (KeyError, TypeError, ValueError):
        try:
            text = message % params
        except (KeyError, TypeError, ValueError):
            text = message
    label = str(factor.get("label") or factor.get("factor") or "")
    weight = factor.get("weight")
    return FactorExplanation(
        factor=str(factor.get("factor") or ""),
        label=_(label) if label else "",
        points=Decimal(str(factor.get("points") or 0)),
        weight=Decimal(str(weight)) if weight is not None else None,
        value=factor.get("value"),
        text=text,
    )


def explain_factors(factors: Iterable[Mapping[str, Any]]) -> list[FactorExplanation]:
    return [explain_factor(factor) for factor in factors if isinstance(factor, Mapping)]


@dataclass(frozen=True)
class ChartPoint:
    """A point of `web/_line_chart.html`: ``y`` in percent from the top of the plot."""

    y: Decimal
    label: str  # under the x axis; empty to leave it out
    tooltip: str
    css_class: str = ""


@dataclass(frozen=True)
class ChartTick:
    y: Decimal
    label: str


@dataclass(frozen=True)
class ChartBand:
    y: Decimal
    height: Decimal
    css_class: str


def _grade_y(grade: int) -> Decimal:
    """Grade 1 near the top, 10 near the bottom (better is up), ten units per grade."""
    return Decimal(5 + (grade - 1) * 10)


def grade_risk_class(grade: int | None) -> str:
    """low / medium / high, the colour bands of `policies/_grade.html`."""
    if grade is None:
        return ""
    return "low" if grade <= 4 else "medium" if grade <= 7 else "high"


def grade_chart(scores: Sequence[BuyerScore]) -> dict[str, Any]:
    """`web/_line_chart.html` context for grades over periods."""
    # At most about six period labels under the axis, counted back from the latest so that it
    # is always labelled and never crowded by its neighbour.
    label_every = max(1, -(-len(scores) // 6))
    last = len(scores) - 1
    points = []
    for index, score in enumerate(scores):
        shown = (last - index) % label_every == 0
        points.append(
            ChartPoint(
                y=_grade_y(score.grade),
                label=f"{score.period:%Y-%m}" if shown else "",
                tooltip=_("%(period)s: grade %(grade)s, score %(score)s")
                % {"period": f"{score.period:%Y-%m}", "grade": score.grade, "score": score.score},
                css_class=grade_risk_class(score.grade),
            )
        )
    return {
        "points": points,
        "ticks": [ChartTick(_grade_y(grade), str(grade)) for grade in range(1, 11)],
        # The colour bands of `policies/_grade.html`: 1–4 low, 5–7 medium, 8–10 high risk.
        "bands": [
            ChartBand(Decimal(0), Decimal(40), "low"),
            ChartBand(Decimal(40), Decimal(30), "medium"),
            ChartBand(Decimal(70), Decimal(30), "high"),
        ],
    }


def _bar(item: FactorExplanation, largest: Decimal) -> int:
    """The factor's bar length in percent of the largest contribution."""
    return round(abs(item.points) * 100 / largest) if largest else 0


def buyer_risk_context(*, tenant: Tenant, buyer: Buyer) -> dict[str, Any]:
    """Context for ``monitoring/_buyer_risk.html`` on the buyer's credit file.

    In the view: ``**buyer_risk_context(tenant=request.tenant, buyer=buyer)``; the include
    reads the one key, ``buyer_risk``. Two queries: the score history and the open alerts.
    """
    history = score_history(buyer=buyer, periods=HISTORY_PERIODS)
    current = history[-1] if history else None
    previous = history[-2] if len(history) > 1 else None
    factors = explain_factors(current.factors) if current else []
    grade_change = current.grade - previous.grade if current and previous else None
    largest = max((abs(item.points) for item in factors), default=Decimal(0))
    alerts = list(
        Alert.objects.filter(buyer=buyer)
        .exclude(status=Alert.Status.RESOLVED)
        .order_by("-created_at", "-id")[: BUYER_ALERTS_SHOWN + 1]
    )
    for alert in alerts:
        alert.display_title = alert_title(alert)
        alert.lead_time_days = lead_time_days(alert)
    return {
        "buyer_risk": {
            "tenant": tenant,
            "buyer": buyer,
            "score": current,
            "previous": previous,
            "grade_change": grade_change,
            "grade_steps": abs(grade_change) if grade_change is not None else None,
            "weighing_down": [
                {"factor": item, "bar": _bar(item, largest)}
                for item in sorted(factors, key=lambda item: item.points)
                if item.points < 0
            ],
            "holding_up": [
                {"factor": item, "bar": _bar(item, largest)}
                for item in sorted(factors, key=lambda item: -item.points)
                if item.points > 0
            ],
            "neutral": [item for item in factors if item.points == 0],
            "chart": grade_chart(history) if len(history) > 1 else None,
            "history_count": len(history),
            "open_alerts": alerts[:BUYER_ALERTS_SHOWN],
            "more_alerts": len(alerts) > BUYER_ALERTS_SHOWN,
        }
    }


# --- Country risk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountryRiskRow:
    code: str
    name: str
    rating: int | None
    effective_date: date | None
    source: str
    data_version: str
    previous_rating: int | None
    previous_date: date | None

    @property
    def meaning(self) -> str:
        return str(RATING_MEANINGS.get(self.rating, "")) if self.rating else ""

    @property
    def change(self) -> str:
        """ "downgrade" (worse: higher), "upgrade" (better) or "" (none, or no previous)."""
        if self.rating is None or self.previous_rating is None:
            return ""
        if self.rating > self.previous_rating:
            return "downgrade"
        if self.rating < self.previous_rating:
            return "upgrade"
        return ""


def country_risk_table(
    *, on: date | None = None, search: str = "", rating: int | None = None, ordering: str = "name"
) -> list[CountryRiskRow]:
    """Every country with the rating in force on ``on`` (default today) and the one before it.

    Two queries: the countries and their ratings up to ``on``. Names are in the active
    language; search matches the code and the English and Chinese names.
    """
    on = on or timezone.localdate()
    ratings: dict[str, list[tuple[int, date, str, str]]] = defaultdict(list)
    for code, rating_value, effective_date, source, data_version in (
        CountryRisk.objects.filter(effective_date__lte=on)
        .order_by("country_id", "-effective_date")
        .values_list("country_id", "rating", "effective_date", "source", "data_version")
    ):
        if len(ratings[code]) < 2:
            ratings[code].append((rating_value, effective_date, source, data_version))
    countries = Country.objects.all()
    search = search.strip()
    if search:
        countries = countries.filter(
            Q(code__iexact=search) | Q(name__icontains=search) | Q(name_zh__icontains=search)
        )
    rows = []
    for country in countries:
        current, previous = [*ratings.get(country.code, []), None, None][:2]
        row = CountryRiskRow(
            code=country.code,
            name=country.localized_name,
            rating=current[0] if current else None,
            effective_date=current[1] if current else None,
            source=current[2] if current else "",
            data_version=current[3] if current else "",
            previous_rating=previous[0] if previous else None,
            previous_date=previous[1] if previous else None,
        )
        if rating is None or row.rating == rating:
            rows.append(row)
    return _ordered(rows, ordering)


def _ordered(rows: list[CountryRiskRow], ordering: str) -> list[CountryRiskRow]:
    unrated_last = 99
    name_key = sort_key_for_language(get_language() or "en")
    rows.sort(key=lambda row: name_key(row.name))
    if ordering == "-name":
        rows.reverse()
    elif ordering == "code":
        rows.sort(key=lambda row: row.code)
    elif ordering == "rating":
        rows.sort(key=lambda row: row.rating or unrated_last)
    elif ordering == "-rating":
        rows.sort(key=lambda row: -(row.rating or 0))
    elif ordering == "change":  # downgrades first, then upgrades, by size of the step
        rows.sort(
            key=lambda row: (
                {"downgrade": 0, "upgrade": 1}.get(row.change, 2),
                -abs((row.rating or 0) - (row.previous_rating or row.rating or 0)),
            )
        )
    return rows


def country_risk_history(*, code: str) -> list[CountryRisk]:
    """Every rating of the country, newest first (empty for an unknown code)."""
    return list(CountryRisk.objects.filter(country_id=code.upper()).order_by("-effective_date"))


# --- Back-testing ------------------------------------------------------------------------------


def _as_date(value: date | datetime) -> date:
    return timezone.localdate(value) if isinstance(value, datetime) else value


# Apps above monitoring that record defaults of their own (claims) register a source here from
# their `ready()`: a callable giving (buyer id, date) pairs, read by `default_dates`.
DefaultSource = Callable[[], Iterable[tuple[int, date]]]
DEFAULT_SOURCES: list[DefaultSource] = []


def register_default_source(source: DefaultSource) -> None:
    """Let `default_dates` count the defaults `source` knows of (called from an app's
    ``ready``; monitoring never imports the apps above it)."""
    if source not in DEFAULT_SOURCES:
        DEFAULT_SOURCES.append(source)


def default_dates() -> dict[int, date]:
    """Buyer id → date of the buyer's first default event.

    A default event is an insolvency filing or proceedings (`LegalEvent`), the buyer's status
    insolvent (dated by its last change, the best date the buyer record keeps), an invoice
    written off (dated by its last change) or one a registered source knows of (claims: an
    insolvency claim, or a paid protracted-default claim, dated by its date of loss).
    """
    first: dict[int, date] = {}

    def add(rows: Iterable[tuple[int, date | datetime | None]]) -> None:
        for buyer_id, when in rows:
            if when is None:
                continue
            day = _as_date(when)
            if buyer_id not in first or day < first[buyer_id]:
                first[buyer_id] = day

    add(
        LegalEvent.objects.filter(kind__in=INSOLVENCY_KINDS)
        .values("buyer_id")
        .annotate(first=Min("event_date"))
        .values_list("buyer_id", "first")
    )
    add(Buyer.objects.filter(status=Buyer.Status.INSOLVENT).values_list("id", "updated_at"))
    add(
        Invoice.objects.filter(status=Invoice.Status.WRITTEN_OFF)
        .values("buyer_id")
        .annotate(first=Min("updated_at"))
        .values_list("buyer_id", "first")
    )
    for source in DEFAULT_SOURCES:
        add(source())
    return first


def model_versions() -> list[str]:
    """Model versions with scores, the one used most recently first."""
    return list(
        BuyerScore.objects.order_by()
        .values("model_version")
        .annotate(latest=Max("period"))
        .order_by("-latest", "model_version")
        .values_list("model_version", flat=True)
    )


def backtest_observations(
    *,
    model_version: str,
    first_period: date | None = None,
    last_period: date | None = None,
    defaults: Mapping[int, date] | None = None,
) -> list[backtest.Observation]:
    """One observation per score of ``model_version`` (periods in the window, both included),
    with the buyer's first default date (`default_dates`), in period and buyer order.

    The knowledge date (`Observation.known_on`) is the score's as-of day; scores from before
    as-of scoring have none, and the local day they were computed stands in. ``defaults`` lets a
    caller that reads several versions pass `default_dates()` once. For millions of scores,
    `backtest_columns` reads the same without an object per score.
    """
    observations = backtest_columns(
        model_version=model_version,
        first_period=first_period,
        last_period=last_period,
        defaults=defaults,
    ).observations()
    return sorted(observations, key=lambda item: (item.period, item.buyer_id))


class _DaysSinceEpoch(Func):
    """A date as whole days since 1970-01-01 (PostgreSQL: date − date is an integer)."""

    template = "(%(expressions)s - DATE '1970-01-01')"
    output_field = IntegerField()


_EPOCH = np.datetime64("1970-01-01", "D")
# What `backtest_columns` reads of each score, with the type it parses to.
_BACKTEST_COLUMNS = {
    "buyer_id": np.int64,
    "period_days": np.int64,
    "known_days": np.int64,
    "score": np.float64,
    "grade": np.int64,
    "probability_of_default": np.float64,
}


def backtest_columns(
    *,
    model_version: str,
    first_period: date | None = None,
    last_period: date | None = None,
    defaults: Mapping[int, date] | None = None,
) -> backtest.ObservationColumns:
    """`backtest_observations` as numpy columns, read without a Python object per score (a
    tenant with 100,000 buyers and five years of monthly scores has six million)."""
    if defaults is None:
        defaults = default_dates()
    scores = BuyerScore.objects.filter(model_version=model_version).order_by()
    if first_period:
        scores = scores.filter(period__gte=first_period)
    if last_period:
        scores = scores.filter(period__lte=last_period)
    # Dates as day numbers, so every column parses as a number.
    sql, params = (
        scores.annotate(
            period_days=_DaysSinceEpoch("period"),
            known_days=_DaysSinceEpoch(Coalesce("as_of", TruncDate("computed_at"))),
        )
        .values_list(*_BACKTEST_COLUMNS)
        .query.sql_with_params()
    )
    # COPY as CSV, parsed by pandas' C reader: a tuple per row through the driver took four
    # times as long (6 million scores: 49 s against 11 s, two thirds of it PostgreSQL's).
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    if buffer.getbuffer().nbytes:
        table = pd.read_csv(
            buffer, header=None, names=list(_BACKTEST_COLUMNS), dtype=_BACKTEST_COLUMNS
        )
    else:
        table = pd.DataFrame(
            {name: pd.Series(dtype=kind) for name, kind in _BACKTEST_COLUMNS.items()}
        )
    buyer_ids = table["buyer_id"].to_numpy()
    default_ids = np.array(sorted(defaults), dtype=np.int64)
    default_days = np.array([defaults[key] for key in sorted(defaults)], dtype="datetime64[D]")
    position = np.searchsorted(default_ids, buyer_ids)
    found = position < len(default_ids)
    found[found] = default_ids[position[found]] == buyer_ids[found]
    first_default_on = np.full(len(buyer_ids), np.datetime64("NaT"), dtype="datetime64[D]")
    first_default_on[found] = default_days[position[found]]
    return backtest.ObservationColumns(
        period=_EPOCH + table["period_days"].to_numpy(),
        known_on=_EPOCH + table["known_days"].to_numpy(),
        score=table["score"].to_numpy(),
        grade=table["grade"].to_numpy(),
        probability_of_default=table["probability_of_default"].to_numpy(),
        first_default_on=first_default_on,
        buyer_id=buyer_ids,
    )


def backtest_reports(
    *,
    model_version: str | None = None,
    first_period: date | None = None,
    last_period: date | None = None,
    as_of: date | None = None,
) -> list[backtest.BacktestResult]:
    """Back-test of each model version (or of ``model_version``) against the default events,
    over the scores of the periods in the window (both included), newest model first. Call
    with the tenant active.

    Each version's result is cached until its inputs change (a tenant with five years of
    monthly scores of 100,000 buyers has six million; reading them takes seconds): the key
    holds the window, the day (outcomes are judged as of today) and a digest of the default
    dates (legal events and claims are not in the figures), and `cached_on_figures` renews it
    whenever a score is written or removed, as every change to the score table marks the
    buyer's figures. The figures are made current first, so nothing already changed is
    served from the cache."""
    as_of = as_of or timezone.localdate()
    tenant = current_tenant()
    figures_fresh(tenant=tenant)
    defaults = default_dates()
    digest = hashlib.blake2b(
        repr(sorted(defaults.items())).encode(), digest_size=16, usedforsecurity=False
    ).hexdigest()
    versions = [model_version] if model_version else model_versions()
    reports = []
    for version in versions:

        def compute(version: str = version) -> backtest.BacktestResult | None:
            columns = backtest_columns(
                model_version=version,
                first_period=first_period,
                last_period=last_period,
                defaults=defaults,
            )
            if not len(columns):
                return None
            return backtest.backtest_columns(columns, model_version=version, as_of=as_of)

        report = cached_on_figures(
            tenant=tenant,
            key=f"backtest:{version}:{first_period}:{last_period}:{as_of}:{digest}",
            compute=compute,
        )
        if report is not None:
            reports.append(report)
    return sorted(reports, key=lambda report: report.last_period or date.min, reverse=True)


# --- Alerts ------------------------------------------------------------------------------------


def alert_feed(
    *,
    status: str = "",
    severity: str = "",
    rule: str = "",
    search: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
    policy_id: int | None = None,
    country: str = "",
    sector: str = "",
    grade_min: int | None = None,
    grade_max: int | None = None,
) -> QuerySet[Alert]:
    """Alerts newest first, with their buyer and the people who acknowledged and resolved them.

    ``search`` matches part of the buyer's name or its whole ERP reference; the dates are the
    days the warnings were raised, both included, in the site's time zone. The buyer's
    covering policy, country, sector and current grade narrow the feed as they narrow the
    dashboard (`buyers.selectors.scope_q`; call `figures_fresh` first).
    """
    alerts = Alert.objects.select_related("buyer", "acknowledged_by", "resolved_by").filter(
        scope_q(
            buyer="buyer__",
            figures="buyer__figures__",
            policy_id=policy_id,
            country=country,
            sector=sector,
            grade_min=grade_min,
            grade_max=grade_max,
        )
    )
    if status:
        alerts = alerts.filter(status=status)
    if severity:
        alerts = alerts.filter(severity=severity)
    if rule:
        alerts = alerts.filter(rule=rule)
    search = search.strip()
    if search:
        alerts = alerts.filter(
            Q(buyer__legal_name__icontains=search) | Q(buyer__erp_reference__iexact=search)
        )
    zone = timezone.get_current_timezone()
    if created_from:
        alerts = alerts.filter(created_at__gte=datetime.combine(created_from, time.min, zone))
    if created_to:
        alerts = alerts.filter(created_at__lte=datetime.combine(created_to, time.max, zone))
    return alerts.order_by("-created_at", "-id")


def open_alert_counts() -> dict[str, int]:
    """Severity → number of open (not yet acknowledged) alerts, every severity present."""
    counts = dict(
        Alert.objects.filter(status=Alert.Status.OPEN)
        .order_by()
        .values("severity")
        .annotate(count=Count("id"))
        .values_list("severity", "count")
    )
    return {str(severity): counts.get(severity, 0) for severity in SEVERITY_ORDER}
