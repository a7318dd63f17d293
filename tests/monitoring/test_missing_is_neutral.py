"""Missing is neutral (model cg-2026.2): every factor tells "no data" from "good data".

A factor without data carries 0 points (the neutral middle of its curve) and its explanation
says what is missing. Invariant: a buyer with no data at all scores exactly what a buyer whose
every factor sits at the neutral middle scores (50 before legal events), never more, and less
than a buyer with good data.
"""

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import scoring
from monitoring.rescoring import buyer_risk_frame
from monitoring.scoring import BuyerRiskInputs, StatementFigures, score_buyer
from tests.conftest import active
from tests.factories import BuyerFactory, FinancialStatementFactory, InvoiceFactory

AS_OF = date(2026, 11, 15)
PAYMENT_FACTORS = ("payment_behaviour", "broken_payment_plans", "disputes")
HEALTHY = StatementFigures(
    total_assets=Decimal("6000000"),
    current_assets=Decimal("2500000"),
    current_liabilities=Decimal("1500000"),
    total_liabilities=Decimal("3600000"),
    retained_earnings=Decimal("1200000"),
    ebit=Decimal("800000"),
    equity=Decimal("2400000"),
)
NO_DATA = BuyerRiskInputs(as_of=AS_OF, country="AQ", sector="U")
# Every factor measured at (about) the neutral middle of its curve.
AVERAGE = BuyerRiskInputs(
    as_of=AS_OF,
    statement=StatementFigures(
        total_assets=Decimal("1000000"),
        current_assets=Decimal("300000"),
        current_liabilities=Decimal("280000"),
        total_liabilities=Decimal("600000"),
        retained_earnings=Decimal("100000"),
        ebit=Decimal("90000"),
        equity=Decimal("400000"),
    ),
    statement_age_months=6,
    days_beyond_terms=Decimal("15"),
    overdue_share=Decimal("0.25"),
    over_90_share=Decimal("0.10"),
    broken_plans_12m=1,
    disputed_share=Decimal("0.10"),
    disputes_opened_90d=1,
    country="FR",
    country_rating=5,
    sector="G",
    sector_rating=5,
)
GOOD_HISTORY = BuyerRiskInputs(
    as_of=AS_OF,
    days_beyond_terms=Decimal("0"),
    overdue_share=Decimal("0"),
    over_90_share=Decimal("0"),
    broken_plans_12m=0,
    disputed_share=Decimal("0"),
    disputes_opened_90d=0,
    country="AQ",
    sector="U",
)


def factors(result: scoring.ScoreResult) -> dict[str, scoring.Factor]:
    return {item["factor"]: item for item in result.factors}


def test_a_buyer_without_invoices_gets_no_points_from_payment_factors_and_is_told_why():
    result = factors(score_buyer(NO_DATA))
    for name in (*PAYMENT_FACTORS, "overdue_share", "severe_arrears"):
        assert result[name]["points"] == 0.0, name
        assert result[name]["value"] is None, name
        assert result[name]["message"] == scoring.MSG_NO_PAYMENT_HISTORY, name
        assert result[name]["params"] == {}, name
    assert "No payment history" in scoring.MSG_NO_PAYMENT_HISTORY
    assert "no points" in scoring.MSG_NO_PAYMENT_HISTORY
    # Not "no broken plans" / "no disputes": the count is unknown, not zero.
    assert result["broken_payment_plans"]["message"] != scoring.MSG_BROKEN_PLANS


def test_a_buyer_with_only_good_history_gets_the_good_points():
    result = factors(score_buyer(GOOD_HISTORY))
    expected = {
        "payment_behaviour": 9.0,  # DBT 0: goodness 1 → 18 × 0.5
        "overdue_share": 5.0,
        "severe_arrears": 4.0,
        "broken_payment_plans": 3.0,  # measured: no broken plan
        "disputes": 2.0,  # measured: no dispute
    }
    for name, points in expected.items():
        assert result[name]["points"] == points, name
    assert result["broken_payment_plans"]["message"] == scoring.MSG_BROKEN_PLANS
    assert result["broken_payment_plans"]["params"] == {"count": 0}
    assert result["disputes"]["params"] == {"percent": 0.0, "count": 0}


def test_history_without_open_receivables_still_counts_plans_and_disputes():
    inputs = BuyerRiskInputs(
        as_of=AS_OF, days_beyond_terms=Decimal("2"), broken_plans_12m=0, disputes_opened_90d=0
    )
    result = factors(score_buyer(inputs))
    assert result["overdue_share"]["points"] == 0.0
    assert result["overdue_share"]["message"] == scoring.MSG_NO_EXPOSURE
    assert result["broken_payment_plans"]["points"] == 3.0
    assert result["disputes"]["points"] == 2.0
    assert result["disputes"]["message"] == scoring.MSG_DISPUTES_NO_EXPOSURE


