"""The calibration method (`monitoring.calibration.maths`): Beta prior on the model's PD,
posterior mean, monotone in grade, 95 % posterior interval, floor and cap. No database."""

from decimal import Decimal

import pytest
from scipy.stats import beta

from monitoring.calibration.maths import (
    DEFAULT_PRIOR_STRENGTH,
    PD_CAP,
    PD_FLOOR,
    calibrate_grades,
    pd_decimals,
)
from monitoring.scoring import PD_BY_GRADE

PRIOR = {grade: float(value) for grade, value in PD_BY_GRADE.items()}


def test_without_observations_every_grade_keeps_the_models_pd():
    calibrated = calibrate_grades({}, PRIOR, DEFAULT_PRIOR_STRENGTH)
    assert sorted(calibrated) == list(range(1, 11))
    for grade, row in calibrated.items():
        assert row.pd == pytest.approx(PRIOR[grade])
        assert (row.observations, row.defaults, row.observed_rate) == (0, 0, None)
        assert row.low <= row.pd <= row.high


def test_known_values_are_the_posterior_mean_and_its_beta_interval():
    # Grade 6: prior 1.6 % worth 50 observations; 200 observations with 44 defaults.
    calibrated = calibrate_grades({6: (200, 44)}, {6: 0.016}, 50)
    row = calibrated[6]
    assert row.pd == pytest.approx((44 + 50 * 0.016) / (200 + 50))  # 0.1792
    assert row.observed_rate == pytest.approx(0.22)
    assert row.prior_pd == 0.016
    alpha, beta_ = 44 + 0.8, 200 - 44 + 49.2
    assert row.low == pytest.approx(beta.ppf(0.025, alpha, beta_))
    assert row.high == pytest.approx(beta.ppf(0.975, alpha, beta_))
    assert row.low < row.pd < row.high


def test_with_few_observations_the_prior_dominates():
    row = calibrate_grades({6: (5, 1)}, {6: 0.016}, 50)[6]
    assert row.observed_rate == pytest.approx(0.2)
    # (1 + 0.8) / 55: far nearer the prior 1.6 % than the observed 20 %.
    assert row.pd == pytest.approx(1.8 / 55)
    assert abs(row.pd - 0.016) < abs(row.pd - 0.2)


def test_with_many_observations_the_data_dominate():
    row = calibrate_grades({6: (20_000, 4_400)}, {6: 0.016}, 50)[6]
    assert row.pd == pytest.approx(0.22, abs=0.001)
    assert row.high - row.low < 0.015


def test_a_stronger_prior_pulls_harder_towards_the_models_pd():
    weak = calibrate_grades({6: (100, 20)}, {6: 0.016}, 10)[6]
    strong = calibrate_grades({6: (100, 20)}, {6: 0.016}, 500)[6]
    assert 0.016 < strong.pd < weak.pd < 0.2


def test_calibrated_pds_never_fall_as_the_grade_gets_worse():
    # Grade 4 saw more defaults than grades 5 and 6: the three are pooled.
    counts = {3: (400, 1), 4: (300, 30), 5: (300, 6), 6: (300, 9), 7: (200, 20)}
    calibrated = calibrate_grades(counts, PRIOR, DEFAULT_PRIOR_STRENGTH)
    pds = [calibrated[grade].pd for grade in range(1, 11)]
    assert pds == sorted(pds)
    assert calibrated[4].pd == calibrated[5].pd == calibrated[6].pd
    # The pool's PD is the weighted mean of its posterior means: its defaults and prior
    # pseudo-defaults over its observations and pseudo-observations.
    pooled = (30 + 6 + 9 + 50 * (0.004 + 0.008 + 0.016)) / (900 + 150)
    assert calibrated[5].pd == pytest.approx(pooled)
    # A pooled grade's interval is that of the pooled posterior and holds the pooled PD.
    assert calibrated[4].low == calibrated[6].low
    assert calibrated[4].low < pooled < calibrated[4].high


def test_every_interval_holds_its_calibrated_pd():
    counts = {1: (1000, 0), 2: (3, 3), 8: (40, 0), 9: (10, 10), 10: (5, 5)}
    for strength in (1, 5, DEFAULT_PRIOR_STRENGTH, 1000):
        for row in calibrate_grades(counts, PRIOR, strength).values():
            assert 0 <= row.low <= row.pd <= row.high <= 1


def test_the_pd_is_floored_at_three_basis_points_and_capped_below_one():
    calibrated = calibrate_grades({1: (100_000, 0), 10: (10_000, 10_000)}, PRIOR, 1)
    assert calibrated[1].pd == PD_FLOOR == 0.0003
    assert calibrated[10].pd == PD_CAP < 1


def test_pd_decimals_are_five_places_like_the_stored_scores():
    table = pd_decimals(calibrate_grades({6: (200, 44)}, {6: 0.016}, 50))
    assert table == {6: Decimal("0.17920")}


@pytest.mark.parametrize(
    ("counts", "prior", "strength"),
    [
        ({6: (10, 11)}, {6: 0.016}, 50),  # more defaults than observations
        ({6: (-1, 0)}, {6: 0.016}, 50),
        ({11: (10, 1)}, {6: 0.016}, 50),  # a grade without a prior
        ({}, {6: 0.0}, 50),  # a prior PD of 0 cannot be a Beta mean
        ({}, {6: 0.016}, 0),
        ({}, {}, 50),
    ],
)
def test_impossible_inputs_are_refused(counts, prior, strength):
    with pytest.raises(ValueError):
        calibrate_grades(counts, prior, strength)
