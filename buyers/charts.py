"""Chart data for the pages that show receivables (the credit file, the portfolio dashboard)."""

from collections.abc import Mapping
from decimal import Decimal

from django.utils.translation import gettext as _

from .receivables import AGING_BUCKETS

# Aging buckets from green (current) to dark red (over 180 days).
AGING_COLOURS = {
    "current": "#16a34a",
    "1_30": "#84cc16",
    "31_60": "#eab308",
    "61_90": "#f97316",
    "91_180": "#dc2626",
    "over_180": "#7f1d1d",
}


def aging_bars(aging: Mapping[str, Decimal]) -> list[tuple[str, Decimal, str]]:
    """(label, amount, colour) per aging bucket, for `web/_bar_chart.html`."""
    return [
        (_(bucket.label), aging.get(bucket.key, Decimal(0)), AGING_COLOURS[bucket.key])
        for bucket in AGING_BUCKETS
    ]
