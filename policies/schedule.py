"""Review and expiry of credit limits by risk class (pure: no Django, no database).

Risk class from the buyer's grade (1 = lowest risk … 10 = highest):

    grade   risk class   review every   limit expires after
    1–4     low          12 months      12 months
    5–7     medium        3 months       6 months
    8–10    high          1 month        3 months
    none    high (an unrated buyer is treated as the riskiest)

Both dates count from the day the limit was granted (or last re-approved). The review date is
when the credit manager should look at the buyer again; the expiry date is the last day the
limit is valid. Expiry is later than review for medium and high risk, so a review that is
late by a few weeks does not stop deliveries; for low risk the yearly review and the expiry
fall on the same day and the reminder (`REMINDER_DAYS` before) is the warning.

Reminders: a "due soon" reminder once the review date is `REMINDER_DAYS` away or closer, and an
"overdue" reminder once it has passed; each is sent once per review date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class RiskClass(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ReminderStage(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


LOW_RISK_GRADES = range(1, 5)
MEDIUM_RISK_GRADES = range(5, 8)
REVIEW_MONTHS = {RiskClass.LOW: 12, RiskClass.MEDIUM: 3, RiskClass.HIGH: 1}
EXPIRY_MONTHS = {RiskClass.LOW: 12, RiskClass.MEDIUM: 6, RiskClass.HIGH: 3}
REMINDER_DAYS = 14


def risk_class_for_grade(grade: int | None) -> RiskClass:
    if grade in LOW_RISK_GRADES:
        return RiskClass.LOW
    if grade in MEDIUM_RISK_GRADES:
        return RiskClass.MEDIUM
    return RiskClass.HIGH


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class LimitSchedule:
    risk_class: RiskClass
    review_date: date
    expiry_date: date


def limit_schedule(*, grade: int | None, granted_on: date) -> LimitSchedule:
    risk_class = risk_class_for_grade(grade)
    return LimitSchedule(
        risk_class=risk_class,
        review_date=add_months(granted_on, REVIEW_MONTHS[risk_class]),
        expiry_date=add_months(granted_on, EXPIRY_MONTHS[risk_class]),
    )


def is_expired(*, expiry_date: date, as_of: date) -> bool:
    """The expiry date is the last valid day."""
    return as_of > expiry_date


def review_reminder_stage(*, review_date: date, as_of: date) -> ReminderStage | None:
    if as_of > review_date:
        return ReminderStage.OVERDUE
    if as_of >= review_date - timedelta(days=REMINDER_DAYS):
        return ReminderStage.DUE_SOON
    return None
