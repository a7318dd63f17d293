"""The deadline engine: hand-computed cases, the property that no deadline precedes the due
date, and the SQL fragments agreeing with the pure functions on random cases."""

import random
from datetime import date, timedelta

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from policies.insurance import deadlines
from policies.insurance.deadlines import DeadlineTerms, invoice_deadlines
from policies.models import ExtensionRequest, OverdueNotification

TERMS = DeadlineTerms(
    max_extension_days=60, notification_days=30, waiting_period_days=180, claim_filing_days=90
)


def test_deadlines_of_an_invoice_without_extension():
    result = invoice_deadlines(due_date=date(2026, 3, 31), terms=TERMS)
    assert result.extension_end == date(2026, 5, 30)  # 31 Mar + 60 days
    assert result.notify_by == date(2026, 6, 29)  # + 30 days
    assert result.earliest_claim == date(2026, 9, 27)  # 31 Mar + 180 days
    assert result.claim_by == date(2026, 12, 26)  # + 90 days


def test_a_granted_extension_that_goes_later_moves_the_extension_and_notification():
    result = invoice_deadlines(
        due_date=date(2026, 3, 31), terms=TERMS, granted_until=date(2026, 7, 15)
    )
    assert result.extension_end == date(2026, 7, 15)
    assert result.notify_by == date(2026, 8, 14)
    # The waiting period runs from the due date whatever the extension.
    assert result.earliest_claim == date(2026, 9, 27)
    assert result.claim_by == date(2026, 12, 26)


def test_a_granted_extension_shorter_than_the_maximum_changes_nothing():
    result = invoice_deadlines(
        due_date=date(2026, 3, 31), terms=TERMS, granted_until=date(2026, 4, 30)
    )
    assert result.extension_end == date(2026, 5, 30)


def test_zero_day_terms_put_every_deadline_on_the_due_date():
    zero = DeadlineTerms(0, 0, 0, 0)
    result = invoice_deadlines(due_date=date(2026, 2, 28), terms=zero)
    assert {result.extension_end, result.notify_by, result.earliest_claim, result.claim_by} == {
        date(2026, 2, 28)
    }


def test_negative_day_counts_are_refused():
    with pytest.raises(ValueError):
        DeadlineTerms(-1, 0, 0, 0)


def test_deadline_by_kind_and_days_left():
    result = invoice_deadlines(due_date=date(2026, 3, 31), terms=TERMS)
    assert result.of_kind("notify_by") == result.notify_by
    assert result.of_kind("claim_by") == result.claim_by
    assert result.of_kind("extension_end") == result.extension_end
    with pytest.raises(ValueError):
        result.of_kind("tomorrow")
    assert deadlines.days_left(deadline=date(2026, 6, 29), as_of=date(2026, 6, 19)) == 10
    assert deadlines.days_left(deadline=date(2026, 6, 29), as_of=date(2026, 7, 1)) == -2


def test_the_sql_names_the_model_statuses():
    assert f"'{OverdueNotification.Status.SENT}'" in deadlines.NOTICES_SQL
    assert f"'{ExtensionRequest.Status.GRANTED}'" in deadlines.NOTICES_SQL


days = st.integers(min_value=0, max_value=730)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(
    due_date=dates,
    ext=days,
    notify=days,
    wait=days,
    claim=days,
    granted=st.none() | dates,
)
def test_no_deadline_precedes_the_due_date(due_date, ext, notify, wait, claim, granted):
    result = invoice_deadlines(
        due_date=due_date, terms=DeadlineTerms(ext, notify, wait, claim), granted_until=granted
    )
    assert due_date <= result.extension_end <= result.notify_by
    assert due_date <= result.earliest_claim <= result.claim_by


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_the_sql_fragments_agree_with_the_pure_rules(seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(300):
        due = date(2024, 1, 1) + timedelta(days=rng.randint(0, 1000))
        terms = DeadlineTerms(*(rng.randint(0, 400) for _ in range(4)))
        granted = None if rng.random() < 0.4 else due + timedelta(days=rng.randint(-30, 200))
        cases.append((due, terms, granted))
    columns = deadlines.deadline_columns_sql(due="c.due", version="c", granted="c.granted")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {columns}
            FROM unnest(%s::date[], %s::int[], %s::int[], %s::int[], %s::int[], %s::date[])
                 WITH ORDINALITY AS c(due, max_extension_days, notification_days,
                                      waiting_period_days, claim_filing_days, granted, n)
            ORDER BY c.n
            """,
            [
                [due for due, _, _ in cases],
                [t.max_extension_days for _, t, _ in cases],
                [t.notification_days for _, t, _ in cases],
                [t.waiting_period_days for _, t, _ in cases],
                [t.claim_filing_days for _, t, _ in cases],
                [granted for _, _, granted in cases],
            ],
        )
        rows = cursor.fetchall()
    for (due, terms, granted), row in zip(cases, rows, strict=True):
        expected = invoice_deadlines(due_date=due, terms=terms, granted_until=granted)
        assert row == (
            expected.extension_end,
            expected.notify_by,
            expected.earliest_claim,
            expected.claim_by,
        )
