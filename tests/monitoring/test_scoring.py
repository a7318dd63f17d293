"""The scoring model, without a database: Altman Z'', each factor's direction, overrides,
missing and stale statements, the factor shape, and the frame version agreeing with the
per-buyer one."""

import dataclasses
import json
import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring import scoring
from monitoring.scoring import (
    MODEL_VERSION,
    BuyerRiskInputs,
    StatementFigures,
    altman_z_double_prime,
    grade_for_score,
    inputs_frame,
    score_buyer,
    score_frame,
)

AS_OF = date(2026, 11, 1)

# The factory's statement (tests/factories.py FinancialStatementFactory), in EUR.
HEALTHY = StatementFigures(
    total_assets=Decimal("6000000"),
    current_assets=Decimal("2500000"),
    current_liabilities=Decimal("1500000"),
    total_liabilities=Decimal("3600000"),
    retained_earnings=Decimal("1200000"),
    ebit=Decimal("800000"),
    equity=Decimal("2400000"),
)


def buyer(**overrides) -> BuyerRiskInputs:
    values = {
        "as_of": AS_OF,
        "statement": HEALTHY,
        "statement_age_months": 10,
        "days_beyond_terms": Decimal("5"),
        "overdue_share": Decimal("0.10"),
        "over_90_share": Decimal("0"),
        "broken_plans_12m": 0,  # measured: payment history without a broken plan or a dispute
        "disputes_opened_90d": 0,
        "country": "DE",
        "country_rating": 1,
        "sector": "G",
        "sector_rating": 5,
    }
    return BuyerRiskInputs(**(values | overrides))


def factor(result, name):
    return next(item for item in result.factors if item["factor"] == name)


def statement(**overrides) -> StatementFigures:
    return dataclasses.replace(HEALTHY, **{k: Decimal(str(v)) for k, v in overrides.items()})


# --- Altman Z'' ---------------------------------------------------------------------------------


def test_z_double_prime_of_a_healthy_company_is_in_the_safe_zone():
    # WC/TA   = (2,500,000 − 1,500,000) / 6,000,000 = 0.1666667 × 6.56 = 1.0933333
    # RE/TA   = 1,200,000 / 6,000,000               = 0.2       × 3.26 = 0.6520000
    # EBIT/TA = 800,000 / 6,000,000                 = 0.1333333 × 6.72 = 0.8960000
    # BE/TL   = 2,400,000 / 3,600,000               = 0.6666667 × 1.05 = 0.7000000
    # Z''     = 3.3413333 (> 2.60: safe)
    z = altman_z_double_prime(**dataclasses.asdict(HEALTHY))
    assert z == pytest.approx(3.3413333, abs=1e-6)
    result = score_buyer(buyer())
    strength = factor(result, "financial_strength")
    assert strength["value"] == 3.34
    assert "safe zone" in strength["message"]
    # Goodness between the knots (2.60, 0.70) and (4.0, 0.90): 0.70 + 0.7413333 / 1.4 × 0.20
    # = 0.8059048; points = 28 × (0.8059048 − 0.5) = 8.5653
    assert strength["points"] == 8.57


def test_z_double_prime_in_the_grey_zone():
    # WC/TA 100/1000 = 0.1 × 6.56 = 0.656; RE/TA 0.1 × 3.26 = 0.326; EBIT/TA 0.05 × 6.72 = 0.336;
    # BE/TL 400/600 = 0.6666667 × 1.05 = 0.7; Z'' = 2.018
    figures = {
        "total_assets": 1000,
        "current_assets": 400,
        "current_liabilities": 300,
        "total_liabilities": 600,
        "retained_earnings": 100,
        "ebit": 50,
        "equity": 400,
    }
    assert altman_z_double_prime(**figures) == pytest.approx(2.018, abs=1e-9)
    result = score_buyer(buyer(statement=statement(**figures)))
    assert "grey zone" in factor(result, "financial_strength")["message"]
    # Goodness 0.35 + (2.018 − 1.10) / 1.50 × 0.35 = 0.5641933 → 28 × 0.0641933 = 1.7974
    assert factor(result, "financial_strength")["points"] == 1.80


def test_z_double_prime_in_the_distress_zone():
    # WC/TA (300 − 500)/1000 = −0.2 × 6.56 = −1.312; RE/TA −0.1 × 3.26 = −0.326;
    # EBIT/TA −0.02 × 6.72 = −0.1344; BE/TL 100/900 = 0.1111111 × 1.05 = 0.1166667
    # Z'' = −1.6557333 (< 1.10: distress)
    figures = {
        "total_assets": 1000,
        "current_assets": 300,
        "current_liabilities": 500,
        "total_liabilities": 900,
        "retained_earnings": -100,
        "ebit": -20,
        "equity": 100,
    }
    assert altman_z_double_prime(**figures) == pytest.approx(-1.6557333, abs=1e-6)
    result = score_buyer(buyer(statement=statement(**figures)))
    strength = factor(result, "financial_strength")
    assert "distress zone" in strength["message"]
    # Goodness between (−2, 0.0) and (0, 0.10): 0.10 × (2 − 1.6557333) / 2 = 0.0172133;
    # points = 28 × (0.0172133 − 0.5) = −13.5180
    assert strength["points"] == -13.52


def test_the_whole_score_of_a_healthy_buyer_adds_up():
    # 50 + 8.5653 (Z'' 3.34) + 6.30 (DBT 5: goodness 0.85) + 2.50 (10 % overdue: 0.75)
    # + 4.00 (nothing over 90 days) + 3.00 (no broken plan) + 2.00 (no dispute)
    # + 8.00 (country 1) + 0.5556 (sector 5: goodness 5/9) + 0 (no legal event) = 84.9209
    result = score_buyer(buyer())
    assert result.score == Decimal("84.92")
    assert result.grade == 2  # 75 ≤ score < 85
    assert result.probability_of_default == Decimal("0.00100")
    assert sum(item["points"] for item in result.factors) + 50 == pytest.approx(84.92, abs=0.02)


def test_a_statement_without_liabilities_caps_equity_to_liabilities():
    z = altman_z_double_prime(**(dataclasses.asdict(HEALTHY) | {"total_liabilities": 0}))
    # 1.0933333 + 0.652 + 0.896 + 1.05 × 10
    assert z == pytest.approx(13.1413333, abs=1e-6)


def test_total_assets_must_be_positive_for_z_double_prime():
    with pytest.raises(ValueError):
        altman_z_double_prime(**(dataclasses.asdict(HEALTHY) | {"total_assets": 0}))


# --- Missing and stale statements -------------------------------------------------------------


def test_a_missing_statement_is_neutral_and_explained():
    # cg-2026.2: missing is neutral (cg-2026.1 took off 2.8 points).
    result = score_buyer(buyer(statement=None, statement_age_months=None))
    strength = factor(result, "financial_strength")
    assert strength["message"] == "No financial statement on file: no points either way."
    assert strength["value"] is None
    assert strength["points"] == 0.0
    assert strength["weight"] == 28.0


def test_an_unusable_statement_counts_as_missing_with_its_own_explanation():
    result = score_buyer(buyer(statement=statement(total_assets=0)))
    strength = factor(result, "financial_strength")
    assert strength["points"] == 0.0
    assert "cannot be scored" in strength["message"]


def test_a_statement_older_than_18_months_has_its_weight_halved():
    fresh = score_buyer(buyer(statement_age_months=18))
    stale = score_buyer(buyer(statement_age_months=19))
    assert factor(fresh, "financial_strength")["weight"] == 28.0
    stale_strength = factor(stale, "financial_strength")
    assert stale_strength["weight"] == 14.0
    assert stale_strength["points"] == pytest.approx(
        factor(fresh, "financial_strength")["points"] / 2, abs=0.01
    )
    assert "19 months old" in stale_strength["message"] % stale_strength["params"]
    assert "weight is halved" in stale_strength["message"]


# --- Each factor's direction ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("better", "worse", "name"),
    [
        ({"days_beyond_terms": Decimal("3")}, {"days_beyond_terms": Decimal("45")}, "payment_behaviour"),
        ({"overdue_share": Decimal("0.05")}, {"overdue_share": Decimal("0.6")}, "overdue_share"),
        ({"over_90_share": Decimal("0")}, {"over_90_share": Decimal("0.2")}, "severe_arrears"),
        ({"broken_plans_12m": 0}, {"broken_plans_12m": 2}, "broken_payment_plans"),
        ({"disputed_share": Decimal("0")}, {"disputed_share": Decimal("0.3")}, "disputes"),
        ({"disputes_opened_90d": 0}, {"disputes_opened_90d": 4}, "disputes"),
        ({"country_rating": 2}, {"country_rating": 8}, "country_risk"),
        ({"sector_rating": 2}, {"sector_rating": 8}, "sector_risk"),
        ({"statement": HEALTHY}, {"statement": statement(ebit=-300000)}, "financial_strength"),
        ({"legal_events": ()}, {"legal_events": (("court_judgment", AS_OF - timedelta(days=30)),)}, "legal_events"),
    ],
)  # fmt: skip
def test_each_factor_lowers_the_score_when_it_worsens(better, worse, name):
    good, bad = score_buyer(buyer(**better)), score_buyer(buyer(**worse))
    assert factor(bad, name)["points"] < factor(good, name)["points"]
    assert bad.score < good.score
    assert bad.grade >= good.grade


