"""PD per grade calibrated on recorded defaults, with a documented prior (pure: no Django).

The model's PD table (`monitoring.scoring.PD_BY_GRADE` for the built-in model, a trained
scorecard's ``spec["pd_by_grade"]``) is the *prior*: what we believe before looking at the
tenant's own outcomes. The tenant's back-test observations (buyer-periods with a known 12-month
outcome, `monitoring.backtest.outcome`) are the *evidence*. The calibrated PD of a grade is a
compromise between the two that leans on the evidence as it grows.

Method ("the documented prior")
-------------------------------
1. **Beta prior per grade.** Grade g gets a Beta(a₀, b₀) prior centred on the model's PD p₀ and
   worth ``prior_strength`` = n₀ pseudo-observations: a₀ = n₀·p₀, b₀ = n₀·(1 − p₀). With the
   default n₀ = `DEFAULT_PRIOR_STRENGTH` = 50 the prior weighs as much as 50 buyer-years: a
   grade with a handful of observations keeps (nearly) the model's PD, a grade with hundreds
   is driven by its own default rate.
2. **Posterior mean.** With n observations and d defaults the posterior is
   Beta(a₀ + d, b₀ + n − d) and its mean (d + n₀·p₀) / (n + n₀) is the grade's raw estimate.
3. **Monotone in grade.** A worse grade never gets a lower PD: the raw estimates are made
   non-decreasing in grade by weighted isotonic regression (pool-adjacent-violators,
   `sklearn.isotonic.IsotonicRegression`) with weights n + n₀. Grades pooled into one block get
   the block's weighted mean, which is exactly the mean of the pooled posterior
   Beta(Σ(a₀ + d), Σ(b₀ + n − d)).
4. **Interval.** The equal-tailed 95 % interval of the grade's posterior (of the pooled
   posterior when the grade was pooled), via `scipy.stats.beta`; it is widened to include the
   calibrated PD when flooring or a very weak, very skewed prior would leave it outside.
5. **Floor and cap.** The PD is at least `PD_FLOOR` (3 basis points, no buyer is risk-free)
   and at most `PD_CAP` (below 100 %, the PD of a buyer that *has* defaulted).

Grade 10's "in default" override (PD 100 % for an insolvent buyer) is a scoring rule
(`monitoring.scoring.insolvency_override`) and is not calibrated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy.stats import beta

DEFAULT_PRIOR_STRENGTH = 50.0
PD_FLOOR = 0.0003
PD_CAP = 0.99
INTERVAL_LEVEL = 0.95
# Stored PDs have five decimals (`BuyerScore.probability_of_default`).
PD_QUANTUM = Decimal("0.00001")


@dataclass(frozen=True)
class GradeCalibration:
    """One grade's evidence and calibrated PD (all rates as fractions, not percent)."""

    grade: int
    observations: int
    defaults: int
    observed_rate: float | None  # None without observations
    prior_pd: float
    pd: float  # calibrated
    low: float  # equal-tailed 95 % posterior interval
    high: float


def calibrate_grades(
    counts: Mapping[int, tuple[int, int]],
    prior_pd: Mapping[int, float],
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
) -> dict[int, GradeCalibration]:
    """Calibrated PD per grade of ``prior_pd`` from ``counts`` (grade → (observations,
    defaults)); grades without counts keep their prior. See the module docstring."""
    if not prior_strength > 0:
        raise ValueError("prior_strength must be positive")
    grades = sorted(prior_pd)
    if not grades:
        raise ValueError("prior_pd is empty")
    unknown = set(counts) - set(grades)
    if unknown:
        raise ValueError(f"counts for grades without a prior PD: {sorted(unknown)}")
    observations = np.array([counts.get(g, (0, 0))[0] for g in grades], dtype=float)
    defaults = np.array([counts.get(g, (0, 0))[1] for g in grades], dtype=float)
    if (observations < 0).any() or (defaults < 0).any() or (defaults > observations).any():
        raise ValueError("counts need 0 ≤ defaults ≤ observations")
    prior = np.array([float(prior_pd[g]) for g in grades])
    if ((prior <= 0) | (prior >= 1)).any():
        raise ValueError("prior PDs must lie strictly between 0 and 1")

    alpha = prior_strength * prior + defaults
    beta_ = prior_strength * (1 - prior) + observations - defaults
    weight = observations + prior_strength
    posterior_mean = alpha / weight
    # Imported here: scikit-learn takes seconds to load, and only a calibration needs it.
    from sklearn.isotonic import IsotonicRegression

    monotone = IsotonicRegression(increasing=True).fit_transform(
        np.array(grades, dtype=float), posterior_mean, sample_weight=weight
    )
    result: dict[int, GradeCalibration] = {}
    for block in _blocks(monotone):
        block_alpha = float(alpha[block].sum())
        block_beta = float(beta_[block].sum())
        tail = (1 - INTERVAL_LEVEL) / 2
        low = float(beta.ppf(tail, block_alpha, block_beta))
        high = float(beta.ppf(1 - tail, block_alpha, block_beta))
        for i in block:
            pd_value = min(max(float(monotone[i]), PD_FLOOR), PD_CAP)
            n, d = int(observations[i]), int(defaults[i])
            result[grades[i]] = GradeCalibration(
                grade=grades[i],
                observations=n,
                defaults=d,
                observed_rate=d / n if n else None,
                prior_pd=float(prior[i]),
                pd=pd_value,
                low=min(low, pd_value),
                high=min(max(high, pd_value), 1.0),
            )
    return result


def pd_decimals(calibrated: Mapping[int, GradeCalibration]) -> dict[int, Decimal]:
    """The calibrated PD table as the five-decimal `Decimal`s scores store."""
    return {
        grade: max(Decimal(repr(row.pd)).quantize(PD_QUANTUM), PD_QUANTUM)
        for grade, row in sorted(calibrated.items())
    }


def _blocks(values: np.ndarray) -> list[list[int]]:
    """Runs of consecutive indexes with the same fitted value (the isotonic pools)."""
    blocks: list[list[int]] = []
    for i, value in enumerate(values):
        if blocks and np.isclose(value, values[blocks[-1][0]], rtol=1e-12, atol=1e-15):
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks
