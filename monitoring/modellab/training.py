"""Training a scorecard on a tenant's own history, with its out-of-time back-test.

A credit manager starts a training (`training_start`); a Celery task (`monitoring.train_model`)
runs it (`training_execute`) and leaves a `ScoringModel` with status *trained* (its scorecard in
``spec``, its figures in ``metrics``) or *failed* (with the reason in ``error``). Promotion,
shadow mode and the pages are `monitoring.modellab.lifecycle` and the views.

The data
--------
An observation is a (buyer, month P): the buyer's features as of P's first day, from what was
known then (`monitoring.rescoring.buyer_risk_frame` with ``as_of=P``, the same inputs the
back-fill scores), and its outcome over the 12 months after P (`monitoring.backtest.outcome`
with the first default dates of `monitoring.selectors.default_dates`, known today). Only
*defaulted* and *performing* observations count: a buyer already in default on P predicts
nothing, one whose 12 months are not over has no outcome yet. The buyers of month P are those
known then (`monitoring.backfill.buyers_first_known`: an invoice issued or a statement known on
or before P). Every query runs with the tenant active, under row-level security, so another
tenant's buyers and defaults cannot enter the data.

Windows (`training_windows`): the **test** window is by default the latest 12 months whose
12-month outcome is complete (the last one 12 months before the current month), the **training**
window the up to 48 months before it. The test months come after every training month, so the
back-test is out of time; the training labels are the outcomes known today, so a training month
near the test window can see a default that happens during it (the usual overlap of an
out-of-time sample in credit scoring; the buyers' features in the test window are new). Above
`MAX_OBSERVATIONS` buyer-months, every k-th month is used (counted back from each window's end).
With fewer than `MIN_TRAINING_DEFAULTS` defaults in the training window the training fails with
that reason: a scorecard fitted on a handful of defaults would only describe them.

The fit (`fit_scorecard`)
-------------------------
1. **Monotone binning** of each feature with optbinning (`OptimalBinning`, constraint
   programming, ``monotonic_trend="auto_asc_desc"``: the default rate only rises or only falls
   from bin to bin, so a better ratio never costs points), each bin holding at least 5 % of the
   buyer-months with the feature known, and at least one default and one performer. The splits
   are rounded to 4 significant digits so the explanation can show them; the weight of evidence
   of each bin, WoE = ln(share of performers / share of defaults), is computed on the rounded
   bins (higher = safer). Missing values are no bin: their WoE is 0, hence 0 points.
2. **Selection**: features with an information value IV = Σ (performer share − default share)
   × WoE of at least `MIN_INFORMATION_VALUE` (0.02, "weak" and above) are kept; of two whose
   WoE columns correlate above `MAX_CORRELATION` (Z'' and one of its own ratios, say) only the
   one with the higher IV, so one piece of evidence is not split over several factors. The
   metrics list every dropped feature with its reason: "no_data" (under `MIN_KNOWN_VALUES`
   known values, or under two defaults or performers among them), "no_variation", "low_iv",
   "correlated" (``with`` the one kept) or "wrong_sign".
3. **Regression**: an L2-regularised logistic regression (scikit-learn) of default on the WoE
   columns. Its strength C is chosen from `REGULARISATION_GRID` by the out-of-fold log loss
   over `FOLDS` folds that keep each buyer's months together (`StratifiedGroupKFold`): a
   buyer's months share one outcome, so the effective sample is the buyers, not the
   buyer-months, and an unregularised fit would learn them by heart. (Too few buyers to fold:
   C = `REGULARISATION_C`.) A coefficient with the wrong sign (> 0: the safer bin would cost
   points, which happens with correlated features) drops its feature and the regression is
   refitted, until every sign is right.
4. **Points**: bin points = −scale × coefficient × WoE, rounded to cents, and
   score = clip(50 + Σ points, 0, 100) (`monitoring.modellab.scorecard`). The scale is
   `POINTS_TO_DOUBLE_ODDS` / ln 2 points per unit of log-odds: 7.5 points double the odds of
   default, as the built-in grade bands from 2 to 8 are 7–8 points wide with the PD doubling per
   grade, so a grade means a similar step of risk in both models. When that would push more than
   1 % of the training buyer-months past 5 or 95 points (a very strong model), the scale shrinks
   so that they stay within, keeping the grades spread over 1–10 rather than piled up at 0 and
   100. A buyer with no data scores 50, the average risk of the training data.
5. **PDs**: the grades are the built-in bands; each grade's PD is calibrated on the training
   window's observations (`monitoring.calibration.calibrate_grades`, prior: the built-in
   `scoring.PD_BY_GRADE` with the default prior strength; monotone in grade), each graded by
   the regression of the fold that did not see its buyer: in-sample grades are too sure of
   themselves (their riskiest grades riskier, their safest safer than on new buyers), and
   PDs calibrated on them would be too.

The metrics (``ScoringModel.metrics``)
--------------------------------------
Training AUC; on the test window the back-test (`monitoring.backtest.backtest`: AUC with its
95 % interval, Gini, default rate, observed default rate against the PD per grade) of the new
scorecard **and** of the built-in model (`monitoring.modellab.registry.score_with`, PDs of the
tenant's active calibration if any) on the same observations; the features kept with IV,
coefficient and points range, and those dropped with the reason.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedGroupKFold

from creditguard.audit.services import audit_record
from creditguard.dates import is_supported, today
from creditguard.locks import job_lock
from creditguard.queue import enqueue_on_commit
from creditguard.tenancy.context import current_tenant, tenant_context
from creditguard.tenancy.models import Tenant

from .. import backfill, backtest, rescoring, scoring, selectors
from ..calibration import DEFAULT_PRIOR_STRENGTH, calibrate_grades, pd_decimals
from ..models import ScoringModel
from ..scoring import Floats, Integers
from . import features as feature_set
from . import registry
from .scorecard import SPEC_FORMAT, bin_index, score_features

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

logger = logging.getLogger(__name__)

TASK = "monitoring.train_model"
TEST_PERIODS = 12
MAX_TRAINING_PERIODS = 48
MAX_OBSERVATIONS = 500_000
MIN_TRAINING_DEFAULTS = 30
MIN_BIN_SIZE = 0.05
MIN_INFORMATION_VALUE = 0.02
REGULARISATION_C = 1.0  # without enough buyers to cross-validate
REGULARISATION_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
FOLDS = 5
POINTS_TO_DOUBLE_ODDS = 7.5
SCORE_HEADROOM = 45.0  # the 0.5–99.5 % quantiles of the training points stay within 50 ± this
MAX_CORRELATION = 0.9  # of two features' WoE columns: the one with less information goes
MIN_KNOWN_VALUES = 20
SPLIT_DIGITS = 4  # significant digits of a shown split
# Progress steps after the months: one per feature binned, the regression, the calibration and
# the back-test.
FIT_STEPS = len(feature_set.FEATURE_NAMES) + 3
_LOCK_NAMESPACE = 0x534D444C  # "SMDL": first key of the per-model advisory lock
Booleans = npt.NDArray[np.bool_]


class TrainingRefused(Exception):
    """The data cannot train a scorecard; the message says why (stored as the model's error)."""


# --- Binning and fitting (no database) -----------------------------------------------------------


@dataclass(frozen=True)
class BinnedFeature:
    """One feature's monotone bins (``len(splits) + 1`` of them) and their statistics."""

    name: str
    splits: list[float]
    woe: list[float]
    counts: list[int]
    defaults: list[int]
    iv: float

    def woe_of(self, values: Floats) -> Floats:
        """The WoE of each value's bin; 0 (neutral) where the value is missing."""
        bins = bin_index(self.splits, values)
        woe: Floats = np.where(np.isnan(values), 0.0, np.asarray(self.woe)[bins])
        return woe


def bin_feature(
    name: str, values: Floats, defaulted: Booleans, *, min_bin_size: float = MIN_BIN_SIZE
) -> BinnedFeature | None:
    """Monotone optimal bins of ``values`` (NaN = missing, left out) against ``defaulted``;
    None when the known values cannot be binned (too few, constant, a single class)."""
    # Imported here: optbinning (with its solver) takes seconds to import, and the web
    # processes that start a training (`training_start`) never bin.
    from optbinning import OptimalBinning

    if unbinnable(values, defaulted) is not None:
        return None
    known = ~np.isnan(values)
    x, y = values[known], defaulted[known].astype(int)
    binning = OptimalBinning(
        name=name,
        dtype="numerical",
        monotonic_trend="auto_asc_desc",
        solver="cp",
        min_bin_size=min_bin_size,
        min_bin_n_event=1,
        min_bin_n_nonevent=1,
    )
    binning.fit(x, y)
    if binning.status not in ("OPTIMAL", "FEASIBLE"):
        return None
    exact = [float(split) for split in binning.splits]
    rounded = sorted({_significant(split, SPLIT_DIGITS) for split in exact})
    binned = _bin_statistics(name, rounded, x, y)
    if not _monotone(binned.woe):
        binned = _bin_statistics(name, exact, x, y)
    return binned


def unbinnable(values: Floats, defaulted: Booleans) -> str | None:
    """Why ``values`` cannot be binned: "no_data" (fewer than `MIN_KNOWN_VALUES` known, or
    fewer than two defaults or two performers among them), "no_variation" (one value); None
    when they can."""
    known = ~np.isnan(values)
    events = int(np.count_nonzero(defaulted[known]))
    count = int(np.count_nonzero(known))
    if count < MIN_KNOWN_VALUES or events < 2 or count - events < 2:
        return "no_data"
    if np.unique(values[known]).size < 2:
        return "no_variation"
    return None


def _significant(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _monotone(values: Sequence[float]) -> bool:
    steps = np.diff(np.asarray(values, dtype=float))
    return bool((steps >= 0).all() or (steps <= 0).all())


def _bin_statistics(
    name: str, splits: list[float], x: Floats, y: npt.NDArray[np.int_]
) -> BinnedFeature:
    bins = bin_index(splits, x)
    size = len(splits) + 1
    counts = np.bincount(bins, minlength=size)
    defaults = np.bincount(bins, weights=y, minlength=size)
    performers = counts - defaults
    # Half an observation where a bin has none of a class keeps the logarithm finite.
    default_share = np.maximum(defaults, 0.5) / max(defaults.sum(), 1)
    performer_share = np.maximum(performers, 0.5) / max(performers.sum(), 1)
    woe = np.log(performer_share / default_share)
    iv = float(((performer_share - default_share) * woe).sum())
    return BinnedFeature(
        name=name,
        splits=splits,
        woe=[round(float(value), 6) for value in woe],
        counts=[int(count) for count in counts],
        defaults=[int(count) for count in defaults],
        iv=round(iv, 6),
    )


def _correlated(first: Floats, second: Floats) -> bool:
    if first.std() == 0 or second.std() == 0:
        return False
    return bool(abs(np.corrcoef(first, second)[0, 1]) > MAX_CORRELATION)


@dataclass
class FittedScorecard:
    """The spec (without PDs) and what the fit found out on the way."""

    spec: dict[str, Any]
    kept: list[BinnedFeature]
    coefficients: dict[str, float]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    out_of_fold_grades: Integers | None = None  # see `_out_of_fold_grades`


def fit_scorecard(
    features: pd.DataFrame,
    defaulted: Booleans,
    *,
    groups: npt.NDArray[np.int64] | None = None,
    on_step: Callable[[], None] | None = None,
) -> FittedScorecard:
    """Bin every feature, keep the informative ones, fit the regression and turn it into
    points (steps 1–4 of the module docstring); ``on_step`` is called after each feature's
    binning and after the regression. ``groups`` (the buyer of each row) turns on the
    buyer-grouped cross-validation of the regularisation and the out-of-fold grades for the
    calibration. Raises `TrainingRefused` when nothing separates defaulters from performers."""
    step = on_step or (lambda: None)
    binned: list[BinnedFeature] = []
    dropped: list[dict[str, Any]] = []
    for name in features.columns:
        values = features[name].to_numpy(dtype=float)
        reason = unbinnable(values, defaulted)
        result = bin_feature(name, values, defaulted) if reason is None else None
        if result is None:
            dropped.append({"name": name, "reason": reason or "no_data", "iv": None})
        elif result.iv < MIN_INFORMATION_VALUE:
            dropped.append({"name": name, "reason": "low_iv", "iv": result.iv})
        else:
            binned.append(result)
        step()
    by_name = {item.name: item for item in binned}
    woe = {item.name: item.woe_of(features[item.name].to_numpy(dtype=float)) for item in binned}
    # Near-duplicates (Z'' and its own ratios, two margins of one profit) would split one
    # piece of evidence over several factors: keep the more informative of each pair.
    kept: list[str] = []
    for item in sorted(binned, key=lambda item: -item.iv):
        twin = next((name for name in kept if _correlated(woe[item.name], woe[name])), None)
        if twin is None:
            kept.append(item.name)
        else:
            dropped.append({"name": item.name, "reason": "correlated", "iv": item.iv, "with": twin})
    folds = _folds(defaulted, groups)
    strength = (
        _regularisation(np.column_stack([woe[name] for name in kept]), defaulted, folds)
        if kept and folds
        else REGULARISATION_C
    )
    coefficients: dict[str, float] = {}
    intercept = 0.0
    while kept:
        regression = LogisticRegression(C=strength, max_iter=2000)
        regression.fit(np.column_stack([woe[name] for name in kept]), defaulted.astype(int))
        fitted = dict(zip(kept, (float(value) for value in regression.coef_[0]), strict=True))
        wrong = [name for name, coefficient in fitted.items() if coefficient > 0]
        if not wrong:
            coefficients, intercept = fitted, float(regression.intercept_[0])
            break
        for name in wrong:
            dropped.append({"name": name, "reason": "wrong_sign", "iv": by_name[name].iv})
        kept = [name for name in kept if name not in wrong]
    step()
    if not kept:
        raise TrainingRefused(
            "No feature separates the defaulted buyers from the performing ones in the "
            "training window."
        )
    # Log-odds contributions (safer = positive) of the training observations.
    contributions = sum(-coefficients[name] * woe[name] for name in kept)
    low, high = np.quantile(np.asarray(contributions, dtype=float), [0.005, 0.995])
    extent = max(abs(float(low)), abs(float(high)))
    scale = POINTS_TO_DOUBLE_ODDS / math.log(2)
    if extent * scale > SCORE_HEADROOM:
        scale = SCORE_HEADROOM / extent
    spec_features = []
    for name in kept:
        item = by_name[name]
        feature = feature_set.FEATURES_BY_NAME.get(name)
        spec_features.append(
            {
                "name": name,
                "label": feature.label if feature else name,
                "description": feature.description if feature else "",
                "digits": feature.digits if feature else 2,
                "splits": item.splits,
                "woe": item.woe,
                "points": [
                    round(-scale * coefficients[name] * value, 2) + 0.0 for value in item.woe
                ],
                "counts": item.counts,
                "defaults": item.defaults,
                "iv": item.iv,
                "coefficient": round(coefficients[name], 6),
            }
        )
    spec = {
        "format": SPEC_FORMAT,
        "base_score": scoring.BASE_SCORE,
        "scale": round(scale, 6),
        "points_to_double_odds": round(scale * math.log(2), 4),
        "intercept": round(intercept, 6),
        "regularisation_c": strength,
        "pd_by_grade": {str(grade): str(pd) for grade, pd in scoring.PD_BY_GRADE.items()},
        "features": spec_features,
    }
    out_of_fold = (
        _out_of_fold_grades(
            {name: features[name].to_numpy(dtype=float) for name in kept},
            {name: by_name[name] for name in kept},
            defaulted,
            folds=folds,
            strength=strength,
            scale=scale,
        )
        if folds
        else None
    )
    return FittedScorecard(
        spec=spec,
        kept=[by_name[name] for name in kept],
        coefficients=coefficients,
        dropped=dropped,
        out_of_fold_grades=out_of_fold,
    )


Folds = list[tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]]


def _folds(defaulted: Booleans, groups: npt.NDArray[np.int64] | None) -> Folds | None:
    """`FOLDS` folds that keep each buyer's months together (a buyer's months share one
    outcome; split apart they would let a fold learn the buyer, not the pattern); None when
    there are too few buyers or defaulted buyers to fold."""
    if groups is None:
        return None
    defaulted_buyers = np.unique(groups[defaulted]).size
    if defaulted_buyers < FOLDS or np.unique(groups).size < 2 * FOLDS:
        return None
    splitter = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    folds: Folds = list(splitter.split(np.zeros(len(defaulted)), defaulted, groups))
    if any(defaulted[test].all() or not defaulted[test].any() for _train, test in folds):
        return None
    return folds


def _regularisation(woe: Floats, defaulted: Booleans, folds: Folds) -> float:
    """The L2 strength C of `REGULARISATION_GRID` with the best out-of-fold log loss."""
    search = LogisticRegressionCV(
        Cs=list(REGULARISATION_GRID),
        cv=folds,
        scoring="neg_log_loss",
        l1_ratios=(0.0,),
        max_iter=2000,
        use_legacy_attributes=False,
    )
    search.fit(woe, defaulted.astype(int))
    return float(np.ravel(search.C_)[0])


def _out_of_fold_grades(
    values: Mapping[str, Floats],
    binned: Mapping[str, BinnedFeature],
    defaulted: Booleans,
    *,
    folds: Folds,
    strength: float,
    scale: float,
) -> Integers:
    """Each row's grade by a scorecard fitted without its buyer: the same bins, their WoE and
    the regression (same C and scale) estimated on the other folds. These are the grades to
    calibrate the PDs on: in-sample grades are too sure of themselves (a bin's WoE and a
    coefficient fit the very defaults they are then judged on, so the safest grades look safer
    and the riskiest riskier than on new buyers), and PDs calibrated on them would be too."""
    grades = np.zeros(len(defaulted), dtype=np.int64)
    for train, test in folds:
        train_columns, test_columns = [], []
        for name, column in values.items():
            known = train[~np.isnan(column[train])]
            refitted = _bin_statistics(
                name, binned[name].splits, column[known], defaulted[known].astype(int)
            )
            train_columns.append(refitted.woe_of(column[train]))
            test_columns.append(refitted.woe_of(column[test]))
        regression = LogisticRegression(C=strength, max_iter=2000)
        regression.fit(np.column_stack(train_columns), defaulted[train].astype(int))
        points = np.column_stack(test_columns) @ (-scale * regression.coef_[0])
        score = np.round(np.clip(scoring.BASE_SCORE + points, 0.0, 100.0), 2)
        grades[test] = scoring.grades_for_scores(score)
    return grades


def calibrated_pds(grades: Sequence[int], defaulted: Booleans) -> dict[str, str]:
    """PD per grade calibrated on training observations (grades 1–10), prior the built-in
    table; as the spec stores it ({"1": "0.00123", …})."""
    counts: dict[int, tuple[int, int]] = {}
    grade_array = np.asarray(grades, dtype=int)
    for grade in range(1, 11):
        mask = grade_array == grade
        counts[grade] = (int(mask.sum()), int(defaulted[mask].sum()))
    calibrated = calibrate_grades(
        counts,
        {grade: float(pd) for grade, pd in scoring.PD_BY_GRADE.items()},
        DEFAULT_PRIOR_STRENGTH,
    )
    return {str(grade): str(pd) for grade, pd in pd_decimals(calibrated).items()}


# --- Windows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    train_from: date
    train_to: date
    test_from: date
    test_to: date


def latest_test_period(*, on: date | None = None) -> date:
    """The last month whose 12-month outcome is complete on ``on`` (default today)."""
    return backtest.add_months(rescoring.period_of(on or today()), -backtest.HORIZON_MONTHS)


def training_windows(
    *,
    first_known: date | None,
    train_from: date | None = None,
    train_to: date | None = None,
    test_from: date | None = None,
    test_to: date | None = None,
    on: date | None = None,
) -> Windows:
    """The training and test windows (first days of months), defaults filled in and validated;
    `ValidationError` by field otherwise. ``first_known``: the first day with data."""
    latest = latest_test_period(on=on)
    if first_known is None:
        raise ValidationError(
            _("There is no history to train on yet: no invoices or financial statements.")
        )
    # Months are scored as of their first day: the first month that sees any data.
    earliest = rescoring.period_of(first_known)
    if earliest != first_known:
        earliest = backtest.add_months(earliest, 1)
    given = {
        name: rescoring.period_of(value)
        for name, value in (
            ("train_from", train_from),
            ("train_to", train_to),
            ("test_from", test_from),
            ("test_to", test_to),
        )
        if value is not None
    }
    unsupported = {name: day for name, day in given.items() if not is_supported(day)}
    if unsupported:
        raise ValidationError(
            {name: _("Enter a month between 1900 and 2100.") for name in unsupported}
        )
    last_test = given.get("test_to") or latest
    first_test = given.get("test_from") or backtest.add_months(last_test, -(TEST_PERIODS - 1))
    last_train = given.get("train_to") or backtest.add_months(first_test, -1)
    first_train = given.get("train_from") or max(
        earliest, backtest.add_months(last_train, -(MAX_TRAINING_PERIODS - 1))
    )
    errors: dict[str, str] = {}
    month = "%Y-%m"
    if last_test > latest:
        errors["test_to"] = _(
            "The test window can end in %(month)s at the latest: later months have no "
            "complete 12-month outcome yet."
        ) % {"month": f"{latest:{month}}"}
    if first_test > last_test:
        errors["test_from"] = _("The test window must not start after it ends.")
    elif last_train >= first_test:
        errors["test_from"] = _("The test window must start after the training window ends.")
    if first_train < earliest or (first_train > last_train and "train_from" not in given):
        errors["train_from"] = _(
            "The data on file starts in %(month)s: the training window must start then or "
            "later, and end before the test window starts."
        ) % {"month": f"{earliest:{month}}"}
    elif first_train > last_train:
        errors["train_from"] = _("The training window must not start after it ends.")
    elif len(backfill.periods_between(first_train, last_train)) > MAX_TRAINING_PERIODS:
        errors["train_from"] = _("The training window covers at most %(max)d months.") % {
            "max": MAX_TRAINING_PERIODS
        }
    if errors:
        raise ValidationError(errors)
    return Windows(first_train, last_train, first_test, last_test)


# --- Starting --------------------------------------------------------------------------------------


def _next_version(on: date) -> str:
    prefix = f"sc-{on:%Y.%m}-"
    taken = ScoringModel.objects.filter(version__startswith=prefix).values_list(
        "version", flat=True
    )
    numbers = [int(version[len(prefix) :]) for version in taken if version[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


@transaction.atomic
def training_start(
    *,
    tenant: Tenant,
    actor: Actor,
    train_from: date | None = None,
    train_to: date | None = None,
    test_from: date | None = None,
    test_to: date | None = None,
) -> ScoringModel:
    """Start training a scorecard on the tenant's history: validate the windows (defaults in
    `training_windows`), create the model (status training, version ``sc-YYYY.MM-N``), audit
    it and enqueue `monitoring.train_model` after commit. Call with the tenant active; the
    permission check is the caller's."""
    known = backfill.buyers_first_known(tenant=tenant)
    windows = training_windows(
        first_known=min(known.values(), default=None),
        train_from=train_from,
        train_to=train_to,
        test_from=test_from,
        test_to=test_to,
    )
    # Two starts at once must not pick the same version.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, tenant.pk & 0x7FFFFFFF]
        )
    model = ScoringModel.objects.create(
        tenant=tenant,
        version=_next_version(today()),
        status=ScoringModel.Status.TRAINING,
        train_from=windows.train_from,
        train_to=windows.train_to,
        test_from=windows.test_from,
        test_to=windows.test_to,
        trained_by=actor if isinstance(actor, User) else None,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="scoring_model.train_started",
        obj=model,
        after={key: value.isoformat() for key, value in asdict(windows).items()}
        | {"version": model.version},
    )
    enqueue_on_commit(TASK, model.pk, tenant_id=tenant.pk)
    return model


# --- Running ---------------------------------------------------------------------------------------


@dataclass
class _Observations:
    """The labelled buyer-months of one window, in collection order."""

    features: list[pd.DataFrame] = field(default_factory=list)
    context: list[pd.DataFrame] = field(default_factory=list)  # as_of, status, legal events
    defaulted: list[Booleans] = field(default_factory=list)
    builtin: list[pd.DataFrame] = field(default_factory=list)  # test window only
    buyer_ids: list[npt.NDArray[np.int64]] = field(default_factory=list)
    periods: list[date] = field(default_factory=list)  # one per chunk

    def add(
        self, frame: pd.DataFrame, defaulted: Booleans, period: date, builtin: pd.DataFrame | None
    ) -> None:
        self.features.append(feature_set.feature_frame(frame))
        self.context.append(frame[["as_of", "buyer_status", "legal_events"]])
        self.defaulted.append(defaulted)
        self.buyer_ids.append(frame.index.to_numpy(dtype=np.int64))
        self.periods.append(period)
        if builtin is not None:
            self.builtin.append(builtin[["score", "grade", "probability_of_default"]])

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, Booleans]:
        """(features, context, defaulted) of all observations, rows in collection order."""
        if not self.features:
            return (
                pd.DataFrame(columns=list(feature_set.FEATURE_NAMES), dtype=float),
                pd.DataFrame(columns=["as_of", "buyer_status", "legal_events"]),
                np.zeros(0, dtype=bool),
            )
        return (
            pd.concat(self.features, ignore_index=True),
            pd.concat(self.context, ignore_index=True),
            np.concatenate(self.defaulted),
        )

    def buyer_column(self) -> npt.NDArray[np.int64]:
        if not self.buyer_ids:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(self.buyer_ids)

    def period_column(self) -> npt.NDArray[np.datetime64]:
        return np.concatenate(
            [
                np.full(len(labels), np.datetime64(period, "D"))
                for period, labels in zip(self.periods, self.defaulted, strict=True)
            ]
            or [np.zeros(0, dtype="datetime64[D]")]
        )

    @property
    def count(self) -> int:
        return sum(len(labels) for labels in self.defaulted)

    @property
    def defaults(self) -> int:
        return int(sum(int(labels.sum()) for labels in self.defaulted))


@dataclass(frozen=True)
class _Buyers:
    """The tenant's buyers with the day each became known and its first default (NaT: none),
    ordered by id."""

    ids: npt.NDArray[np.int64]
    known_on: npt.NDArray[np.datetime64]
    first_default_on: npt.NDArray[np.datetime64]

    @classmethod
    def of(cls, first_known: Mapping[int, date], default_on: Mapping[int, date]) -> _Buyers:
        ids = sorted(first_known)
        return cls(
            ids=np.array(ids, dtype=np.int64),
            known_on=np.array([first_known[i] for i in ids], dtype="datetime64[D]"),
            first_default_on=np.array([default_on.get(i) for i in ids], dtype="datetime64[D]"),
        )

    def first_defaults(self, buyer_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
        return self.first_default_on[np.searchsorted(self.ids, buyer_ids)]

    def labelled(self, period: date, *, on: date) -> tuple[npt.NDArray[np.int64], Booleans]:
        """The buyers known on ``period`` whose outcome is defaulted or performing (as known
        on ``on``, `backtest.outcomes`), and whether each defaulted."""
        day = np.datetime64(period, "D")
        known = self.known_on <= day
        count = int(known.sum())
        masks = backtest.outcomes(
            backtest.ObservationColumns(
                period=np.full(count, day),
                known_on=np.full(count, day),
                score=np.zeros(count),
                grade=np.zeros(count, dtype=np.int64),
                probability_of_default=np.zeros(count),
                first_default_on=self.first_default_on[known],
            ),
            as_of=on,
        )
        defaulted = masks[backtest.Outcome.DEFAULTED]
        keep = defaulted | masks[backtest.Outcome.PERFORMING]
        return self.ids[known][keep], defaulted[keep]


def sampled_periods(
    windows: Windows, first_known: Mapping[int, date]
) -> tuple[list[date], list[date], int]:
    """The training and test months to use, and the step k: every k-th month counted back
    from each window's end, k the smallest that keeps the buyer-months under
    `MAX_OBSERVATIONS`."""
    known_days = np.sort(np.array(list(first_known.values()), dtype="datetime64[D]"))
    train = backfill.periods_between(windows.train_from, windows.train_to)
    test = backfill.periods_between(windows.test_from, windows.test_to)

    def buyers_known(period: date) -> int:
        return int(np.searchsorted(known_days, np.datetime64(period, "D"), side="right"))

    total = sum(buyers_known(period) for period in train + test)
    step = max(1, math.ceil(total / MAX_OBSERVATIONS))
    return train[::-1][::step][::-1], test[::-1][::step][::-1], step


def _progress(tenant: Tenant, model_id: int, **values: int) -> None:
    with tenant_context(tenant):
        ScoringModel.objects.filter(pk=model_id, status=ScoringModel.Status.TRAINING).update(
            **values
        )


def training_execute(model_id: int, *, tenant_id: int | None = None) -> bool:
    """Train model ``model_id`` (status training): collect the observations month by month,
    fit, calibrate, back-test, and store the result (status trained) or the reason it failed
    (status failed, ``error``). Progress (``progress_done`` of ``progress_total``: the months,
    then the fitting steps) commits as it goes when the caller holds no transaction.

    ``tenant_id`` defaults to the active tenant. Every query runs with the tenant active. A
    model no longer in training is left alone (a repeated task is harmless). Returns False,
    doing nothing, when another session is training the same model."""
    tenant = (
        Tenant.objects.get(pk=tenant_id, is_active=True) if tenant_id is not None else None
    ) or current_tenant()
    with job_lock(_LOCK_NAMESPACE + 1, model_id) as locked:
        if not locked:
            logger.info("scoring model %s is being trained elsewhere", model_id)
            return False
        with tenant_context(tenant):
            model = ScoringModel.objects.filter(
                pk=model_id, status=ScoringModel.Status.TRAINING
            ).first()
        if model is None:
            return True
        try:
            spec, metrics = _train(tenant, model)
        except Exception as error:
            if isinstance(error, TrainingRefused):
                message = str(error)
                logger.info("scoring model %s: %s", model_id, message)
            else:
                logger.exception(
                    "training scoring model %s of tenant %s failed", model_id, tenant.pk
                )
                message = f"{type(error).__name__}: {error}"
            with tenant_context(tenant):
                ScoringModel.objects.filter(
                    pk=model_id, status=ScoringModel.Status.TRAINING
                ).update(status=ScoringModel.Status.FAILED, error=message[:2000])
            return True
        with tenant_context(tenant):
            ScoringModel.objects.filter(pk=model_id, status=ScoringModel.Status.TRAINING).update(
                status=ScoringModel.Status.TRAINED,
                spec=spec,
                metrics=metrics,
                error="",
                trained_at=timezone.now(),
                progress_done=model.progress_total,
            )
    return True


def _train(tenant: Tenant, model: ScoringModel) -> tuple[dict[str, Any], dict[str, Any]]:
    on = today()
    windows = Windows(model.train_from, model.train_to, model.test_from, model.test_to)
    with tenant_context(tenant):
        first_known = backfill.buyers_first_known(tenant=tenant)
        buyers = _Buyers.of(first_known, selectors.default_dates())
    train_periods, test_periods, step = sampled_periods(windows, first_known)
    total = len(train_periods) + len(test_periods) + FIT_STEPS
    model.progress_total = total
    _progress(tenant, model.pk, progress_total=total, progress_done=0)
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        _progress(tenant, model.pk, progress_done=done)

    train, test = _Observations(), _Observations()
    for period in train_periods:
        _collect(tenant, period, buyers=buyers, on=on, into=train, builtin=False)
        advance()
    for period in test_periods:
        _collect(tenant, period, buyers=buyers, on=on, into=test, builtin=True)
        advance()

    if train.defaults < MIN_TRAINING_DEFAULTS:
        raise TrainingRefused(
            f"Too few defaults to train a scorecard: {train.defaults} in the training window "
            f"({windows.train_from:%Y-%m} to {windows.train_to:%Y-%m}), at least "
            f"{MIN_TRAINING_DEFAULTS} are needed."
        )

    train_features, train_context, train_defaulted = train.frames()
    fitted = fit_scorecard(
        train_features, train_defaulted, groups=train.buyer_column(), on_step=advance
    )
    spec = fitted.spec
    train_scored = _score(spec, train_features, train_context)
    calibration_grades = (
        fitted.out_of_fold_grades
        if fitted.out_of_fold_grades is not None
        else train_scored["grade"].to_numpy()
    )
    spec["pd_by_grade"] = calibrated_pds(calibration_grades.tolist(), train_defaulted)
    advance()

    metrics = _metrics(
        spec=spec,
        fitted=fitted,
        train=train,
        train_scored=train_scored,
        train_defaulted=train_defaulted,
        test=test,
        buyers=buyers,
        on=on,
        step=step,
        train_periods=train_periods,
        test_periods=test_periods,
        version=model.version,
    )
    advance()
    return spec, metrics


def _collect(
    tenant: Tenant,
    period: date,
    *,
    buyers: _Buyers,
    on: date,
    into: _Observations,
    builtin: bool,
) -> None:
    """The labelled observations of one month: buyers known on ``period`` whose outcome is
    defaulted or performing, with their features as of ``period``; chunk by chunk, each chunk
    in its own transaction with the tenant active."""
    buyer_ids, defaulted = buyers.labelled(period, on=on)
    labels = dict(zip(buyer_ids.tolist(), defaulted.tolist(), strict=True))
    for start in range(0, len(buyer_ids), rescoring.CHUNK_SIZE):
        chunk = buyer_ids[start : start + rescoring.CHUNK_SIZE].tolist()
        with tenant_context(tenant):
            frame = rescoring.buyer_risk_frame(tenant_id=tenant.pk, buyer_ids=chunk, as_of=period)
            scored = registry.score_with(None, frame)[1] if builtin else None
        if frame.empty:
            continue
        flags = np.array([labels[int(buyer_id)] for buyer_id in frame.index], dtype=bool)
        into.add(frame, flags, period, scored)


def _score(spec: Mapping[str, Any], features: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    return score_features(
        spec,
        features,
        legal=feature_set.legal_events(context),
        statuses=context["buyer_status"].tolist(),
        with_factors=False,
    )


def _columns(
    scored: pd.DataFrame, observations: _Observations, buyers: _Buyers
) -> backtest.ObservationColumns:
    periods = observations.period_column()
    buyer_ids = observations.buyer_column()
    return backtest.ObservationColumns(
        period=periods,
        known_on=periods,
        score=scored["score"].to_numpy(dtype=float),
        grade=scored["grade"].to_numpy(dtype=np.int64),
        probability_of_default=scored["probability_of_default"].to_numpy(dtype=float),
        first_default_on=buyers.first_defaults(buyer_ids),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _metrics(
    *,
    spec: Mapping[str, Any],
    fitted: FittedScorecard,
    train: _Observations,
    train_scored: pd.DataFrame,
    train_defaulted: Booleans,
    test: _Observations,
    buyers: _Buyers,
    on: date,
    step: int,
    train_periods: Sequence[date],
    test_periods: Sequence[date],
    version: str,
) -> dict[str, Any]:
    training_auc = backtest.auc_array(train_scored["score"].to_numpy(dtype=float), train_defaulted)
    reports: dict[str, Any] = {}
    if test.count:
        test_features, test_context, _test_defaulted = test.frames()
        for key, model_version, scored in (
            ("model", version, _score(spec, test_features, test_context)),
            ("builtin", scoring.MODEL_VERSION, pd.concat(test.builtin, ignore_index=True)),
        ):
            result = backtest.backtest_columns(
                _columns(scored, test, buyers), model_version=model_version, as_of=on
            )
            reports[key] = _jsonable(asdict(result))
    labels = {feature.name: feature.label for feature in feature_set.FEATURES}

    def window(periods: Sequence[date], observations: _Observations) -> dict[str, Any]:
        return {
            "first_period": periods[0].isoformat() if periods else None,
            "last_period": periods[-1].isoformat() if periods else None,
            "periods": len(periods),
            "observations": observations.count,
            "defaults": observations.defaults,
            "default_rate": (
                round(observations.defaults / observations.count, 5) if observations.count else None
            ),
        }

    return {
        "period_step": step,
        "training": {
            **window(train_periods, train),
            "auc": round(training_auc, 4) if training_auc is not None else None,
            "gini": round(backtest.gini(training_auc), 4) if training_auc is not None else None,
        },
        "test": {**window(test_periods, test), **reports},
        "features": [
            {
                "name": feature["name"],
                "label": feature["label"],
                "iv": feature["iv"],
                "coefficient": feature["coefficient"],
                "points_min": min(feature["points"]),
                "points_max": max(feature["points"]),
                "bins": len(feature["points"]),
            }
            for feature in spec["features"]
        ],
        "dropped": [
            {**item, "label": labels.get(item["name"], item["name"])} for item in fitted.dropped
        ],
        "feature_list": [feature["name"] for feature in spec["features"]],
    }
