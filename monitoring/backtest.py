"""Back-testing a scoring model against the defaults that happened afterwards.

Pure: no Django, no database. `monitoring.selectors.backtest_reports` collects the inputs (one
observation per scored buyer and period, and each buyer's first default date, as columns) and
this module does the arithmetic, vectorised with numpy: a tenant with 100,000 buyers and five
years of monthly scores has six million observations.

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
- *already in default*: the buyer had defaulted before the score's knowledge date (on or before
  the later of the period and the day whose knowledge the score reflects, `BuyerScore.as_of`).
  Such a score saw the default (an insolvent buyer scores 0), it predicts nothing, and counting
  it would inflate the AUC. The knowledge date, not the day the score was computed, decides: a
  back-filled score computed today for a period three years ago saw only what was known then,
  so it is a real prediction.

Discriminatory power is the AUC (area under the ROC curve): the probability that a randomly
chosen defaulter had a *worse* (lower) score than a randomly chosen performer, ties counting
one half. It is the Mann–Whitney U statistic divided by n_defaulted × n_performing, computed
here from mid-ranks so ties are handled exactly (`auc`). Gini = 2·AUC − 1 (accuracy ratio).
0.5 / 0 is a coin toss, 1 / 1 a perfect ranking, below 0.5 a model ranking the wrong way.

Confidence intervals (95 %)
---------------------------
- AUC: Hanley & McNeil's (1982, Radiology 143:29-36) standard error, AUC ± 1.96·SE, clipped to
  [0, 1]; the Gini interval is the same interval mapped through 2·AUC − 1.
- Default rates (overall and per grade): the exact Clopper–Pearson interval of a binomial
  proportion, from the beta distribution (`default_rate_interval`). It is conservative (it
  covers the true rate at least 95 % of the time, whatever the number of observations), which
  is what a flag should rest on: with 40 observations and no default the rate may still be up
  to 8.8 %.
- PD against observed, per grade (`PdCheck`): the model's mean PD of the grade is compared with
  the grade's interval; a PD below it means the model understates the risk of that grade, one
  above it that it overstates it.

Every interval treats observations as independent. The same buyer scored in several periods is
not independent (a buyer that defaults makes every one of its scores in the 12 months before a
default), so the intervals are somewhat too narrow; they are a guide, not a test.

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

import numpy as np
import numpy.typing as npt
from scipy import stats

HORIZON_MONTHS = 12
MIN_DEFAULTS = 5
MIN_PERFORMING = 5
GRADES = tuple(range(1, 11))
CONFIDENCE = 0.95
Z_95 = 1.959964
PD_PLACES = 5  # BuyerScore.probability_of_default: numeric(7, 5)


class Outcome(StrEnum):
    DEFAULTED = "defaulted"
    PERFORMING = "performing"
    PENDING = "pending"
    ALREADY_IN_DEFAULT = "already_in_default"


class PdCheck(StrEnum):
    """The model's PD of a grade against the 95 % interval of the grade's observed default rate."""

    WITHIN = "within"
    UNDERSTATED = "understated"  # PD below the interval: more defaults than the model expects
    OVERSTATED = "overstated"  # PD above the interval: fewer defaults than the model expects


@dataclass(frozen=True)
class Observation:
    """One score of one buyer for one period, with the buyer's first default date (if any)."""

    buyer_id: int
    period: date  # the first day of the scored month
    known_on: date  # the day whose knowledge the score reflects (its as-of day)
    score: Decimal  # 0–100, higher = safer
    grade: int  # 1 (best) … 10
    probability_of_default: Decimal  # the model's 12-month PD, a fraction
    first_default_on: date | None = None


@dataclass(frozen=True)
class ObservationColumns:
    """Observations as numpy columns of equal length (what `backtest_columns` reads)."""

    period: npt.NDArray[np.datetime64]  # datetime64[D]
    known_on: npt.NDArray[np.datetime64]  # datetime64[D]
    score: npt.NDArray[np.float64]
    grade: npt.NDArray[np.int64]
    probability_of_default: npt.NDArray[np.float64]  # a fraction, `PD_PLACES` decimals
    first_default_on: npt.NDArray[np.datetime64]  # datetime64[D], NaT: never defaulted
    buyer_id: npt.NDArray[np.int64] | None = None  # not needed for the arithmetic

    def __len__(self) -> int:
        return len(self.score)

    @classmethod
    def of(cls, observations: Iterable[Observation]) -> ObservationColumns:
        rows = list(observations)
        return cls(
            period=np.array([row.period for row in rows], dtype="datetime64[D]"),
            known_on=np.array([row.known_on for row in rows], dtype="datetime64[D]"),
            score=np.array([float(row.score) for row in rows], dtype=np.float64),
            grade=np.array([row.grade for row in rows], dtype=np.int64),
            probability_of_default=np.array(
                [float(row.probability_of_default) for row in rows], dtype=np.float64
            ),
            first_default_on=np.array(
                [row.first_default_on for row in rows], dtype="datetime64[D]"
            ),
            buyer_id=np.array([row.buyer_id for row in rows], dtype=np.int64),
        )

    def observations(self) -> list[Observation]:
        """The rows as `Observation`s (scores to 2 places, PDs to `PD_PLACES`)."""
        if self.buyer_id is None:
            raise ValueError("observations need the buyer ids")
        return [
            Observation(
                buyer_id=int(buyer_id),
                period=_day(period),
                known_on=_day(known_on),
                score=Decimal(f"{score:.2f}"),
                grade=int(grade),
                probability_of_default=Decimal(f"{probability:.{PD_PLACES}f}"),
                first_default_on=None if np.isnat(defaulted_on) else _day(defaulted_on),
            )
            for buyer_id, period, known_on, score, grade, probability, defaulted_on in zip(
                self.buyer_id,
                self.period,
                self.known_on,
                self.score,
                self.grade,
                self.probability_of_default,
                self.first_default_on,
                strict=True,
            )
        ]


@dataclass(frozen=True, kw_only=True)
class GradeRow:
    grade: int
    observations: int
    defaults: int
    default_rate: Decimal | None  # observed, a fraction; None without observations
    default_rate_low: Decimal | None = None  # 95 % Clopper–Pearson interval
    default_rate_high: Decimal | None = None
    mean_pd: Decimal | None  # predicted by the model, a fraction
    pd_check: PdCheck | None = None  # None without observations

    @property
    def pd_outside(self) -> bool:
        """The model's PD lies outside the 95 % interval of the observed default rate."""
        return self.pd_check in (PdCheck.UNDERSTATED, PdCheck.OVERSTATED)


@dataclass(frozen=True, kw_only=True)
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
    gini_low: Decimal | None = None  # the AUC interval through 2·AUC − 1
    gini_high: Decimal | None = None
    default_rate: Decimal | None  # observed over all observations
    default_rate_low: Decimal | None = None  # 95 % Clopper–Pearson interval
    default_rate_high: Decimal | None = None
    mean_pd: Decimal | None  # predicted over all observations
    by_grade: list[GradeRow] = field(default_factory=list)
    first_period: date | None = None
    last_period: date | None = None

    @property
    def grades_off(self) -> list[int]:
        """Grades whose PD lies outside the interval of their observed default rate."""
        return [row.grade for row in self.by_grade if row.pd_outside]


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, kept within the month (Jan 31 + 1 → Feb 28)."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_months_array(days: npt.NDArray[np.datetime64], months: int) -> npt.NDArray[np.datetime64]:
    """`add_months` for a datetime64[D] column."""
    month_starts = days.astype("datetime64[M]")
    day_index = (days - month_starts.astype("datetime64[D]")).astype(np.int64)
    target = month_starts + np.timedelta64(months, "M")
    month_lengths = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    moved: npt.NDArray[np.datetime64] = target.astype("datetime64[D]") + np.minimum(
        day_index, month_lengths - 1
    )
    return moved


def outcome(
    *,
    period: date,
    known_on: date,
    first_default_on: date | None,
    as_of: date,
    horizon_months: int = HORIZON_MONTHS,
) -> Outcome:
    """The outcome of a score for ``period`` made from what was known on ``known_on``, as far as
    it is known on ``as_of``."""
    window_end = add_months(period, horizon_months)
    if first_default_on is not None:
        if first_default_on <= max(period, known_on):
            return Outcome.ALREADY_IN_DEFAULT
        if first_default_on <= window_end and first_default_on <= as_of:
            return Outcome.DEFAULTED
    if window_end <= as_of:
        return Outcome.PERFORMING
    return Outcome.PENDING


