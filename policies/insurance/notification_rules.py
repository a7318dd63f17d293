"""Rules of overdue (threat-of-loss) notifications, pure: which invoices are proposed, when an
item of a notification has lost its cover, and how far an extension may be asked for.

- **Proposed**: an invoice under a policy that is still open, not on a sent notification, and
  whose end of the maximum extension period (`deadlines.extension_end`) is at most
  ``lead_days`` away: the notification is drafted while there is still time to send it.
- **Cover lost** on an item: `coverage.is_cover_lost` (the rule the daily sweep applies too):
  the notification was sent after the item's ``notify_by``, or it is not sent and ``notify_by``
  is before the day looked at. Sending late is allowed (the insurer may still accept it) but
  the late items are shown as cover lost.
- **Extension requests**: the date asked for must not be before the latest due date of the
  notification's invoices (that extends nothing), and going beyond the earliest due date +
  the policy's maximum extension period must be said explicitly (`beyond_maximum`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from buyers.receivables import days_past_due

DEFAULT_LEAD_DAYS = 14


def is_due_for_notification(*, extension_end: date, as_of: date, lead_days: int) -> bool:
    """The end of the invoice's maximum extension period is at most `lead_days` away."""
    return extension_end <= as_of + timedelta(days=lead_days)


def days_overdue(*, due_date: date, as_of: date) -> int:
    return days_past_due(due_date=due_date, as_of=as_of)


def notification_deadline(notify_by_dates: Iterable[date]) -> date:
    """A notification must reach the insurer by the earliest deadline of its invoices."""
    return min(notify_by_dates)


def maximum_extension_until(*, due_dates: Iterable[date], max_extension_days: int) -> date:
    """The latest date the policy lets the terms of all these invoices be extended to."""
    return min(due_dates) + timedelta(days=max_extension_days)


@dataclass(frozen=True)
class ExtensionCheck:
    earliest_allowed: date  # after the latest due date
    maximum: date  # earliest due date + the maximum extension period
    too_early: bool
    beyond_maximum: bool


def check_extension(
    *, requested_until: date, due_dates: Iterable[date], max_extension_days: int
) -> ExtensionCheck:
    dates = list(due_dates)
    if not dates:
        raise ValueError("a notification without invoices cannot be extended")
    latest_due = max(dates)
    maximum = maximum_extension_until(due_dates=dates, max_extension_days=max_extension_days)
    return ExtensionCheck(
        earliest_allowed=latest_due + timedelta(days=1),
        maximum=maximum,
        too_early=requested_until <= latest_due,
        beyond_maximum=requested_until > maximum,
    )