def test_a_missing_statement_is_neutral_and_a_good_one_earns_points():
    missing = factors(score_buyer(NO_DATA))["financial_strength"]
    good = factors(score_buyer(BuyerRiskInputs(as_of=AS_OF, statement=HEALTHY)))[
        "financial_strength"
    ]
    assert missing["points"] == 0.0
    assert missing["message"] == "No financial statement on file: no points either way."
    assert missing["value"] is None
    assert good["points"] > 0
    assert good["value"] == pytest.approx(3.34, abs=0.01)


def test_missing_country_and_sector_ratings_are_neutral_with_a_note():
    result = score_buyer(NO_DATA)
    for name, text in (
        ("country_risk", "No country risk rating for AQ: no points either way."),
        ("sector_risk", "No sector risk rating for NACE section U: no points either way."),
    ):
        factor = factors(result)[name]
        assert factor["points"] == 0.0
        assert factor["value"] is None
        assert factor["message"] % factor["params"] == text


def test_a_no_data_buyer_scores_the_neutral_50_not_more_than_an_average_one():
    no_data, average = score_buyer(NO_DATA), score_buyer(AVERAGE)
    assert no_data.score == Decimal("50.00")
    assert all(item["points"] == 0.0 for item in no_data.factors)
    assert no_data.grade == 6
    # The average buyer (every factor near its neutral middle) scores 52.04, grade 6.
    assert average.score == Decimal("52.04")
    assert no_data.score <= average.score
    assert no_data.grade >= average.grade
    assert score_buyer(GOOD_HISTORY).score > no_data.score


FIELDS_TO_FORGET = (
    "statement",
    "days_beyond_terms",
    "overdue_share",
    "over_90_share",
    "broken_plans_12m",
    "disputed_share",
    "disputes_opened_90d",
    "country_rating",
    "sector_rating",
)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(FIELDS_TO_FORGET)))
def test_forgetting_good_data_never_raises_the_score(forgotten):
    """The invariant: a factor without data gives what a neutral measurement gives; so turning
    good (above-neutral) data into "unknown" never raises the score."""
    good = BuyerRiskInputs(
        as_of=AS_OF,
        statement=HEALTHY,
        statement_age_months=6,
        days_beyond_terms=Decimal("1"),
        overdue_share=Decimal("0.02"),
        over_90_share=Decimal("0"),
        broken_plans_12m=0,
        disputed_share=Decimal("0"),
        disputes_opened_90d=0,
        country="DE",
        country_rating=1,
        sector="G",
        sector_rating=3,
    )
    unknown = BuyerRiskInputs(
        **{
            name: (None if name in forgotten else getattr(good, name))
            for name in BuyerRiskInputs.__dataclass_fields__
        }
    )
    assert score_buyer(unknown).score <= score_buyer(good).score


@pytest.mark.django_db
def test_the_risk_inputs_carry_unknown_as_none_not_zero(tenant_a):
    with active(tenant_a):
        blank = BuyerFactory(tenant=tenant_a, country_id="DE", nace_section="G")
        paying = BuyerFactory(tenant=tenant_a, country_id="DE", nace_section="G")
        InvoiceFactory(
            buyer=paying,
            tenant=tenant_a,
            amount=Decimal(1000),
            paid_amount=Decimal(1000),
            issue_date=date(2026, 8, 1),
            due_date=date(2026, 9, 1),
            paid_date=date(2026, 9, 1),
            status="paid",
        )
        FinancialStatementFactory(buyer=paying, tenant=tenant_a, period_end=date(2025, 12, 31))
        frame = buyer_risk_frame(
            tenant_id=tenant_a.pk, buyer_ids=[blank.pk, paying.pk], as_of=AS_OF
        )
    empty, history = frame.loc[blank.pk], frame.loc[paying.pk]
    unknown = ["days_beyond_terms", "broken_plans_12m", "disputes_opened_90d", "total_assets"]
    assert empty[unknown].isna().all()
    assert (history["days_beyond_terms"], history["broken_plans_12m"]) == (0.0, 0)
    assert history["disputes_opened_90d"] == 0
    scored = {
        item["factor"]: item
        for item in json.loads(scoring.score_frame(frame).loc[blank.pk, "factors"])
    }
    assert all(scored[name]["points"] == 0.0 for name in (*PAYMENT_FACTORS, "financial_strength"))
    assert scored["payment_behaviour"]["message"] == scoring.MSG_NO_PAYMENT_HISTORY
    assert scored["broken_payment_plans"]["message"] == scoring.MSG_NO_PAYMENT_HISTORY