_NEVER = np.datetime64("9999-12-31", "D")


def outcomes(
    columns: ObservationColumns, *, as_of: date, horizon_months: int = HORIZON_MONTHS
) -> dict[Outcome, npt.NDArray[np.bool_]]:
    """`outcome` for every observation: one boolean mask per outcome (they partition the rows)."""
    # A handful of distinct periods (months) among millions of rows: move each once.
    periods, which = np.unique(columns.period, return_inverse=True)
    window_end = add_months_array(periods, horizon_months)[which]
    defaulted_on = np.where(np.isnat(columns.first_default_on), _NEVER, columns.first_default_on)
    known = np.datetime64(as_of, "D")
    already = defaulted_on <= np.maximum(columns.period, columns.known_on)
    defaulted = ~already & (defaulted_on <= window_end) & (defaulted_on <= known)
    performing = ~already & ~defaulted & (window_end <= known)
    return {
        Outcome.DEFAULTED: defaulted,
        Outcome.PERFORMING: performing,
        Outcome.PENDING: ~(already | defaulted | performing),
        Outcome.ALREADY_IN_DEFAULT: already,
    }


def auc(scores: Sequence[float | Decimal], defaulted: Sequence[bool]) -> float | None:
    """Mann–Whitney AUC: P(performer's score > defaulter's score) + ½ P(equal).

    Scores are "higher = safer". Mid-ranks give tied scores the average of the ranks they span,
    which is what counts a tie as one half. None when either group is empty.
    """
    if len(scores) != len(defaulted):
        raise ValueError("scores and defaulted differ in length")
    return auc_array(
        np.array([float(score) for score in scores], dtype=np.float64),
        np.array(defaulted, dtype=np.bool_),
    )


def auc_array(scores: npt.NDArray[np.float64], defaulted: npt.NDArray[np.bool_]) -> float | None:
    """`auc` of numpy columns."""
    n_defaulted = int(np.count_nonzero(defaulted))
    n_performing = len(defaulted) - n_defaulted
    if n_defaulted == 0 or n_performing == 0:
        return None
    ranks = stats.rankdata(scores, method="average")  # 1-based mid-ranks
    rank_sum_performing = float(ranks[~defaulted].sum())
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


def auc_interval(area: float, *, n_defaulted: int, n_performing: int) -> tuple[float, float]:
    """The 95 % interval of an AUC (Hanley & McNeil), clipped to [0, 1]."""
    margin = Z_95 * auc_standard_error(area, n_defaulted=n_defaulted, n_performing=n_performing)
    return max(0.0, area - margin), min(1.0, area + margin)


