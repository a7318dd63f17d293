"""Scoring with a trained scorecard: points per bin of each feature, from its spec alone.

Pure: no Django, no database, no optbinning. `score_with_spec` scores a risk frame (the frame of
`monitoring.rescoring.buyer_risk_frame`) with the scorecard a `ScoringModel.spec` holds and
returns exactly the columns of `monitoring.scoring.score_frame`: ``score`` (0–100, 2 decimals,
100 = safest), ``grade`` (1–10), ``probability_of_default`` and ``factors`` (JSON text, the
built-in model's Factor shape), so every scoring path can store either.

How a trained scorecard scores
------------------------------
Each feature (`monitoring.modellab.features`) is cut into bins at its ``splits``: bin ``i``
holds the values ``splits[i-1] <= x < splits[i]`` (the first bin everything below
``splits[0]``, the last everything from ``splits[-1]`` up). Each bin carries fixed ``points``
(fitted in `monitoring.modellab.training`: −scale × coefficient × weight of evidence); a feature
without data (NaN) carries **0 points**, as in the built-in model (missing is neutral). Then

    score = clip(50 + Σ points, 0, 100)

and, exactly as the built-in model (`scoring.insolvency_override`), a buyer insolvent or in
insolvency proceedings scores 0 (grade 10, PD 100 %) and an insolvency filing caps the score at
10 (grade 10). Grades come from the built-in model's bands (`scoring.GRADE_BANDS`), the PD of a
grade from ``pd_by_grade`` when given (a tenant's active calibration), else from the spec's
training-window calibration. Legal events count once: through the ``legal_penalty`` feature when
the scorecard kept it, not as the built-in penalty on top.

Factors
-------
One factor per scorecard feature, in the spec's order, each ``{"factor": name, "label": label,
"weight": the points range of its bins, "message", "points", "value": the measurement shown with
the feature's digits (None without data), "params"}``. The message names the measurement and
its bin ("Measured 1.85, in the band from 1.1 to under 2.6."), or says "No data: 0 points.".
The points of the factors add up to score − 50 before clipping and the insolvency override (the
override adds an ``insolvency`` factor with the difference, as in the built-in model).

Spec (``ScoringModel.spec``)
----------------------------
``{"format": 1, "base_score": 50.0, "scale": s, "points_to_double_odds": s·ln 2,
"intercept": β0, "pd_by_grade": {"1": "0.00123", …}, "features": [{"name", "label",
"description", "digits", "splits": [...], "woe": [...], "points": [...], "counts": [...],
"defaults": [...], "iv", "coefficient"}, …]}`` — ``woe``, ``points``, ``counts`` and
``defaults`` have one entry per bin (len(splits) + 1).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from creditguard.i18n import gettext_noop

from .. import scoring
from ..scoring import Floats, Integers
from . import features as feature_set

SPEC_FORMAT = 1

MSG_BAND = gettext_noop("Measured %(value)s, in the band from %(low)s to under %(high)s.")
MSG_BAND_BELOW = gettext_noop("Measured %(value)s, in the band under %(high)s.")
MSG_BAND_FROM = gettext_noop("Measured %(value)s, in the band from %(low)s up.")
MSG_BAND_ALL = gettext_noop("Measured %(value)s.")
MSG_NO_DATA = gettext_noop("No data: 0 points.")

# (has a lower bound, has an upper bound) → message
_BAND_MESSAGES = {
    (True, True): MSG_BAND,
    (False, True): MSG_BAND_BELOW,
    (True, False): MSG_BAND_FROM,
    (False, False): MSG_BAND_ALL,
}
SCORED_COLUMNS = ("score", "grade", "probability_of_default", "factors")


def score_with_spec(
    spec: Mapping[str, Any],
    risk_frame: pd.DataFrame,
    *,
    pd_by_grade: Mapping[int, Decimal | float] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Score every row of ``risk_frame`` with the scorecard ``spec`` (index kept); the columns
    of `scoring.score_frame`. ``pd_by_grade`` (grade → PD) overrides the spec's PDs."""
    features, legal = feature_set.measure(risk_frame)
    return score_features(
        spec,
        features,
        legal=legal,
        statuses=risk_frame["buyer_status"].tolist(),
        pd_by_grade=pd_by_grade,
    )


