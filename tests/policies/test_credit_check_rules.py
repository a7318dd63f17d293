"""The credit check decision (pure): each reason to hold, and the approve case."""

from datetime import date
from decimal import Decimal

from policies.credit_check import CheckRules, Decision, LimitState, ReasonCode, evaluate

RULES = CheckRules(
    overdue_days=60,
    overdue_amount=Decimal("5000"),
    lowest_acceptable_grade=8,
    max_terms_days=60,
)
LIMIT = LimitState(amount=Decimal("100000"), status="active", payment_terms_days=60)


def check(**overrides):
    arguments = {
        "order_amount": Decimal("20000"),
        "order_terms_days": 60,
        "buyer_status": "active",
        "limit": LIMIT,
        "exposure": Decimal("50000"),
        "overdue_beyond_days": Decimal("0"),
        "grade": 4,
        "rules": RULES,
    } | overrides
    return evaluate(**arguments)


def reason_codes(result) -> list[str]:
    return [reason.code for reason in result.reasons]


def test_an_order_within_every_rule_is_approved():
    result = check()

    assert result.decision == Decision.APPROVE
    assert result.reasons == ()
    assert (result.limit, result.exposure, result.available) == (
        Decimal("100000"),
        Decimal("50000"),
        Decimal("50000"),
    )


def test_an_order_that_takes_exposure_exactly_to_the_limit_is_approved():
    assert check(order_amount=Decimal("50000")).decision == Decision.APPROVE


def test_an_order_beyond_the_limit_is_held_with_the_excess():
    result = check(order_amount=Decimal("50000.01"))

    assert result.decision == Decision.HOLD
    assert reason_codes(result) == [ReasonCode.OVER_LIMIT]
    assert result.reasons[0].values["excess"] == Decimal("0.01")


def test_a_buyer_on_hold_is_blocked():
    result = check(buyer_status="on_hold")

    assert reason_codes(result) == [ReasonCode.BLOCKED]


def test_an_insolvent_buyer_is_blocked():
    assert reason_codes(check(buyer_status="insolvent")) == [ReasonCode.BLOCKED]


def test_a_blocked_limit_blocks_but_still_counts_as_a_limit():
    result = check(limit=LimitState(amount=Decimal("100000"), status="blocked"))

    assert reason_codes(result) == [ReasonCode.BLOCKED]
    assert result.limit == Decimal("100000")


def test_no_limit_holds():
    result = check(limit=None)

    assert reason_codes(result) == [ReasonCode.NO_LIMIT]
    assert (result.limit, result.available) == (None, Decimal("0"))


def test_an_expired_limit_holds_as_no_limit_and_says_when_it_expired():
    expired = LimitState(amount=Decimal("100000"), status="expired", expiry_date=date(2026, 1, 31))

    result = check(limit=expired)

    assert reason_codes(result) == [ReasonCode.NO_LIMIT]
    assert result.reasons[0].values == {"limit_status": "expired", "expiry_date": date(2026, 1, 31)}


def test_overdue_beyond_the_tolerated_amount_holds():
    result = check(overdue_beyond_days=Decimal("5000.01"))

    assert reason_codes(result) == [ReasonCode.OVERDUE_BEYOND_THRESHOLD]
    assert result.reasons[0].values["days"] == 60


def test_overdue_up_to_the_tolerated_amount_is_accepted():
    assert check(overdue_beyond_days=Decimal("5000")).decision == Decision.APPROVE


def test_a_grade_worse_than_the_lowest_accepted_holds():
    assert reason_codes(check(grade=9)) == [ReasonCode.GRADE_BELOW_MINIMUM]
    assert check(grade=8).decision == Decision.APPROVE


def test_an_unrated_buyer_is_not_held_for_its_grade():
    assert check(grade=None).decision == Decision.APPROVE


def test_terms_beyond_the_policy_band_hold():
    result = check(order_terms_days=90)

    assert reason_codes(result) == [ReasonCode.TERMS_BEYOND_POLICY]
    assert result.reasons[0].values == {"terms_days": 90, "max_terms_days": 60}


def test_terms_beyond_the_limits_approved_terms_hold_even_within_the_band():
    short_limit = LimitState(amount=Decimal("100000"), status="active", payment_terms_days=30)

    result = check(limit=short_limit, order_terms_days=45)

    assert reason_codes(result) == [ReasonCode.TERMS_BEYOND_POLICY]
    assert result.reasons[0].values["max_terms_days"] == 30


def test_every_reason_that_applies_is_listed_in_order():
    result = check(
        buyer_status="on_hold",
        order_amount=Decimal("60000"),
        overdue_beyond_days=Decimal("9000"),
        grade=10,
        order_terms_days=120,
    )

    assert reason_codes(result) == [
        ReasonCode.BLOCKED,
        ReasonCode.OVER_LIMIT,
        ReasonCode.OVERDUE_BEYOND_THRESHOLD,
        ReasonCode.GRADE_BELOW_MINIMUM,
        ReasonCode.TERMS_BEYOND_POLICY,
    ]


def test_without_a_policy_only_the_limit_rules_apply():
    no_policy = CheckRules(overdue_days=0, overdue_amount=Decimal("0"))

    assert (
        check(
            rules=no_policy,
            grade=10,
            order_terms_days=200,
            limit=LimitState(amount=Decimal("100000"), status="active"),
        ).decision
        == Decision.APPROVE
    )
