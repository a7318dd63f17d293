"""The business date."""

from datetime import date

from django.utils import timezone


def today() -> date:
    """Today in the site's time zone (`TIME_ZONE`): the day due dates, aging and reviews count
    from."""
    return timezone.localdate()
