"""The recommended limit (pure): every branch of `policies.recommendation`, hand-computed."""

from decimal import Decimal

from policies.recommendation import Band, Financials, band_for_grade, recommend, round_down

BAND = Band(
    grade_from=3,
    grade_to=4,
    max_payment_terms_days=60,
    max_limit=Decimal("400000"),
    max_limit_equity_pct=Decimal("10"),
    max_limit_revenue_pct=Decimal("5"),
)
FINANCIALS = Financials(equity=Decimal("2500000"), revenue=Decimal("10000000"))
NO_FINANCIALS_CAP = Decimal("50000")


def run(**overrides):
    arguments = {
        "grade": 3,
        "band": BAND,
        "financials": FINANCIALS,
        "exposure": Decimal("0"),
        "insurer_cover": Decimal("0"),
        "limit_without_financials": NO_FINANCIALS_CAP,
    } | overrides
    return recommend(**arguments)


def codes(recommendation) -> list[str]:
    return [step.code for step in recommendation.steps]


def test_the_equity_cap_binds_when_it_is_the_smallest():
    # 10 % of 2,500,000 = 250,000 < 5 % of 10,000,000 = 500,000 and < band maximum 400,000.
    result = run()

    assert result.amount == Decimal("250000")
    assert result.binding == "equity_cap"
    assert codes(result) == ["band_maximum", "equity_cap", "revenue_cap"]


def test_the_revenue_cap_binds_when_it_is_the_smallest():
    # 5 % of 3,000,000 = 150,000 < 10 % of 2,500,000 = 250,000.
    result = run(financials=Financials(equity=Decimal("2500000"), revenue=Decimal("3000000")))

    assert (result.amount, result.binding) == (Decimal("150000"), "revenue_cap")


def test_the_band_maximum_binds_for_a_large_buyer():
    result = run(financials=Financials(equity=Decimal("90000000"), revenue=Decimal("500000000")))

    assert (result.amount, result.binding) == (Decimal("400000"), "band_maximum")


def test_negative_equity_allows_no_credit_on_the_equity_rule():
    result = run(financials=Financials(equity=Decimal("-300000"), revenue=Decimal("10000000")))

    assert (result.amount, result.binding) == (Decimal("0"), "equity_cap")


def test_missing_financials_apply_the_policy_limit_without_financials():
    result = run(financials=None)

    assert (result.amount, result.binding) == (Decimal("50000"), "no_financials_cap")
    assert codes(result) == ["band_maximum", "no_financials_cap"]


def test_a_band_without_percentage_caps_ignores_missing_financials():
    band = Band(grade_from=1, grade_to=2, max_payment_terms_days=90, max_limit=Decimal("800000"))

    result = run(grade=1, band=band, financials=None)

    assert (result.amount, result.binding) == (Decimal("800000"), "band_maximum")


def test_insurer_cover_raises_the_recommendation_up_to_the_band_maximum():
    # Policy cap 50,000 (no financials); cover 300,000 → min(300,000, 400,000) = 300,000.
    result = run(financials=None, insurer_cover=Decimal("300000"))

    assert (result.amount, result.binding) == (Decimal("300000"), "insurer_cover_raises")


def test_insurer_cover_never_raises_above_the_band_maximum():
    result = run(financials=None, insurer_cover=Decimal("900000"))

    assert (result.amount, result.binding) == (Decimal("400000"), "insurer_cover_raises")


def test_insurer_cover_below_the_policy_cap_changes_nothing_without_an_insurance_rule():
    result = run(insurer_cover=Decimal("100000"))

    assert (result.amount, result.binding) == (Decimal("250000"), "equity_cap")


def test_required_insurance_caps_the_uninsured_part():
    # Equity cap 250,000; insurance required above 100,000; cover 180,000 → 180,000.
    band = Band(**{**BAND.__dict__, "insurance_required_above": Decimal("100000")})

    result = run(band=band, insurer_cover=Decimal("180000"))

    assert (result.amount, result.binding) == (Decimal("180000"), "insurance_required_cap")


def test_required_insurance_without_cover_caps_at_the_threshold():
    band = Band(**{**BAND.__dict__, "insurance_required_above": Decimal("100000")})

    result = run(band=band)

    assert (result.amount, result.binding) == (Decimal("100000"), "insurance_required_cap")


def test_an_unrated_buyer_gets_only_its_insured_credit():
    result = run(grade=None, band=None, insurer_cover=Decimal("75000"))

    assert (result.amount, result.binding) == (Decimal("75000"), "unrated_insured_only")
    assert result.payment_terms_days is None


def test_an_unrated_buyer_without_cover_gets_nothing():
    result = run(grade=None, band=None)

    assert result.amount == Decimal("0")


def test_the_amount_is_rounded_down_to_whole_thousands():
    # 10 % of 1,234,567 = 123,456.70 → 123,000.
    result = run(financials=Financials(equity=Decimal("1234567"), revenue=Decimal("99000000")))

    assert result.amount == Decimal("123000")
    assert codes(result)[-1] == "rounded_down"


def test_a_smaller_request_is_recommended_as_asked():
    result = run(requested_amount=Decimal("120500"))

    assert (result.amount, result.binding) == (Decimal("120500"), "requested_amount")


def test_a_larger_request_is_cut_to_the_policy_cap():
    result = run(requested_amount=Decimal("600000"))

    assert (result.amount, result.binding) == (Decimal("250000"), "equity_cap")


def test_terms_beyond_the_band_are_capped_and_shorter_terms_kept():
    assert run(requested_terms_days=90).payment_terms_days == 60
    assert run(requested_terms_days=30).payment_terms_days == 30
    assert run().payment_terms_days == 60


def test_a_recommendation_below_exposure_is_flagged():
    result = run(exposure=Decimal("260000"))

    assert [warning.code for warning in result.warnings] == ["below_exposure"]
    assert run(exposure=Decimal("250000")).warnings == ()


def test_the_band_is_found_by_grade():
    bands = [BAND, Band(grade_from=5, grade_to=10, max_payment_terms_days=30, max_limit=Decimal(0))]

    assert band_for_grade(bands, 4) is BAND
    assert band_for_grade(bands, 7) is bands[1]
    assert band_for_grade(bands, None) is None


def test_round_down_keeps_round_amounts():
    assert round_down(Decimal("5000")) == Decimal("5000")
    assert round_down(Decimal("999.99")) == Decimal("0")
