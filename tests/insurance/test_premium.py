"""Premium, hand-computed: country-group rates, marginal tiers (also crossing a bound inside
one period), the minimum premium at year end, and the declaration periods."""

from datetime import date
from decimal import Decimal

import pytest

from policies.insurance.premium import (
    PremiumTerms,
    PremiumTermsError,
    declaration_periods,
    month_ends,
    premium_for,
    year_end_adjustment,
)

D = Decimal


def terms(**overrides):
    values = {
        "premium_rate_pct": D("0.20"),
        "country_group_rates": [{"name": "EU", "countries": ["FR", "NL"], "rate_pct": "0.15"}],
        "premium_tiers": [],
        "minimum_premium": D("12000"),
    }
    return PremiumTerms.parse(**{**values, **overrides})


def test_each_country_is_charged_at_its_groups_rate_or_the_base_rate():
    breakdown = premium_for(
        basis_amount_by_country={"FR": D("100000"), "NL": D("50000"), "DE": D("200000")},
        terms=terms(),
    )
    # EU: 150,000 × 0.15 % = 225.00; others (DE): 200,000 × 0.20 % = 400.00
    assert [(line.group, line.countries, line.basis_amount, line.rate_pct, line.premium)
            for line in breakdown.lines] == [
        ("EU", ("FR", "NL"), D("150000"), D("0.15"), D("225.00")),
        ("", ("DE",), D("200000"), D("0.20"), D("400.00")),
    ]  # fmt: skip
    assert breakdown.premium == D("625.00")
    assert breakdown.basis_total == D("350000")


def test_line_premiums_are_rounded_half_up_to_cents():
    breakdown = premium_for(basis_amount_by_country={"DE": D("1234.56")}, terms=terms())
    # 1,234.56 × 0.20 % = 2.46912 → 2.47
    assert breakdown.premium == D("2.47")


TIERS = [{"up_to": "1000000", "rate_pct": "0.30"}, {"up_to": None, "rate_pct": "0.20"}]


def test_tiers_crossing_a_bound_inside_a_period_split_the_slice():
    breakdown = premium_for(
        basis_amount_by_country={"DE": D("300000")},
        terms=terms(premium_tiers=TIERS),
        year_to_date_before=D("800000"),
    )
    # 800,000 → 1,100,000: 200,000 × 0.30 % = 600.00, then 100,000 × 0.20 % = 200.00
    assert [(line.basis_amount, line.rate_pct, line.premium, line.tier_from, line.tier_to)
            for line in breakdown.lines] == [
        (D("200000"), D("0.30"), D("600.00"), D("0"), D("1000000")),
        (D("100000"), D("0.20"), D("200.00"), D("1000000"), None),
    ]  # fmt: skip
    assert breakdown.premium == D("800.00")
    assert breakdown.year_to_date_after == D("1100000")


def test_group_rates_do_not_move_the_tiers():
    breakdown = premium_for(
        basis_amount_by_country={"FR": D("500000"), "DE": D("100000")},
        terms=terms(premium_tiers=TIERS),
        year_to_date_before=D("950000"),
    )
    # FR (EU 0.15 %): 750.00; DE: 50,000 × 0.30 % = 150.00 + 50,000 × 0.20 % = 100.00
    assert [line.premium for line in breakdown.lines] == [D("750.00"), D("150.00"), D("100.00")]
    assert breakdown.tiered_basis == D("100000")


def test_a_bounded_last_tier_goes_on_at_its_rate():
    bounded = [{"up_to": "100", "rate_pct": "1"}]
    breakdown = premium_for(
        basis_amount_by_country={"DE": D("300")}, terms=terms(premium_tiers=bounded)
    )
    assert [line.premium for line in breakdown.lines] == [D("1.00"), D("2.00")]


def test_the_year_end_adjustment_tops_up_to_the_minimum_premium():
    below = year_end_adjustment(
        premiums_charged=[D("2500.00"), D("3100.00"), D("-100.00")], minimum_premium=D("12000")
    )
    assert (below.premiums_charged, below.top_up) == (D("5500.00"), D("6500.00"))
    above = year_end_adjustment(premiums_charged=[D("13000")], minimum_premium=D("12000"))
    assert above.top_up == D("0")


@pytest.mark.parametrize(
    "bad",
    [
        {"premium_tiers": [{"up_to": None, "rate_pct": "0.3"}, {"up_to": "5", "rate_pct": "0.2"}]},
        {"premium_tiers": [{"up_to": "5", "rate_pct": "0.3"}, {"up_to": "4", "rate_pct": "0.2"}]},
        {"premium_tiers": [{"up_to": "5", "rate_pct": "-1"}]},
        {"country_group_rates": [{"name": "A", "countries": ["FR"], "rate_pct": "x"}]},
        {"country_group_rates": [{"name": "A", "countries": ["FR"], "rate_pct": "1"},
                                 {"name": "B", "countries": ["FR"], "rate_pct": "2"}]},
    ],
)  # fmt: skip
def test_malformed_terms_are_refused(bad):
    with pytest.raises(PremiumTermsError):
        terms(**bad)


def test_declaration_periods_follow_the_policy_year():
    monthly = declaration_periods(
        period_start=date(2027, 1, 1), period_end=date(2027, 12, 31), frequency="monthly"
    )
    assert len(monthly) == 12 and monthly[1] == (date(2027, 2, 1), date(2027, 2, 28))
    quarterly = declaration_periods(
        period_start=date(2027, 4, 15), period_end=date(2027, 12, 31), frequency="quarterly"
    )
    assert quarterly == [
        (date(2027, 4, 15), date(2027, 7, 14)),
        (date(2027, 7, 15), date(2027, 10, 14)),
        (date(2027, 10, 15), date(2027, 12, 31)),
    ]
    assert month_ends(date(2027, 1, 1), date(2027, 3, 31)) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]
