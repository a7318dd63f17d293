"""Number formatting for money, ratios and day counts in tables and KPI cards.

Django's Simplified Chinese locale formats numbers without a thousands separator (it groups by
four digits, 万, with an empty separator), so ``floatformat:"0g"`` prints 1234567 there. Finance
teams in China read amounts with comma groups of three (1,234,567) like everyone else, so
these filters group by three with commas in every language.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import numberformat

register = template.Library()

EMPTY = "—"


def _grouped(value: object, decimals: int) -> str:
    try:
        # Round half up first: numberformat cuts surplus decimals off instead of rounding.
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return EMPTY
    return numberformat.format(
        number,
        decimal_sep=".",
        decimal_pos=decimals,
        grouping=3,
        thousand_sep=",",
        force_grouping=True,
    )


@register.filter
def money(value: object, decimals: int = 0) -> str:
    """1234567.8 → "1,234,568"; None → "—"."""
    if value is None or value == "":
        return EMPTY
    return _grouped(value, int(decimals))


@register.filter
def percent(fraction: object, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.1234 → "12.3%"; None → "—"."""
    if fraction is None or fraction == "":
        return EMPTY
    try:
        return f"{_grouped(Decimal(str(fraction)) * 100, int(decimals))}%"
    except (InvalidOperation, ValueError, TypeError):
        return EMPTY


@register.filter
def share(part: object, whole: object) -> Decimal | None:
    """``part / whole`` as a fraction (for `percent`), None when the whole is zero."""
    try:
        whole_number = Decimal(str(whole))
        if whole_number == 0:
            return None
        return Decimal(str(part)) / whole_number
    except (InvalidOperation, ValueError, TypeError):
        return None
