"""Back-testing arithmetic (pure, no database): AUC with ties, Gini, outcomes, grade table,
confidence intervals, and the vectorised columns against the one-at-a-time definitions."""

import calendar
import random
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from monitoring.backtest import (
    Observation,
    ObservationColumns,
    Outcome,
    PdCheck,
    add_months,
    add_months_array,
    auc,
    auc_interval,
    auc_standard_error,
    backtest,
    default_rate_interval,
    gini,
    outcome,
    outcomes,
    pd_check,
)

AS_OF = date(2027, 6, 15)


# --- AUC and Gini ------------------------------------------------------------------------------


def test_a_perfect_ranking_has_auc_one_and_gini_one():
    # Every defaulter scored below every performer.
    area = auc([10, 20, 30, 70, 80, 90], [True, True, True, False, False, False])

    assert area == 1.0
    assert gini(area) == 1.0


def test_a_reversed_ranking_has_auc_zero_and_gini_minus_one():
    area = auc([90, 80, 70, 30, 20, 10], [True, True, True, False, False, False])

    assert area == 0.0
    assert gini(area) == -1.0


def test_all_scores_tied_is_a_coin_toss():
    area = auc([50] * 6, [True, False, True, False, False, True])

    assert area == 0.5
    assert gini(area) == 0.0


def test_a_mixed_case_with_a_tie_matches_the_hand_count():
    # Performers 80, 70, 60, 50; defaulters 65, 40, 50. Of the 4 × 3 = 12 pairs the performer
    # scores higher in: 80 > all 3, 70 > all 3, 60 > 40 and 50 (2), 50 > 40 (1) and 50 = 50
    # (a tie, ½): 3 + 3 + 2 + 1.5 = 9.5, so AUC = 9.5 / 12 = 19/24 ≈ 0.7917.
    # Ranks: 40→1, 50 and 50→2.5 each, 60→4, 65→5, 70→6, 80→7; performers' rank sum
    # 2.5 + 4 + 6 + 7 = 19.5; U = 19.5 − 4·5/2 = 9.5. Gini = 2·19/24 − 1 = 7/12 ≈ 0.5833.
    scores = [80, 70, 60, 50, 65, 40, 50]
    defaulted = [False, False, False, False, True, True, True]

    area = auc(scores, defaulted)

    assert area == pytest.approx(19 / 24)
    assert gini(area) == pytest.approx(7 / 12)


def test_the_order_of_the_observations_does_not_matter():
    scores = [80, 70, 60, 50, 65, 40, 50]
    defaulted = [False, False, False, False, True, True, True]

    assert auc(scores[::-1], defaulted[::-1]) == pytest.approx(19 / 24)


def test_decimal_scores_are_ranked_like_floats():
    assert auc([Decimal("70.50"), Decimal("70.49")], [False, True]) == 1.0


def test_there_is_no_auc_without_both_defaulters_and_performers():
    assert auc([10, 20], [True, True]) is None
    assert auc([10, 20], [False, False]) is None
    assert auc([], []) is None


def test_scores_and_flags_must_pair_up():
    with pytest.raises(ValueError, match="differ in length"):
        auc([1, 2, 3], [True, False])


def test_the_standard_error_follows_hanley_and_mcneil():
    # A = 0.75, 5 and 5: Q1 = 0.75/1.25 = 0.6, Q2 = 2·0.5625/1.75 = 0.642857;
    # var = (0.1875 + 4·(0.6 − 0.5625) + 4·(0.642857 − 0.5625)) / 25 = 0.0263571.
    assert auc_standard_error(0.75, n_defaulted=5, n_performing=5) == pytest.approx(
        0.0263571**0.5, rel=1e-4
    )


# --- Outcomes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_default_on", "expected"),
    [
        pytest.param(None, Outcome.PERFORMING, id="never-defaulted"),
        pytest.param(date(2026, 3, 20), Outcome.DEFAULTED, id="within-the-window"),
        pytest.param(date(2026, 6, 1), Outcome.DEFAULTED, id="on-the-last-day"),
        pytest.param(date(2026, 6, 2), Outcome.PERFORMING, id="after-the-window"),
        pytest.param(date(2025, 6, 1), Outcome.ALREADY_IN_DEFAULT, id="on-the-period"),
        pytest.param(date(2025, 6, 3), Outcome.ALREADY_IN_DEFAULT, id="before-computation"),
        pytest.param(date(2024, 1, 1), Outcome.ALREADY_IN_DEFAULT, id="long-before"),
    ],
)
def test_a_score_defaulted_if_the_buyer_defaulted_within_twelve_months(first_default_on, expected):
    result = outcome(
        period=date(2025, 6, 1),
        known_on=date(2025, 6, 3),
        first_default_on=first_default_on,
        as_of=AS_OF,
    )

    assert result == expected


def test_a_score_whose_window_is_still_open_is_pending_until_a_default_comes():
    recent = {"period": date(2027, 1, 1), "known_on": date(2027, 1, 1), "as_of": AS_OF}

    assert outcome(**recent, first_default_on=None) == Outcome.PENDING
    assert outcome(**recent, first_default_on=date(2027, 8, 1)) == Outcome.PENDING  # future
    assert outcome(**recent, first_default_on=date(2027, 5, 2)) == Outcome.DEFAULTED


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 1), 12, date(2027, 1, 1)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
    ],
)
def test_months_are_added_within_the_month(day, months, expected):
    assert add_months(day, months) == expected


# --- The whole back-test -----------------------------------------------------------------------


def observation(score, grade, *, defaulted_on=None, period=date(2025, 1, 1), pd="0.01"):
    return Observation(
        buyer_id=int(score * 100),
        period=period,
        known_on=period,
        score=Decimal(str(score)),
        grade=grade,
        probability_of_default=Decimal(pd),
        first_default_on=defaulted_on,
    )


def test_the_back_test_counts_ranks_and_tabulates_by_grade():
    default_day = date(2025, 7, 1)
    observations = [
        # five performers with good grades, five defaulters with bad ones: perfectly ranked
        *(observation(80 + i, 2, pd="0.001") for i in range(5)),
        *(observation(20 + i, 9, defaulted_on=default_day, pd="0.2") for i in range(4)),
        observation(90, 2, defaulted_on=default_day, pd="0.001"),  # a surprise at grade 2
        observation(60, 4, period=date(2027, 3, 1)),  # window still open
        observation(10, 10, defaulted_on=date(2024, 12, 1)),  # defaulted before the score
    ]

    result = backtest(observations, model_version="cg-test", as_of=AS_OF)

    assert (result.observations, result.defaults, result.performing) == (10, 5, 5)
    assert (result.pending, result.already_in_default) == (1, 1)
    assert result.sufficient
    # The four low defaulters rank below all five performers (20 pairs); the surprise (90)
    # ranks above all of them (0 pairs): AUC = 20 / 25.
    assert result.auc == Decimal("0.8000")
    assert result.gini == Decimal("0.6000")
    assert result.auc_low is not None and result.auc_low < result.auc < result.auc_high <= 1
    assert result.default_rate == Decimal("0.50000")
    grade_2, grade_9 = result.by_grade[1], result.by_grade[8]
    assert (grade_2.grade, grade_2.observations, grade_2.defaults) == (2, 6, 1)
    assert grade_2.default_rate == Decimal("0.16667")
    assert grade_2.mean_pd == Decimal("0.00100")
    assert (grade_9.observations, grade_9.defaults, grade_9.default_rate) == (4, 4, Decimal(1))
    assert result.by_grade[0].default_rate is None  # no observations at grade 1
    assert [row.grade for row in result.by_grade] == list(range(1, 11))
    assert (result.first_period, result.last_period) == (date(2025, 1, 1), date(2027, 3, 1))


@pytest.mark.parametrize(
    ("defaulters", "performers"),
    [pytest.param(4, 20, id="four-defaults"), pytest.param(20, 4, id="four-performers")],
)
def test_with_fewer_than_five_of_either_kind_there_is_no_verdict(defaulters, performers):
    observations = [
        *(observation(20 + i, 9, defaulted_on=date(2025, 5, 1)) for i in range(defaulters)),
        *(observation(60 + i, 3) for i in range(performers)),
    ]

    result = backtest(observations, model_version="cg-test", as_of=AS_OF)

    assert not result.sufficient
    assert result.auc is None and result.gini is None and result.auc_low is None
    assert result.defaults == defaulters
    assert sum(row.observations for row in result.by_grade) == defaulters + performers


def test_an_empty_back_test_has_no_figures():
    result = backtest([], model_version="cg-test", as_of=AS_OF)

    assert result.observations == 0
    assert result.default_rate is None and result.mean_pd is None
    assert result.first_period is None


