"""The indemnity calculation (claims.indemnity): hand-computed cases and properties."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.indemnity import (
    AGGREGATE_FIRST_LOSS,
    DEDUCTIBLE,
    INDEMNITY_PERCENTAGE,
    INSURED_OUTSTANDING,
    MAXIMUM_LIABILITY,
    NON_QUALIFYING_LOSS,
    InvoiceLine,
    Terms,
    cents,
    indemnity,
)

D = Decimal
DAY = date(2026, 1, 1)


def line(pk, outstanding, cover, *, eligible=True, day=0):
    return InvoiceLine(pk, DAY + timedelta(days=day), D(outstanding), D(cover), eligible)


TERMS = Terms(
    indemnity_commercial_pct=D("90"),
    indemnity_political_pct=D("95"),
    max_liability=D("1000000"),
    non_qualifying_loss=D("500"),
    deductible_per_buyer=D("1000"),
    aggregate_first_loss=D("2000"),
)


def test_partially_eligible_claim_by_hand():
    # Three invoices: 6,000 (cover 10,000 at delivery), 8,000 (cover 10,000: only 4,000 room
    # left), and a disputed 3,000 that counts nothing.
    lines = [
        line(1, "6000", "10000", day=0),
        line(2, "8000", "10000", day=5),
        line(3, "3000", "10000", eligible=False, day=6),
    ]
    result = indemnity(lines=lines, terms=TERMS, cause="insolvency", afl_absorbed=D("500"))
    steps = {step.code: step for step in result.steps}
    assert result.claimed == D("17000.00")
    assert steps[INSURED_OUTSTANDING].after == D("10000.00")
    assert steps[NON_QUALIFYING_LOSS].after == D("9500.00")
    assert steps[DEDUCTIBLE].after == D("8500.00")
    # 2,000 AFL, 500 already absorbed: 1,500 absorbed now.
    assert steps[AGGREGATE_FIRST_LOSS].after == D("7000.00")
    assert result.afl_absorbed == D("1500.00")
    assert steps[INDEMNITY_PERCENTAGE].after == D("6300.00")
    assert steps[MAXIMUM_LIABILITY].after == D("6300.00")
    assert result.amount == D("6300.00")
    assert [(x.invoice_id, x.insured) for x in result.lines] == [
        (1, D("6000.00")),
        (2, D("4000.00")),
        (3, D("0.00")),
    ]
    assert [step.code for step in result.steps] == [
        INSURED_OUTSTANDING,
        NON_QUALIFYING_LOSS,
        DEDUCTIBLE,
        AGGREGATE_FIRST_LOSS,
        INDEMNITY_PERCENTAGE,
        MAXIMUM_LIABILITY,
    ]
    assert result.as_json()["amount"] == "6300.00"


def test_cover_at_delivery_caps_each_invoice():
    # Cover reduced to 2,000 before the second delivery: that invoice is insured only within it.
    lines = [line(1, "1500", "5000", day=0), line(2, "4000", "2000", day=10)]
    terms = Terms(D("100"), D("100"), D("999999"))
    result = indemnity(lines=lines, terms=terms, cause="protracted_default")
    assert [x.insured for x in result.lines] == [D("1500.00"), D("500.00")]
    assert result.amount == D("2000.00")


def test_below_the_non_qualifying_loss_nothing_is_paid():
    terms = Terms(D("90"), D("90"), D("100000"), non_qualifying_loss=D("1000"))
    assert indemnity(lines=[line(1, "999.99", "5000")], terms=terms, cause="insolvency").amount == 0
    assert indemnity(lines=[line(1, "1100", "5000")], terms=terms, cause="insolvency").amount == D(
        "90.00"
    )


def test_political_percentage_and_max_liability():
    terms = Terms(D("90"), D("80"), D("10000"))
    result = indemnity(
        lines=[line(1, "5000", "9000")], terms=terms, cause="political", liability_used=D("7000")
    )
    steps = {step.code: step for step in result.steps}
    assert steps[INDEMNITY_PERCENTAGE].after == D("4000.00")
    assert result.amount == D("3000.00")
    assert steps[MAXIMUM_LIABILITY].params["remaining"] == "3000.00"


def test_rounding_half_up_at_each_step():
    terms = Terms(D("33.335"), D("0"), D("1000"))
    # 100.005 → 100.01 first; × 33.335 % = 33.33833… → 33.34.
    result = indemnity(lines=[line(1, "100.005", "1000")], terms=terms, cause="insolvency")
    assert result.amount == D("33.34")
    assert cents(D("0.005")) == D("0.01")


def test_unknown_cause_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown cause"):
        indemnity(lines=[], terms=TERMS, cause="fire")


money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False)
pct = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)
lines_strategy = st.lists(
    st.tuples(money, money, st.booleans(), st.integers(min_value=0, max_value=400)),
    min_size=0,
    max_size=6,
)
terms_strategy = st.builds(
    Terms,
    indemnity_commercial_pct=pct,
    indemnity_political_pct=pct,
    max_liability=money,
    non_qualifying_loss=money,
    deductible_per_buyer=money,
    aggregate_first_loss=money,
)
cause = st.sampled_from(["insolvency", "protracted_default", "political"])


def build(raw):
    return [line(i + 1, o, c, eligible=e, day=d) for i, (o, c, e, d) in enumerate(raw)]


@settings(max_examples=300, deadline=None)
@given(lines_strategy, terms_strategy, cause, money, money)
def test_properties(raw, terms, cause, afl_absorbed, used):
    lines = build(raw)
    result = indemnity(
        lines=lines, terms=terms, cause=cause, afl_absorbed=afl_absorbed, liability_used=used
    )
    assert result.amount >= 0
    top_cover = max((x.cover_at_delivery for x in lines if x.eligible), default=D(0))
    assert result.amount <= cents(top_cover * terms.percentage(cause) / 100)
    assert result.amount <= max(D(0), terms.max_liability - used)
    assert result.amount == result.amount.quantize(D("0.01"))
    for step in result.steps:
        assert step.after >= 0
        if step.code != INSURED_OUTSTANDING:
            assert step.after <= step.before or step.code == INDEMNITY_PERCENTAGE


@settings(max_examples=300, deadline=None)
@given(lines_strategy, terms_strategy, cause, money, money, st.integers(0, 5), money)
def test_monotone_in_the_claimed_amount(raw, terms, cause, absorbed, used, which, extra):
    lines = build(raw)
    if not lines:
        return
    index = which % len(lines)
    more = list(lines)
    bigger = lines[index]
    more[index] = InvoiceLine(
        bigger.invoice_id,
        bigger.delivered_on,
        bigger.outstanding + extra,
        bigger.cover_at_delivery,
        bigger.eligible,
    )
    kwargs = {"terms": terms, "cause": cause, "afl_absorbed": absorbed, "liability_used": used}
    assert indemnity(lines=more, **kwargs).amount >= indemnity(lines=lines, **kwargs).amount