def test_no_payment_history_and_no_exposure_are_neutral():
    result = score_buyer(buyer(days_beyond_terms=None, overdue_share=None, over_90_share=None))
    for name in ("payment_behaviour", "overdue_share", "severe_arrears"):
        assert factor(result, name)["points"] == 0.0
        assert factor(result, name)["value"] is None
    assert factor(result, "overdue_share")["message"] == scoring.MSG_NO_PAYMENT_HISTORY
    with_history = score_buyer(buyer(overdue_share=None, over_90_share=None))
    assert factor(with_history, "overdue_share")["points"] == 0.0
    assert factor(with_history, "overdue_share")["message"] == (
        "No open receivables: no points either way."
    )


def test_a_missing_country_rating_is_neutral_and_said_so():
    # cg-2026.2: no points (cg-2026.1 assumed a medium rating 5, worth +0.89).
    result = score_buyer(buyer(country="AQ", country_rating=None))
    country = factor(result, "country_risk")
    assert country["points"] == 0.0
    assert country["value"] is None
    assert country["message"] % country["params"] == (
        "No country risk rating for AQ: no points either way."
    )


def test_legal_events_older_than_a_year_count_half_and_older_than_two_years_not_at_all():
    def penalty(days_ago):
        events = (("court_judgment", AS_OF - timedelta(days=days_ago)),)
        return factor(score_buyer(buyer(legal_events=events)), "legal_events")["points"]

    assert penalty(100) == -10.0
    assert penalty(500) == -5.0
    assert penalty(800) == 0.0


def test_legal_event_penalties_are_capped():
    events = tuple(("payment_default", AS_OF - timedelta(days=day)) for day in range(1, 8))
    assert factor(score_buyer(buyer(legal_events=events)), "legal_events")["points"] == -30.0


# --- Insolvency and default -------------------------------------------------------------------


def test_an_insolvent_buyer_is_grade_10_with_certain_default():
    result = score_buyer(buyer(buyer_status="insolvent"))
    assert result.grade == 10
    assert result.score == Decimal("0.00")
    assert result.probability_of_default == Decimal("1.00000")
    insolvency = factor(result, "insolvency")
    assert insolvency["message"] == "The buyer is insolvent: default (grade 10)."
    assert insolvency["points"] == -84.92


def test_insolvency_proceedings_are_a_default():
    events = (("insolvency_proceedings", AS_OF - timedelta(days=20)),)
    result = score_buyer(buyer(legal_events=events))
    assert (result.grade, result.score, result.probability_of_default) == (
        10,
        Decimal("0.00"),
        Decimal("1.00000"),
    )


def test_an_insolvency_filing_floors_the_grade_to_10_with_a_50_percent_pd():
    events = (("insolvency_filing", AS_OF - timedelta(days=20)),)
    result = score_buyer(buyer(legal_events=events))
    assert result.grade == 10
    assert result.score <= Decimal("10")
    assert result.probability_of_default == Decimal("0.50000")
    assert factor(result, "insolvency")["params"] == {
        "date": (AS_OF - timedelta(days=20)).isoformat()
    }


def test_an_insolvency_filing_older_than_two_years_no_longer_counts():
    events = (("insolvency_filing", AS_OF - timedelta(days=800)),)
    assert score_buyer(buyer(legal_events=events)).grade == 2


# --- Grades and PD ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, 1), (85, 1), (84.99, 2), (75, 2), (67, 3), (60, 4), (53, 5), (46, 6), (38, 7),
     (30, 8), (20, 9), (19.99, 10), (0, 10)],
)  # fmt: skip
def test_score_bands(score, grade):
    assert grade_for_score(score) == grade


def test_the_pd_table_rises_with_the_grade():
    pds = [scoring.PD_BY_GRADE[grade] for grade in range(1, 11)]
    assert pds == sorted(pds)
    assert pds[0] == Decimal("0.0005") and pds[8] == Decimal("0.2") and pds[9] == Decimal("0.5")


# --- Factor shape ---------------------------------------------------------------------------------

MESSAGES = {value for name, value in vars(scoring).items() if name.startswith("MSG_")}


def test_factors_have_the_documented_shape_and_render():
    result = score_buyer(buyer(legal_events=(("tax_lien", AS_OF - timedelta(days=3)),)))
    assert [item["factor"] for item in result.factors] == [
        "financial_strength",
        "payment_behaviour",
        "overdue_share",
        "severe_arrears",
        "broken_payment_plans",
        "disputes",
        "country_risk",
        "sector_risk",
        "legal_events",
    ]
    for item in result.factors:
        assert set(item) == {"factor", "label", "points", "weight", "value", "message", "params"}
        assert isinstance(item["points"], float)
        assert isinstance(item["weight"], float)
        assert item["value"] is None or isinstance(item["value"], int | float)
        assert item["message"] in MESSAGES  # a gettext_noop'd template, translatable later
        assert item["label"] == scoring.LABELS[item["factor"]]
        item["message"] % item["params"]  # every placeholder has its param
    json.dumps(result.factors)
    assert MODEL_VERSION == "cg-2026.2"


def test_the_weights_add_up_to_100():
    assert sum(scoring.WEIGHTS.values()) == 100


# --- Frame version agrees with the per-buyer one ------------------------------------------------

optional_share = st.none() | st.decimals(min_value=0, max_value=1, places=3)
statements = st.none() | st.builds(
    StatementFigures,
    total_assets=st.decimals(min_value=-10, max_value=10_000_000, places=0),
    current_assets=st.decimals(min_value=0, max_value=5_000_000, places=0),
    current_liabilities=st.decimals(min_value=0, max_value=5_000_000, places=0),
    total_liabilities=st.decimals(min_value=0, max_value=8_000_000, places=0),
    retained_earnings=st.decimals(min_value=-3_000_000, max_value=3_000_000, places=0),
    ebit=st.decimals(min_value=-1_000_000, max_value=1_000_000, places=0),
    equity=st.decimals(min_value=-2_000_000, max_value=5_000_000, places=0),
)
legal_kinds = st.sampled_from(
    ["court_judgment", "tax_lien", "payment_default", "management_change", "other",
     "insolvency_filing", "insolvency_proceedings"]
)  # fmt: skip
risk_inputs = st.builds(
    BuyerRiskInputs,
    as_of=st.just(AS_OF),
    statement=statements,
    statement_age_months=st.integers(min_value=0, max_value=60),
    days_beyond_terms=st.none() | st.decimals(min_value=0, max_value=400, places=1),
    overdue_share=optional_share,
    over_90_share=optional_share,
    broken_plans_12m=st.none() | st.integers(min_value=0, max_value=5),
    disputed_share=optional_share,
    disputes_opened_90d=st.none() | st.integers(min_value=0, max_value=8),
    country=st.sampled_from(["DE", "FR", "TR", "AR"]),
    country_rating=st.none() | st.integers(min_value=1, max_value=10),
    sector=st.sampled_from(list("ACFGK")),
    sector_rating=st.none() | st.integers(min_value=1, max_value=10),
    legal_events=st.lists(
        st.tuples(legal_kinds, st.integers(min_value=0, max_value=900)), max_size=3
    ).map(lambda events: tuple((kind, AS_OF - timedelta(days=days)) for kind, days in events)),
    buyer_status=st.sampled_from(["active", "active", "on_hold", "insolvent"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(risk_inputs, min_size=1, max_size=20))
def test_the_frame_version_agrees_with_the_per_buyer_one(inputs):
    frame = score_frame(inputs_frame(inputs, index=range(100, 100 + len(inputs))))
    assert list(frame.index) == list(range(100, 100 + len(inputs)))
    for position, item in enumerate(inputs):
        single = score_buyer(item)
        row = frame.iloc[position]
        assert Decimal(f"{row['score']:.2f}") == single.score
        assert int(row["grade"]) == single.grade
        assert Decimal(f"{row['probability_of_default']:.5f}") == single.probability_of_default
        assert json.loads(row["factors"]) == single.factors
        assert 0 <= single.score <= 100
        assert single.grade == (10 if single.grade == 10 else grade_for_score(single.score))


def test_score_frame_names_missing_columns():
    with pytest.raises(ValueError, match="country_rating"):
        score_frame(inputs_frame([buyer()]).drop(columns=["country_rating"]))


# --- Worsening any single factor never improves the result --------------------------------------


def _known(inputs: BuyerRiskInputs, which: str) -> BuyerRiskInputs:
    """Give the factor to worsen a value: "unknown" is neutral, not a level to worsen from."""
    unknown = {
        "dbt": ("days_beyond_terms", Decimal(0)),
        "overdue": ("overdue_share", Decimal(0)),
        "over_90": ("over_90_share", Decimal(0)),
        "country": ("country_rating", 1),
        "sector": ("sector_rating", 1),
        "broken_plans": ("broken_plans_12m", 0),
    }
    if which in unknown and getattr(inputs, unknown[which][0]) is None:
        return dataclasses.replace(inputs, **{unknown[which][0]: unknown[which][1]})
    if which in STATEMENT_WORSENINGS and inputs.statement is None:
        return dataclasses.replace(inputs, statement=HEALTHY)
    return inputs


def _worsen(inputs: BuyerRiskInputs, which: str, amount: float) -> BuyerRiskInputs:
    def more(value, step, cap=None):
        worse = value + Decimal(str(step))
        return min(worse, Decimal(str(cap))) if cap is not None else worse

    if which == "dbt":
        return dataclasses.replace(
            inputs, days_beyond_terms=more(inputs.days_beyond_terms, round(amount * 100, 1))
        )
    if which == "overdue":
        return dataclasses.replace(inputs, overdue_share=more(inputs.overdue_share, amount, cap=1))
    if which == "over_90":
        return dataclasses.replace(inputs, over_90_share=more(inputs.over_90_share, amount, cap=1))
    if which == "country":
        rating = min(10, inputs.country_rating + 1 + int(amount * 5))
        return dataclasses.replace(inputs, country_rating=rating)
    if which == "sector":
        rating = min(10, inputs.sector_rating + 1 + int(amount * 5))
        return dataclasses.replace(inputs, sector_rating=rating)
    if which == "broken_plans":
        return dataclasses.replace(inputs, broken_plans_12m=inputs.broken_plans_12m + 1)
    if which == "legal_event":
        event = ("court_judgment", AS_OF - timedelta(days=int(amount * 700)))
        return dataclasses.replace(inputs, legal_events=(*inputs.legal_events, event))
    # Lower one Z'' component of the statement (the others unchanged).
    figures = inputs.statement
    step = Decimal(str(round(amount * 1_000_000)))
    field = {
        "working_capital": "current_assets",
        "retained_earnings": "retained_earnings",
        "ebit": "ebit",
        "equity": "equity",
    }[which]
    return dataclasses.replace(
        inputs, statement=dataclasses.replace(figures, **{field: getattr(figures, field) - step})
    )


STATEMENT_WORSENINGS = ("working_capital", "retained_earnings", "ebit", "equity")
WORSENINGS = [
    "dbt",
    "overdue",
    "over_90",
    "country",
    "sector",
    "broken_plans",
    "legal_event",
    "working_capital",
    "retained_earnings",
    "ebit",
    "equity",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    risk_inputs.filter(
        lambda inputs: inputs.statement is None or inputs.statement.total_assets > 0
    ),
    st.sampled_from(WORSENINGS),
    st.floats(min_value=0.01, max_value=1.0),
)
def test_worsening_any_single_risk_factor_never_improves_score_or_grade(inputs, which, amount):
    inputs = _known(inputs, which)
    before = score_buyer(inputs)
    after = score_buyer(_worsen(inputs, which, amount))
    assert after.score <= before.score
    assert after.grade >= before.grade
    assert after.probability_of_default >= before.probability_of_default


def test_nan_and_none_mean_unknown_in_a_frame():
    frame = inputs_frame([buyer(days_beyond_terms=None)])
    frame.loc[:, "overdue_share"] = math.nan
    row = score_frame(frame).iloc[0]
    factors = {item["factor"]: item for item in json.loads(row["factors"])}
    assert factors["payment_behaviour"]["value"] is None
    assert factors["overdue_share"]["value"] is None
