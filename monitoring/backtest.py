"""Back-testing a scoring model against the defaults that happened afterwards.

Pure: no Django, no database. `monitoring.selectors.backtest_reports` collects the inputs (one
`Observation` per scored buyer and period, and each buyer's first default date) and this module
does the arithmetic.

What is measured
----------------
Every score is a prediction: "this buyer is this risky for the next 12 months". An observation
is one (buyer, period) score; its outcome is whether the buyer defaulted within
`HORIZON_MONTHS` after the period (`outcome`):

- *defaulted*: the first default came after the score and at most 12 months after the period;
- *performing*: no default in that window, and the window is over;
- *pending*: no default yet and the window is still open; the outcome is unknown, so the
  observation is left out (counting it as performing would flatter the model and understate
  the default rates);
- *already in default*: the buyer had defaulted before the score was made (on or before the
  later of the period and the day it was computed). Such a score saw the default (an insolvent
  buyer scores 0), it predicts nothing, and counting it would inflate the AUC.

Discriminatory power is the AUC (area under the ROC curve): the probability that a randomly
chosen defaulter had a *worse* (lower) score than a randomly chosen performer, ties counting
one half. It is the Mann–Whitney U statistic divided by n_defaulted × n_performing, computed
here from mid-ranks so ties are handled exactly (`auc`). Gini = 2·AUC − 1 (accuracy ratio).
0.5 / 0 is a coin toss, 1 / 1 a perfect ranking, below 0.5 a model ranking the wrong way.

The standard error is Hanley & McNeil's (1982, Radiology 143:29-36), which treats observations
as independent. The same buyer scored in several periods is not independent, so the interval
is somewhat too narrow; it is shown as a guide, not a test.

With fewer than `MIN_DEFAULTS` defaulted or `MIN_PERFORMING` performing observations the AUC is
not reported: with two defaults it can only take a handful of values and says nothing.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

HORIZON_MONTHS = 12
MIN_DEFAULTS = 5
MIN_PERFORMING = 5
GRADES = tuple(range(1, 11))
Z_95 = 1.959964


class Outcome(StrEnum):
    DEFAULTED = "defaulted"
    PERFORMING = "performing"
    PENDING = "pending"
    ALREADY_IN_DEFAULT = "already_in_default"


@dataclass(frozen=True)
class Observation:
    """One score of one buyer for one period, with the buyer's first default date (if any)."""

    buyer_id: int
    period: date  # the first day of the scored month
    computed_on: date  # the day the score was (last) computed
    score: Decimal  # 0–100, higher = safer
    grade: int  # 1 (best) … 10
    probability_of_default: Decimal  # the model's 12-month PD, a fraction
    first_default_on: date | None = None


@dataclass(frozen=True)
class GradeRow:
    grade: int
    observations: int
    defaults: int
    default_rate: Decimal | None  # observed, a fraction; None without observations
    mean_pd: Decimal | None  # predicted by the model, a fraction


@dataclass(frozen=True)
class BacktestResult:
    model_version: str
    observations: int  # with a known outcome (defaulted + performing)
    defaults: int
    performing: int
    pending: int
    already_in_default: int
    sufficient: bool  # enough defaults and performers to judge the ranking
    auc: Decimal | None  # 4 places; None when not sufficient
    gini: Decimal | None
    auc_low: Decimal | None  # 95 % interval (Hanley & McNeil), clipped to [0, 1]
    auc_high: Decimal | None
    default_rate: Decimal | None  # observed over all observations
    mean_pd: Decimal | None  # predicted over all observations
    by_grade: list[GradeRow] = field(default_factory=list)
    first_period: date | None = None
    last_period: date | None = None


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, kept within the month (Jan 31 + 1 → Feb 28)."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def outcome(
    *,
    period: date,
    computed_on: date,
    first_default_on: date | None,
    as_of: date,
    horizon_months: int = HORIZON_MONTHS,
) -> Outcome:
    """The outcome of a score made for ``period`` on ``computed_on``, known on ``as_of``."""
    window_end = add_months(period, horizon_months)
    if first_default_on is not None:
        if first_default_on <= max(period, computed_on):
            return Outcome.ALREADY_IN_DEFAULT
        if first_default_on <= window_end and first_default_on <= as_of:
            return Outcome.DEFAULTED
    if window_end <= as_of:
        return Outcome.PERFORMING
    return Outcome.PENDING