def default_rate_interval(
    defaults: int, observations: int, *, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The exact (Clopper–Pearson) interval of a default rate: ``defaults`` of ``observations``.

    Lower bound: the α/2 quantile of Beta(k, n − k + 1), 0 when k = 0; upper bound: the
    1 − α/2 quantile of Beta(k + 1, n − k), 1 when k = n. None without observations.
    """
    if observations <= 0:
        return None
    if not 0 <= defaults <= observations:
        raise ValueError("defaults must lie between 0 and the observations")
    tail = (1 - confidence) / 2
    low = (
        0.0 if defaults == 0 else float(stats.beta.ppf(tail, defaults, observations - defaults + 1))
    )
    high = (
        1.0
        if defaults == observations
        else float(stats.beta.ppf(1 - tail, defaults + 1, observations - defaults))
    )
    return low, high


def pd_check(
    probability_of_default: Decimal | None, interval: tuple[Decimal, Decimal] | None
) -> PdCheck | None:
    """Where the model's PD lies against the interval of the observed default rate."""
    if probability_of_default is None or interval is None:
        return None
    low, high = interval
    if probability_of_default < low:
        return PdCheck.UNDERSTATED
    if probability_of_default > high:
        return PdCheck.OVERSTATED
    return PdCheck.WITHIN


def _places(value: float | Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _mean_pd(pd_units_total: int, count: int) -> Decimal | None:
    """The mean of PDs given in units of 10^-PD_PLACES (summed exactly, as integers)."""
    if not count:
        return None
    return _places(Decimal(pd_units_total).scaleb(-PD_PLACES) / count, PD_PLACES)


def _rate_interval(defaults: int, count: int) -> tuple[Decimal, Decimal] | None:
    interval = default_rate_interval(defaults, count)
    if interval is None:
        return None
    low, high = (_places(bound, PD_PLACES) for bound in interval)
    assert low is not None and high is not None
    return low, high


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
    return backtest_columns(
        ObservationColumns.of(observations),
        model_version=model_version,
        as_of=as_of,
        horizon_months=horizon_months,
        min_defaults=min_defaults,
        min_performing=min_performing,
    )


def backtest_columns(
    columns: ObservationColumns,
    *,
    model_version: str,
    as_of: date,
    horizon_months: int = HORIZON_MONTHS,
    min_defaults: int = MIN_DEFAULTS,
    min_performing: int = MIN_PERFORMING,
) -> BacktestResult:
    """`backtest` of observations given as columns."""
    masks = outcomes(columns, as_of=as_of, horizon_months=horizon_months)
    defaulted, performing = masks[Outcome.DEFAULTED], masks[Outcome.PERFORMING]
    known = defaulted | performing
    defaults = int(np.count_nonzero(defaulted))
    performers = int(np.count_nonzero(performing))
    observed = defaults + performers
    sufficient = defaults >= min_defaults and performers >= min_performing

    area = auc_array(columns.score[known], defaulted[known]) if sufficient else None
    low = high = None
    if area is not None:
        low, high = auc_interval(area, n_defaulted=defaults, n_performing=performers)

    # PDs in units of 10^-5 as integers, so the means are exact decimals.
    pd_units = np.rint(columns.probability_of_default[known] * 10**PD_PLACES).astype(np.int64)
    grades = columns.grade[known]
    size = max(GRADES) + 1
    if len(grades):
        size = max(size, int(grades.max()) + 1)
    count_by_grade = np.bincount(grades, minlength=size)
    defaults_by_grade = np.bincount(grades[defaulted[known]], minlength=size)
    pd_units_by_grade = np.bincount(grades, weights=pd_units, minlength=size)

    by_grade = []
    for grade in GRADES:
        count, grade_defaults = int(count_by_grade[grade]), int(defaults_by_grade[grade])
        interval = _rate_interval(grade_defaults, count)
        mean_pd = _mean_pd(round(float(pd_units_by_grade[grade])), count)
        by_grade.append(
            GradeRow(
                grade=grade,
                observations=count,
                defaults=grade_defaults,
                default_rate=_places(grade_defaults / count, PD_PLACES) if count else None,
                default_rate_low=interval[0] if interval else None,
                default_rate_high=interval[1] if interval else None,
                mean_pd=mean_pd,
                pd_check=pd_check(mean_pd, interval),
            )
        )
    overall = _rate_interval(defaults, observed)
    has_periods = len(columns) > 0
    return BacktestResult(
        model_version=model_version,
        observations=observed,
        defaults=defaults,
        performing=performers,
        pending=int(np.count_nonzero(masks[Outcome.PENDING])),
        already_in_default=int(np.count_nonzero(masks[Outcome.ALREADY_IN_DEFAULT])),
        sufficient=sufficient,
        auc=_places(area, 4),
        gini=_places(gini(area), 4) if area is not None else None,
        auc_low=_places(low, 4),
        auc_high=_places(high, 4),
        gini_low=_places(gini(low), 4) if low is not None else None,
        gini_high=_places(gini(high), 4) if high is not None else None,
        default_rate=_places(defaults / observed, PD_PLACES) if observed else None,
        default_rate_low=overall[0] if overall else None,
        default_rate_high=overall[1] if overall else None,
        mean_pd=_mean_pd(int(pd_units.sum()), observed),
        by_grade=by_grade,
        first_period=_day(columns.period.min()) if has_periods else None,
        last_period=_day(columns.period.max()) if has_periods else None,
    )


def _day(value: np.datetime64) -> date:
    day: date = value.astype("datetime64[D]").item()
    return day
