"""Policy terms as a whole and the discretionary credit limit rule: hand-computed cases, no
database."""

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from policies.insurance import dcl
from policies.insurance.terms import (
    CountryGroupRate,
    PolicyTerms,
    PremiumTier,
    country_group_rates_json,
    parse_country_group_rates,
    parse_premium_tiers,
    premium_tiers_json,
    validate_terms,
)

COUNTRIES = frozenset({"DE", "FR", "NL", "AT", "IT", "PL", "CN"})
CURRENCIES = frozenset({"EUR", "USD", "CNY"})

VALID = PolicyTerms(
    period_start=date(2027, 1, 1),
    period_end=date(2027, 12, 31),
    indemnity_commercial_pct=Decimal("90"),
    indemnity_political_pct=Decimal("95"),
    max_liability=Decimal("5000000"),
    covered_risks=("insolvency", "protracted_default"),
    covered_countries=("DE", "FR", "NL"),
    waiting_period_days=180,
    max_extension_days=60,
    notification_days=30,
    claim_filing_days=90,
    cover_notice_days=30,
    premium_basis="turnover",
    premium_rate_pct=Decimal("0.18"),
    dcl_max_amount=Decimal("25000"),
    dcl_report_max_age_days=365,
    dcl_min_on_time_payments=2,
    country_group_rates=(CountryGroupRate("Benelux", ("NL",), Decimal("0.21")),),
    premium_tiers=(
        PremiumTier(Decimal("5000000"), Decimal("0.25")),
        PremiumTier(None, Decimal("0.15")),
    ),
)


def errors_of(terms: PolicyTerms, currency: str | None = "EUR") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in validate_terms(
        terms, country_codes=COUNTRIES, currencies=CURRENCIES, currency=currency
    ):
        found.setdefault(problem.field, []).append(problem.message % dict(problem.params))
    return found


def test_typical_terms_are_valid():
    assert errors_of(VALID) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"indemnity_commercial_pct": Decimal("0.5")}, "indemnity_commercial_pct"),
        ({"indemnity_commercial_pct": Decimal("100.01")}, "indemnity_commercial_pct"),
        ({"indemnity_political_pct": Decimal("-1")}, "indemnity_political_pct"),
        ({"max_liability": Decimal("0")}, "max_liability"),
        ({"period_end": date(2026, 12, 31)}, "period_end"),
        ({"covered_risks": ()}, "covered_risks"),
        ({"covered_risks": ("insolvency", "fire")}, "covered_risks[1]"),
        ({"covered_risks": ("insolvency", "insolvency")}, "covered_risks[1]"),
        ({"covered_countries": ("DE", "XX")}, "covered_countries[1]"),
        ({"covered_countries": ("DE", "de")}, "covered_countries[1]"),
        ({"covered_countries": ("DE", "FR", "DE")}, "covered_countries[2]"),
        ({"waiting_period_days": 731}, "waiting_period_days"),
        ({"notification_days": -1}, "notification_days"),
        ({"cover_notice_days": 1000}, "cover_notice_days"),
        ({"non_qualifying_loss": Decimal("-0.01")}, "non_qualifying_loss"),
        ({"aggregate_first_loss": Decimal("-5")}, "aggregate_first_loss"),
        ({"premium_rate_pct": Decimal("101")}, "premium_rate_pct"),
        ({"premium_basis": "profit"}, "premium_basis"),
        ({"dcl_report_max_age_days": 0}, "dcl_report_max_age_days"),
        ({"dcl_min_on_time_payments": 0}, "dcl_min_on_time_payments"),
    ],
)
def test_each_broken_rule_is_reported_at_its_field(changes, field):
    errors = errors_of(dataclasses.replace(VALID, **changes))

    assert list(errors) == [field]


def test_a_dcl_needs_at_least_one_condition_but_none_without_a_dcl():
    no_condition = dataclasses.replace(
        VALID, dcl_report_max_age_days=None, dcl_min_on_time_payments=None
    )

    assert list(errors_of(no_condition)) == ["dcl_report_max_age_days"]
    assert errors_of(dataclasses.replace(no_condition, dcl_max_amount=Decimal("0"))) == {}
    assert errors_of(dataclasses.replace(no_condition, dcl_min_on_time_payments=2)) == {}


def test_the_currency_must_be_a_trade_currency():
    assert list(errors_of(VALID, currency="XAU")) == ["currency"]
    assert errors_of(VALID, currency=None) == {}


def test_country_groups_are_disjoint_named_and_valid():
    groups = (
        CountryGroupRate("EU", ("DE", "FR"), Decimal("0.18")),
        CountryGroupRate("eu", ("FR", "XX"), Decimal("0.2")),
        CountryGroupRate("", (), Decimal("120")),
    )

    errors = errors_of(dataclasses.replace(VALID, country_group_rates=groups))

    assert set(errors) == {
        "country_group_rates[1].name",  # the same name in another case
        "country_group_rates[1].countries[0]",  # FR is already in EU
        "country_group_rates[1].countries[1]",  # not a country
        "country_group_rates[2].name",
        "country_group_rates[2].countries",
        "country_group_rates[2].rate_pct",
    }
    assert "“EU”" in errors["country_group_rates[1].countries[0]"][0]


