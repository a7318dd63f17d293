"""The one set of display filters: numbers, money, ratios, dates and times (``{% load money %}``).

Django's Simplified Chinese locale formats numbers without a thousands separator (it groups by
four digits, 万, with an empty separator), so ``floatformat:"0g"`` prints 1234567 there. Finance
teams in China read amounts with comma groups of three (1,234,567) like everyone else, so
these filters group by three with commas in every language.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import dateformat, numberformat, timezone, translation
from django.utils.dateparse import parse_date

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


# Dates: one format per language, not Django's per-locale defaults, which mix "Dec. 7, 2026"
# (DATE_FORMAT) with "2026-12-07" (what a bare date prints). The key is the language's
# prefix; anything unknown falls back to English.
DAY_FORMATS = {"en": "j M Y", "zh": "Y年n月j日"}
MOMENT_FORMATS = {"en": "j M Y, H:i", "zh": "Y年n月j日 H:i"}
MONTH_FORMATS = {"en": "M Y", "zh": "Y年n月"}


def _language_formats(formats: dict[str, str]) -> str:
    language = (translation.get_language() or "en").lower()
    return formats.get(language.split("-")[0], formats["en"])


@register.filter
def amount(value: object, currency: object = "") -> str:
    """An amount with its currency: 225000 and "EUR" → "225,000.00 EUR"; None → "—"."""
    if value is None or value == "":
        return EMPTY
    number = _grouped(value, 2)
    if number == EMPTY or not currency:
        return number
    return f"{number} {currency}"


def _as_date(value: object) -> date | None:
    """A date, a datetime (the day it falls on in the site's time zone) or an ISO date string
    (as stored in JSON evidence) as a date; anything else None."""
    if isinstance(value, str):
        try:
            value = parse_date(value[:10])
        except ValueError:
            return None
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value if isinstance(value, date) else None


@register.filter
def day(value: object) -> str:
    """A date in the user's language: en "7 Dec 2026", zh "2026年12月7日"; None → "—"."""
    as_date = _as_date(value)
    if as_date is None:
        return EMPTY
    return dateformat.format(as_date, _language_formats(DAY_FORMATS))


@register.filter
def month(value: object) -> str:
    """A month (a score period, a report month): en "Dec 2026", zh "2026年12月"; None → "—"."""
    as_date = _as_date(value)
    if as_date is None:
        return EMPTY
    return dateformat.format(as_date, _language_formats(MONTH_FORMATS))


@register.filter
def moment(value: object) -> str:
    """A date and time in the user's language and the site's time zone:
    en "7 Dec 2026, 14:05", zh "2026年12月7日 14:05"; None → "—"."""
    if not isinstance(value, datetime):
        return day(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, _language_formats(MOMENT_FORMATS))


@register.filter
def count(value: object) -> str:
    """A whole number with comma groups: 24898 → "24,898"; None → "—"."""
    if value is None or value == "":
        return EMPTY
    return _grouped(value, 0)
