"""The business date, and the range of dates the product accepts."""

from datetime import date

from django.utils import timezone


def today() -> date:
    """Today in the site's time zone (`TIME_ZONE`): the day due dates, aging and reviews count
    from."""
    return timezone.localdate()


# No credit file, invoice or filter is about a day before 1900 or after 2100: anything outside is
# a typo or a probe (PostgreSQL would take year 1 or 9999, and the arithmetic would follow).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2100


def is_supported(day: date) -> bool:
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR
