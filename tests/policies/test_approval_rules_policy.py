"""Approvals keep the credit policy: the pure rules of `policies.approval.breaches`."""

from decimal import Decimal

from policies.approval import (
    Breach,
    Objection,
    PolicyLimits,
    breaches,
    decided_terms,
    objections,
    override_needed,
    policy_limits,
)
from policies.recommendation import Band, Financials, recommend

# Grades 5–6: 60 days, at most 400,000, 10 % of equity, 5 % of revenue.
BAND = Band(
    grade_from=5,
    grade_to=6,
    max_payment_terms_days=60,
    max_limit=Decimal("400000"),
    max_limit_equity_pct=Decimal("10"),
    max_limit_revenue_pct=Decimal("5"),
    insurance_required_above=Decimal("150000"),
)
NO_CREDIT = Band(grade_from=10, grade_to=10, max_payment_terms_days=0, max_limit=Decimal("0"))


def limits_for(
    *,
    grade: int = 5,
    band: Band | None = BAND,
    equity: str = "3000000",
    revenue: str = "10000000",
    cover: str = "0",
    requested: str = "100000",
    terms: int = 90,
    lowest_acceptable_grade: int = 8,
) -> PolicyLimits:
    recommendation = recommend(
        grade=grade,
        band=band,
        financials=Financials(equity=Decimal(equity), revenue=Decimal(revenue)),
        exposure=Decimal("0"),
        insurer_cover=Decimal(cover),
        limit_without_financials=Decimal("50000"),
        requested_amount=Decimal(requested),
        requested_terms_days=terms,
    )
    return policy_limits(
        grade=grade,
        lowest_acceptable_grade=lowest_acceptable_grade,
        band=band,
        recommendation=recommendation,
    )


def codes(limits: PolicyLimits | None, amount: str, terms: int) -> list[Breach]:
    return [b.code for b in breaches(limits=limits, amount=Decimal(amount), terms_days=terms)]


def test_an_approval_within_the_recommendation_and_the_terms_keeps_the_policy():
    assert codes(limits_for(), "100000", 60) == []


def test_terms_above_the_bands_maximum_break_the_policy():
    found = breaches(limits=limits_for(), amount=Decimal("100000"), terms_days=90)

    assert [(b.code, b.value, b.limit, b.field) for b in found] == [
        (Breach.TERMS_ABOVE_MAXIMUM, 90, 60, "payment_terms_days")
    ]


def test_empty_terms_take_the_requested_terms_within_the_bands_maximum():
    assert decided_terms(limits=limits_for(), terms_days=None, requested_terms_days=90) == 60
    assert decided_terms(limits=limits_for(), terms_days=None, requested_terms_days=30) == 30
    assert decided_terms(limits=limits_for(), terms_days=75, requested_terms_days=30) == 75
    # Unrated (no band): the requested terms; no policy: likewise.
    unrated = limits_for(grade=None, band=None)  # type: ignore[arg-type]
    assert decided_terms(limits=unrated, terms_days=None, requested_terms_days=90) == 90
    assert decided_terms(limits=None, terms_days=None, requested_terms_days=90) == 90


def test_an_amount_above_the_recommendation_within_the_caps_breaks_the_policy():
    # Credit above 150,000 must be insured: the recommendation is 150,000, the caps 300,000.
    limits = limits_for(requested="250000")
    assert limits.recommended_amount == Decimal("150000")

    found = breaches(limits=limits, amount=Decimal("250000"), terms_days=60)

    assert [(b.code, b.limit) for b in found] == [
        (Breach.AMOUNT_ABOVE_RECOMMENDATION, Decimal("150000"))
    ]


def test_an_amount_above_the_bands_caps_names_each_cap_it_exceeds():
    # Band maximum 400,000, equity cap 300,000, revenue cap 100,000; no cover: 100,000.
    limits = limits_for(requested="600000", revenue="2000000")
    assert limits.cap == Decimal("100000")

    assert codes(limits, "600000", 60) == [
        Breach.AMOUNT_ABOVE_BAND_MAXIMUM,
        Breach.AMOUNT_ABOVE_EQUITY_CAP,
        Breach.AMOUNT_ABOVE_REVENUE_CAP,
    ]
    assert codes(limits, "350000", 60) == [
        Breach.AMOUNT_ABOVE_EQUITY_CAP,
        Breach.AMOUNT_ABOVE_REVENUE_CAP,
    ]


def test_a_cap_the_insurer_cover_lifted_is_not_named_only_the_caps_still_binding():
    # A cover of 450,000 lifts the recommendation over the equity cap to the band maximum.
    limits = limits_for(requested="450000", cover="450000")
    assert limits.recommended_amount == Decimal("400000")

    assert codes(limits, "450000", 60) == [Breach.AMOUNT_ABOVE_BAND_MAXIMUM]


def test_insurer_cover_that_lifts_the_recommendation_above_a_percent_cap_keeps_the_policy():
    # Equity cap 300,000; a cover of 380,000 lifts the recommendation to 380,000 (step 6a).
    limits = limits_for(requested="380000", cover="380000")
    assert limits.recommended_amount == Decimal("380000")

    assert codes(limits, "380000", 60) == []


def test_a_grade_below_the_policys_minimum_breaks_the_policy():
    limits = limits_for(grade=9, band=Band(9, 9, 30, Decimal("10000")), requested="5000")

    found = breaches(limits=limits, amount=Decimal("5000"), terms_days=30)

    assert [(b.code, b.value, b.limit) for b in found] == [(Breach.GRADE_BELOW_MINIMUM, 9, 8)]


def test_a_no_credit_band_refuses_any_amount():
    limits = limits_for(grade=10, band=NO_CREDIT, requested="50000", terms=30)

    assert limits.no_credit and limits.recommended_amount == 0
    assert codes(limits, "50000", 0) == [Breach.GRADE_BELOW_MINIMUM, Breach.NO_CREDIT_BAND]


def test_without_a_policy_nothing_can_be_broken():
    assert codes(None, "99999999", 365) == []


def test_an_approval_outside_the_policy_needs_a_reason():
    found = breaches(limits=limits_for(), amount=Decimal("100000"), terms_days=90)

    assert override_needed(found=found, override_reason="")
    assert override_needed(found=found, override_reason="   ")
    assert not override_needed(found=found, override_reason="Parent guarantee")
    assert not override_needed(found=[], override_reason="")


def test_only_a_role_that_may_override_the_policy_overrides_it():
    arguments = {
        "is_pending": True,
        "may_decide": True,
        "decider_id": 2,
        "requester_id": 1,
        "approving": True,
        "amount": Decimal("100000"),
        "authority": Decimal("500000"),
        "earlier_approver_ids": set(),
        "overriding": True,
    }

    assert objections(**arguments, may_override=False) == [Objection.OVERRIDE_NOT_ALLOWED]
    assert objections(**arguments, may_override=True) == []
    # An override is an approval: authority still bounds it.
    assert objections(**arguments | {"amount": Decimal("600000")}, may_override=True) == [
        Objection.ABOVE_AUTHORITY
    ]