# --- The knowledge date ------------------------------------------------------------------------


def test_a_back_filled_score_is_a_prediction_whatever_day_it_was_computed():
    # Scored in 2026 for January 2023 from what was known on 2023-01-01: the buyer's default in
    # June 2023 came after that knowledge, so the score predicted it.
    back_filled = outcome(
        period=date(2023, 1, 1),
        known_on=date(2023, 1, 1),
        first_default_on=date(2023, 6, 1),
        as_of=date(2026, 12, 7),
    )
    # The same score made with the knowledge of 2026 saw the default: it predicts nothing.
    hindsight = outcome(
        period=date(2023, 1, 1),
        known_on=date(2026, 12, 7),
        first_default_on=date(2023, 6, 1),
        as_of=date(2026, 12, 7),
    )

    assert (back_filled, hindsight) == (Outcome.DEFAULTED, Outcome.ALREADY_IN_DEFAULT)


# --- Confidence intervals ----------------------------------------------------------------------


def test_the_default_rate_interval_is_clopper_pearson():
    # Closed forms at the edges: no default in n, upper bound 1 − (α/2)^(1/n); all defaulted,
    # lower bound (α/2)^(1/n). 5 of 100 and 1 of 10: the published exact intervals.
    assert default_rate_interval(0, 40) == pytest.approx((0.0, 1 - 0.025 ** (1 / 40)))
    assert default_rate_interval(40, 40) == pytest.approx((0.025 ** (1 / 40), 1.0))
    assert default_rate_interval(5, 100) == pytest.approx((0.01643, 0.11283), abs=1e-5)
    assert default_rate_interval(1, 10) == pytest.approx((0.00253, 0.44502), abs=1e-5)
    assert default_rate_interval(0, 0) is None
    with pytest.raises(ValueError, match="between 0 and the observations"):
        default_rate_interval(3, 2)


def test_the_auc_interval_is_clipped_and_the_gini_interval_follows_it():
    # 5 and 5 as above: SE 0.16235, so 0.75 ± 0.31820 runs past 1 and is clipped.
    assert auc_interval(0.75, n_defaulted=5, n_performing=5) == pytest.approx(
        (0.75 - 1.959964 * 0.0263571**0.5, 1.0), rel=1e-4
    )
    error = auc_standard_error(0.75, n_defaulted=50, n_performing=200)
    assert auc_interval(0.75, n_defaulted=50, n_performing=200) == pytest.approx(
        (0.75 - 1.959964 * error, 0.75 + 1.959964 * error)
    )
    assert auc_interval(0.99, n_defaulted=5, n_performing=5)[1] == 1.0
    assert auc_interval(0.01, n_defaulted=5, n_performing=5)[0] == 0.0


@pytest.mark.parametrize(
    ("pd", "expected"),
    [
        (Decimal("0.016"), PdCheck.UNDERSTATED),
        (Decimal("0.2"), PdCheck.WITHIN),
        (Decimal("0.6"), PdCheck.OVERSTATED),
        (None, None),
    ],
)
def test_a_pd_is_checked_against_the_interval(pd, expected):
    interval = (Decimal("0.11893"), Decimal("0.54279"))  # 6 defaults of 20

    assert pd_check(pd, interval) == expected


def test_the_back_test_gives_intervals_and_flags_grades_whose_pd_is_off():
    default_day = date(2025, 7, 1)
    observations = [
        # grade 6: 6 of 20 defaulted against a PD of 1.6 %: far too low
        *(observation(40 + i, 6, defaulted_on=default_day, pd="0.016") for i in range(6)),
        *(observation(50 + i, 6, pd="0.016") for i in range(14)),
        # grade 2: 0 of 40 against 0.1 %: within [0, 8.8 %]
        *(observation(70 + i / 2, 2, pd="0.001") for i in range(40)),
    ]

    result = backtest(observations, model_version="cg-test", as_of=AS_OF)

    grade_2, grade_6 = result.by_grade[1], result.by_grade[5]
    assert (grade_6.default_rate_low, grade_6.default_rate_high) == (
        Decimal("0.11893"),
        Decimal("0.54279"),
    )
    assert (grade_6.pd_check, grade_6.pd_outside) == (PdCheck.UNDERSTATED, True)
    assert (grade_2.default_rate_low, grade_2.default_rate_high) == (
        Decimal("0.00000"),
        Decimal("0.08810"),
    )
    assert (grade_2.pd_check, grade_2.pd_outside) == (PdCheck.WITHIN, False)
    assert result.by_grade[0].pd_check is None and not result.by_grade[0].pd_outside
    assert result.grades_off == [6]
    # 6 of 60 overall: the exact interval of 10 %.
    low, high = default_rate_interval(6, 60)
    assert result.default_rate == Decimal("0.10000")
    assert result.default_rate_low == Decimal(str(round(low, 5)))
    assert result.default_rate_high == Decimal(str(round(high, 5)))
    assert result.gini_low == 2 * result.auc_low - 1
    assert result.gini_high == 2 * result.auc_high - 1


