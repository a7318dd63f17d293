"""Back-testing arithmetic (pure, no database): AUC with ties, Gini, outcomes, grade table."""

from datetime import date
from decimal import Decimal

import pytest

from monitoring.backtest import (
    Observation,
    Outcome,
    add_months,
    auc,
    auc_standard_error,
    backtest,
    gini,
    outcome,
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
        computed_on=date(2025, 6, 3),
        first_default_on=first_default_on,
        as_of=AS_OF,
    )

    assert result == expected


def test_a_score_whose_window_is_still_open_is_pending_until_a_default_comes():
    recent = {"period": date(2027, 1, 1), "computed_on": date(2027, 1, 1), "as_of": AS_OF}

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
        computed_on=period,
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