@pytest.mark.parametrize(
    ("tiers", "fields"),
    [
        ([("1000", "0.3"), ("5000", "0.2"), (None, "0.1")], []),
        ([(None, "0.1")], []),
        ([("5000", "0.3"), ("1000", "0.2"), (None, "0.1")], ["premium_tiers[1].up_to"]),
        ([("5000", "0.3"), ("5000", "0.2"), (None, "0.1")], ["premium_tiers[1].up_to"]),
        ([(None, "0.3"), ("5000", "0.2")], ["premium_tiers[0].up_to", "premium_tiers[1].up_to"]),
        ([("1000", "0.3"), ("5000", "0.2")], ["premium_tiers[1].up_to"]),
        ([("0", "0.3"), (None, "0.2")], ["premium_tiers[0].up_to"]),
        ([("1000", "101"), (None, "0.2")], ["premium_tiers[0].rate_pct"]),
    ],
)
def test_tiers_ascend_and_only_the_last_is_open_ended(tiers, fields):
    typed = tuple(
        PremiumTier(None if up_to is None else Decimal(up_to), Decimal(rate))
        for up_to, rate in tiers
    )

    errors = errors_of(dataclasses.replace(VALID, premium_tiers=typed))

    assert sorted(errors) == fields


def test_json_lists_are_parsed_with_shape_errors_keyed_by_item():
    groups, group_problems = parse_country_group_rates(
        [{"name": "EU", "countries": ["de", "fr"], "rate_pct": "0.18"}, {"name": 3}, "x"]
    )
    tiers, tier_problems = parse_premium_tiers(
        [{"up_to": 5000000, "rate_pct": 0.25}, {"up_to": "lots", "rate_pct": "0.1"}]
    )

    assert groups[0] == CountryGroupRate("EU", ("DE", "FR"), Decimal("0.18"))
    assert [p.field for p in group_problems] == [
        "country_group_rates[1].name",
        "country_group_rates[1].countries",
        "country_group_rates[1].rate_pct",
        "country_group_rates[2]",
    ]
    assert tiers[0] == PremiumTier(Decimal("5000000"), Decimal("0.25"))
    assert [p.field for p in tier_problems] == ["premium_tiers[1].up_to"]
    assert parse_premium_tiers("no")[1][0].field == "premium_tiers"


def test_json_round_trip():
    assert parse_country_group_rates(country_group_rates_json(VALID.country_group_rates)) == (
        VALID.country_group_rates,
        [],
    )
    assert parse_premium_tiers(premium_tiers_json(VALID.premium_tiers)) == (
        VALID.premium_tiers,
        [],
    )
    assert premium_tiers_json(VALID.premium_tiers)[1] == {"up_to": None, "rate_pct": "0.15"}


# --- Discretionary credit limits -------------------------------------------------------------

AS_OF = date(2027, 6, 30)


def evidence(report=None, payments=0, own="40000"):
    return dcl.DclEvidence(
        credit_report_date=report,
        on_time_payments=payments,
        own_limit=None if own is None else Decimal(own),
    )


def test_a_recent_report_alone_suffices_and_the_dcl_is_capped_at_its_maximum():
    # Report 2026-07-01 is 364 days before 2027-06-30: within 365 days.
    result = dcl.discretionary_limit(VALID, evidence(report=date(2026, 7, 1)), AS_OF)

    assert result == dcl.DclResult(
        Decimal("25000"),
        True,
        ["report_recent", "too_few_payments", "capped_by_dcl_maximum"],
    )


def test_a_report_exactly_at_the_maximum_age_counts_one_day_older_does_not():
    at_limit = dcl.discretionary_limit(VALID, evidence(report=date(2026, 6, 30)), AS_OF)
    too_old = dcl.discretionary_limit(VALID, evidence(report=date(2026, 6, 29)), AS_OF)

    assert at_limit.eligible  # 365 days
    assert not too_old.eligible and too_old.amount == 0
    assert too_old.reasons == ["report_too_old", "too_few_payments"]


def test_on_time_payments_alone_suffice_and_the_own_limit_caps():
    result = dcl.discretionary_limit(VALID, evidence(payments=2, own="18000"), AS_OF)

    assert result == dcl.DclResult(
        Decimal("18000"), True, ["report_missing", "payments_on_time", "capped_by_own_limit"]
    )


def test_no_own_limit_means_no_dcl_even_with_evidence():
    result = dcl.discretionary_limit(
        VALID, evidence(report=date(2027, 6, 1), payments=5, own=None), AS_OF
    )

    assert not result.eligible
    assert result.amount == 0
    assert result.reasons[0] == "no_own_limit"


def test_only_configured_conditions_count():
    payments_only = dataclasses.replace(VALID, dcl_report_max_age_days=None)

    result = dcl.discretionary_limit(payments_only, evidence(report=date(2027, 6, 1)), AS_OF)

    assert not result.eligible
    assert result.reasons == ["too_few_payments"]


def test_a_policy_without_dcl_gives_none():
    terms = dataclasses.replace(VALID, dcl_max_amount=Decimal("0"))

    assert dcl.discretionary_limit(terms, evidence(payments=9), AS_OF) == dcl.DclResult(
        Decimal("0"), False, ["no_dcl"]
    )


@pytest.mark.parametrize(
    ("status", "due", "paid", "expected"),
    [
        ("paid", date(2027, 5, 31), date(2027, 5, 31), True),  # on the due date
        ("paid", date(2027, 5, 31), date(2027, 6, 1), False),  # a day late
        ("paid", date(2026, 7, 31), date(2026, 6, 30), True),  # first day of the lookback
        ("paid", date(2026, 7, 31), date(2026, 6, 29), False),  # before the lookback
        ("paid", date(2027, 7, 31), date(2027, 7, 1), False),  # after as_of
        ("partially_paid", date(2027, 5, 31), date(2027, 5, 1), False),
        ("paid", date(2027, 5, 31), None, False),
    ],
)
def test_paid_on_time(status, due, paid, expected):
    assert (
        dcl.paid_on_time(
            status=status, due_date=due, paid_date=paid, as_of=AS_OF, lookback_days=365
        )
        is expected
    )