# --- Columns against the definitions -----------------------------------------------------------


def random_observations(count, *, seed):
    generator = random.Random(seed)
    rows = []
    for number in range(count):
        period = date(generator.randint(2022, 2027), generator.randint(1, 12), 1)
        if generator.random() < 0.2:  # some periods on month ends: add_months keeps the month
            last_day = calendar.monthrange(period.year, period.month)[1]
            period = date(period.year, period.month, generator.randint(28, last_day))
        known_on = period + timedelta(days=generator.choice([0, 0, 3, 400]))
        defaulted_on = None
        if generator.random() < 0.3:
            defaulted_on = period + timedelta(days=generator.randint(-100, 500))
        rows.append(
            Observation(
                buyer_id=number,
                period=period,
                known_on=known_on,
                score=Decimal(generator.randint(0, 40)) / 2,  # many ties
                grade=generator.randint(1, 10),
                probability_of_default=Decimal(generator.randint(0, 100000)) / 100000,
                first_default_on=defaulted_on,
            )
        )
    return rows


def test_the_outcome_columns_agree_with_the_outcome_of_each_observation():
    rows = random_observations(3000, seed=13)
    masks = outcomes(ObservationColumns.of(rows), as_of=AS_OF)

    for index, row in enumerate(rows):
        expected = outcome(
            period=row.period,
            known_on=row.known_on,
            first_default_on=row.first_default_on,
            as_of=AS_OF,
        )
        assert [kind for kind, mask in masks.items() if mask[index]] == [expected]


def test_months_are_added_to_a_column_like_to_a_day():
    days = [date(2024, 1, 31), date(2024, 2, 29), date(2025, 12, 15), date(2026, 3, 1)]
    column = np.array(days, dtype="datetime64[D]")

    for months in (1, 12, -1, 25):
        moved = add_months_array(column, months)
        assert [day.item() for day in moved] == [add_months(day, months) for day in days]


def test_the_auc_from_ranks_agrees_with_counting_every_pair():
    rows = random_observations(400, seed=5)
    scores = [float(row.score) for row in rows]
    flags = [row.grade > 6 for row in rows]
    pairs = wins = 0.0
    for defaulter in (score for score, flag in zip(scores, flags, strict=True) if flag):
        for performer in (score for score, flag in zip(scores, flags, strict=True) if not flag):
            pairs += 1
            wins += 1.0 if performer > defaulter else 0.5 if performer == defaulter else 0.0

    assert auc(scores, flags) == pytest.approx(wins / pairs)


def test_the_back_test_copes_with_millions_of_observations():
    size = 2_000_000
    generator = np.random.default_rng(7)
    periods = np.datetime64("2021-01-01") + (generator.integers(0, 60, size) * 30).astype(
        "timedelta64[D]"
    )
    grades = generator.integers(1, 11, size)
    defaulted = generator.random(size) < grades / 100
    columns = ObservationColumns(
        period=periods.astype("datetime64[M]").astype("datetime64[D]"),
        known_on=periods.astype("datetime64[M]").astype("datetime64[D]"),
        score=100 - grades * 9 + generator.random(size) * 9,
        grade=grades,
        probability_of_default=grades / 100,
        first_default_on=np.where(
            defaulted, periods + np.timedelta64(100, "D"), np.datetime64("NaT")
        ).astype("datetime64[D]"),
    )
    from monitoring.backtest import backtest_columns

    result = backtest_columns(columns, model_version="big", as_of=date(2027, 6, 1))

    assert result.observations + result.pending + result.already_in_default == size
    assert 0.6 < result.auc < 0.8
    assert result.default_rate_low < result.default_rate < result.default_rate_high
