"""Chart data for the pages that show receivables (the credit file, the portfolio dashboard)."""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

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


def heat_level(value: Decimal, peak: Decimal, *, levels: int = 5) -> int:
    """0 (nothing) to ``levels`` (the peak): the shade of a heat-table cell."""
    if value <= 0 or peak <= 0:
        return 0
    return max(1, min(levels, int((value * levels / peak).to_integral_value(ROUND_CEILING))))


def _nice_top(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (the top of an axis)."""
    if value <= 0:
        return Decimal(10)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * magnitude:
            return Decimal(step) * magnitude
    return 10 * magnitude


def dso_chart(points: Sequence[tuple[date, Decimal | None]]) -> dict[str, Any]:
    """`web/_line_chart.html` context for DSO at month-ends (oldest first); months without
    credit sales (DSO undefined) are left out."""
    defined = [(month_end, dso) for month_end, dso in points if dso is not None]
    top = _nice_top(max((dso for _end, dso in defined), default=Decimal(0)) * Decimal("1.1"))

    def y(value: Decimal) -> Decimal:
        return (100 - value * 100 / top).quantize(Decimal("0.1"))

    # About four month labels, counted back from the latest so that it is always labelled.
    label_every = max(1, -(-len(defined) // 4))
    last = len(defined) - 1
    return {
        "points": [
            {
                "y": y(dso),
                "label": f"{month_end:%Y-%m}" if (last - index) % label_every == 0 else "",
                "tooltip": _("%(month)s: %(days)s days")
                % {"month": f"{month_end:%Y-%m}", "days": dso},
                "css_class": "",
            }
            for index, (month_end, dso) in enumerate(defined)
        ],
        "ticks": [
            {"y": y(top * share / 4), "label": f"{top * share / 4:.0f}"} for share in range(5)
        ],
    }