def auc(scores: Sequence[float | Decimal], defaulted: Sequence[bool]) -> float | None:
    """Mann–Whitney AUC: P(performer's score > defaulter's score) + ½ P(equal).

    Scores are "higher = safer". Mid-ranks give tied scores the average of the ranks they span,
    which is what counts a tie as one half. None when either group is empty.
    """
    if len(scores) != len(defaulted):
        raise ValueError("scores and defaulted differ in length")
    n_defaulted = sum(1 for flag in defaulted if flag)
    n_performing = len(defaulted) - n_defaulted
    if n_defaulted == 0 or n_performing == 0:
        return None
    order = sorted(range(len(scores)), key=lambda index: float(scores[index]))
    rank_sum_performing = 0.0
    position = 0
    while position < len(order):
        tied_end = position
        value = float(scores[order[position]])
        while tied_end + 1 < len(order) and float(scores[order[tied_end + 1]]) == value:
            tied_end += 1
        mid_rank = (position + 1 + tied_end + 1) / 2  # ranks are 1-based
        for index in order[position : tied_end + 1]:
            if not defaulted[index]:
                rank_sum_performing += mid_rank
        position = tied_end + 1
    u_performing = rank_sum_performing - n_performing * (n_performing + 1) / 2
    return u_performing / (n_performing * n_defaulted)


def gini(area: float) -> float:
    """Gini coefficient (accuracy ratio) from the AUC."""
    return 2 * area - 1


def auc_standard_error(area: float, *, n_defaulted: int, n_performing: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    q1 = area / (2 - area)
    q2 = 2 * area * area / (1 + area)
    variance = (
        area * (1 - area)
        + (n_defaulted - 1) * (q1 - area * area)
        + (n_performing - 1) * (q2 - area * area)
    ) / (n_defaulted * n_performing)
    return math.sqrt(max(variance, 0.0))


def _places(value: float | Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return _places(sum(values, Decimal(0)) / len(values), 5) if values else None


def backtest(
    observations: Iterable[Observation],
    *,
    model_version: str,
    as_of: date,
    horizon_months: int = HORIZON_MONTHS,
    min_defaults: int = MIN_DEFAULTS,
    min_performing: int = MIN_PERFORMING,
) -> BacktestResult:
    """AUC, Gini, default rate by grade and counts for one model version's observations."""
    counts = dict.fromkeys(Outcome, 0)
    known: list[Observation] = []
    flags: list[bool] = []
    periods: list[date] = []
    for observation in observations:
        periods.append(observation.period)
        result = outcome(
            period=observation.period,
            computed_on=observation.computed_on,
            first_default_on=observation.first_default_on,
            as_of=as_of,
            horizon_months=horizon_months,
        )
        counts[result] += 1
        if result in (Outcome.DEFAULTED, Outcome.PERFORMING):
            known.append(observation)
            flags.append(result == Outcome.DEFAULTED)

    defaults = counts[Outcome.DEFAULTED]
    performing = counts[Outcome.PERFORMING]
    sufficient = defaults >= min_defaults and performing >= min_performing
    area = auc([item.score for item in known], flags) if sufficient else None
    low = high = None
    if area is not None:
        margin = Z_95 * auc_standard_error(area, n_defaulted=defaults, n_performing=performing)
        low, high = max(0.0, area - margin), min(1.0, area + margin)

    by_grade = []
    for grade in GRADES:
        rows = [
            (item, flag) for item, flag in zip(known, flags, strict=True) if item.grade == grade
        ]
        grade_defaults = sum(1 for _item, flag in rows if flag)
        by_grade.append(
            GradeRow(
                grade=grade,
                observations=len(rows),
                defaults=grade_defaults,
                default_rate=_places(grade_defaults / len(rows), 5) if rows else None,
                mean_pd=_mean([item.probability_of_default for item, _flag in rows]),
            )
        )
    return BacktestResult(
        model_version=model_version,
        observations=len(known),
        defaults=defaults,
        performing=performing,
        pending=counts[Outcome.PENDING],
        already_in_default=counts[Outcome.ALREADY_IN_DEFAULT],
        sufficient=sufficient,
        auc=_places(area, 4),
        gini=_places(gini(area), 4) if area is not None else None,
        auc_low=_places(low, 4),
        auc_high=_places(high, 4),
        default_rate=_places(defaults / len(known), 5) if known else None,
        mean_pd=_mean([item.probability_of_default for item in known]),
        by_grade=by_grade,
        first_period=min(periods) if periods else None,
        last_period=max(periods) if periods else None,
    )