def score_features(
    spec: Mapping[str, Any],
    features: pd.DataFrame,
    *,
    legal: scoring.LegalEventColumn,
    statuses: Sequence[object],
    pd_by_grade: Mapping[int, Decimal | float] | Mapping[str, Any] | None = None,
    with_factors: bool = True,
) -> pd.DataFrame:
    """`score_with_spec` on a `features.feature_frame` already measured (training scores many
    periods' observations from their features). Without factors the column holds ""."""
    rows = len(features)
    total = np.full(rows, float(spec.get("base_score", scoring.BASE_SCORE)))
    fragments: list[list[str]] = []
    for feature in spec["features"]:
        values = features[feature["name"]].to_numpy(dtype=float)
        bins, points = _points(feature, values)
        total = total + points
        if with_factors:
            fragments.append(_fragments(feature, values, bins))
    clipped = np.clip(total, 0.0, 100.0)
    override = scoring.insolvency_override(clipped, statuses=statuses, legal=legal)
    score = np.round(override.score, 2) + 0.0
    grade = np.where(override.defaulted | override.filed, 10, scoring.grades_for_scores(score))
    table = pd_table(pd_by_grade if pd_by_grade is not None else spec["pd_by_grade"])
    probability = np.where(override.defaulted, float(scoring.PD_DEFAULTED), table[grade])
    if with_factors:
        factors = ["[" + ",".join(row) + "]" for row in zip(*fragments, strict=True)]
        if not fragments:
            factors = ["[]"] * rows
        for row, insolvency_factor in override.factors.items():
            separator = "," if factors[row] != "[]" else ""
            factors[row] = factors[row][:-1] + separator + insolvency_factor + "]"
    else:
        factors = [""] * rows
    return pd.DataFrame(
        {
            "score": score,
            "grade": grade.astype(int),
            "probability_of_default": np.round(probability, 5),
            "factors": factors,
        },
        index=features.index,
    )


def bin_index(splits: Sequence[float], values: Floats) -> Integers:
    """The bin of each value: ``i`` when ``splits[i-1] <= value < splits[i]`` (NaN: the last
    bin; mask it)."""
    return np.searchsorted(np.asarray(splits, dtype=float), values, side="right")


def pd_table(pd_by_grade: Mapping[Any, Any]) -> Floats:
    """Grade → PD as an array indexed by grade (index 0 unused)."""
    table = np.full(11, math.nan)
    for grade, probability in pd_by_grade.items():
        table[int(grade)] = float(probability)
    return table


def _points(feature: Mapping[str, Any], values: Floats) -> tuple[Integers, Floats]:
    bins = bin_index(feature["splits"], values)
    bin_points = np.asarray(feature["points"], dtype=float)
    points: Floats = np.where(np.isnan(values), 0.0, bin_points[bins])
    return bins, points


def _number(value: float) -> str:
    return "null" if value != value else repr(value + 0.0)


def _fragments(feature: Mapping[str, Any], values: Floats, bins: Integers) -> list[str]:
    """The feature's factor for every row as JSON text; per bin everything but the value is
    fixed, so it is built once per bin."""
    splits = [float(split) for split in feature["splits"]]
    bin_points = [float(points) for points in feature["points"]]
    weight = round(max(bin_points) - min(bin_points), 2) if bin_points else 0.0
    head = (
        f'{{"factor":{_json(feature["name"])},"label":{_json(feature["label"])},'
        f'"weight":{weight!r},"message":'
    )
    by_bin: list[tuple[str, str]] = []
    for index, points in enumerate(bin_points):
        bounds = ""
        if index > 0:
            bounds += f',"low":{_number(splits[index - 1])}'
        if index < len(splits):
            bounds += f',"high":{_number(splits[index])}'
        message = _BAND_MESSAGES[(index > 0, index < len(splits))]
        by_bin.append(
            (f'{head}{_json(message)},"points":{_number(round(points, 2))},"value":', bounds)
        )
    missing = f'{head}{_json(MSG_NO_DATA)},"points":0.0,"value":null,"params":{{}}}}'
    digits = int(feature.get("digits", 2))
    shown = np.round(values, digits) + 0.0
    # One comprehension over the rows, everything fixed per bin built above: the built-in
    # model's way of keeping a 10,000-buyer chunk well under a second.
    before = [prefix for prefix, _bounds in by_bin]
    closing = [bounds + "}}" for _prefix, bounds in by_bin]
    known = ~np.isnan(values)
    rounded = np.where(known, shown, 0.0)
    numbers = rounded.astype(np.int64).tolist() if digits == 0 else rounded.tolist()
    return [
        before[bin_number] + text + ',"params":{"value":' + text + closing[bin_number]
        if is_known
        else missing
        for bin_number, text, is_known in zip(
            bins.tolist(), map(str, numbers), known.tolist(), strict=True
        )
    ]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
