"""Review and expiry dates by risk class, and when reminders are due (pure)."""

from datetime import date

import pytest

from policies.schedule import (
    ReminderStage,
    RiskClass,
    add_months,
    is_expired,
    limit_schedule,
    review_reminder_stage,
    risk_class_for_grade,
)


@pytest.mark.parametrize(
    ("grade", "risk_class"),
    [
        (1, RiskClass.LOW),
        (4, RiskClass.LOW),
        (5, RiskClass.MEDIUM),
        (7, RiskClass.MEDIUM),
        (8, RiskClass.HIGH),
        (10, RiskClass.HIGH),
        (None, RiskClass.HIGH),
    ],
)
def test_the_risk_class_follows_the_grade(grade, risk_class):
    assert risk_class_for_grade(grade) == risk_class


@pytest.mark.parametrize(
    ("grade", "review_date", "expiry_date"),
    [
        (2, date(2027, 3, 15), date(2027, 3, 15)),  # low: yearly review, 12 months
        (6, date(2026, 6, 15), date(2026, 9, 15)),  # medium: quarterly review, 6 months
        (9, date(2026, 4, 15), date(2026, 6, 15)),  # high: monthly review, 3 months
        (None, date(2026, 4, 15), date(2026, 6, 15)),  # unrated counts as high risk
    ],
)
def test_review_and_expiry_dates_by_risk_class(grade, review_date, expiry_date):
    schedule = limit_schedule(grade=grade, granted_on=date(2026, 3, 15))

    assert (schedule.review_date, schedule.expiry_date) == (review_date, expiry_date)


def test_months_are_added_with_the_day_clamped_to_the_months_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 12) == date(2027, 12, 15)


def test_a_limit_is_valid_on_its_expiry_date_and_expired_the_day_after():
    assert not is_expired(expiry_date=date(2026, 6, 30), as_of=date(2026, 6, 30))
    assert is_expired(expiry_date=date(2026, 6, 30), as_of=date(2026, 7, 1))


@pytest.mark.parametrize(
    ("as_of", "stage"),
    [
        (date(2026, 6, 15), None),  # 15 days before
        (date(2026, 6, 16), ReminderStage.DUE_SOON),  # 14 days before
        (date(2026, 6, 30), ReminderStage.DUE_SOON),  # on the review date
        (date(2026, 7, 1), ReminderStage.OVERDUE),
    ],
)
def test_a_review_reminder_is_due_from_14_days_before_and_overdue_after(as_of, stage):
    assert review_reminder_stage(review_date=date(2026, 6, 30), as_of=as_of) == stage
