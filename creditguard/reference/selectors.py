from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, OuterRef, Subquery, Value, When
from django.utils.translation import get_language

from creditguard.i18n import sorted_choices

from .models import Country, FxRate


def fx_rates_on(on: date) -> dict[str, Decimal]:
    """The latest known rate of every currency on or before `on` (units per EUR)."""
    latest = FxRate.objects.filter(currency=OuterRef("currency"), rate_date__lte=on).order_by(
        "-rate_date"
    )
    rows = (
        FxRate.objects.filter(rate_date__lte=on)
        .values("currency")
        .distinct()
        .annotate(rate=Subquery(latest.values("units_per_eur")[:1]))
    )
    return {"EUR": Decimal(1)} | {row["currency"]: row["rate"] for row in rows}


def country_choices() -> list[tuple[str, str]]:
    """Every country as (code, name), in the order of the active language (Chinese: pinyin)."""
    return sorted_choices(
        ((country.code, country.localized_name) for country in Country.objects.all()),
        language=get_language() or "en",
    )


def fx_factor(
    rates: dict[str, Decimal], *, to_currency: str, currency_field: str = "currency"
) -> Case:
    """SQL expression: the factor turning an amount in the row's currency into `to_currency`.

    Built from the rates known in Python (a few dozen currencies), so sums and sorts in base
    currency stay one query. Rows in a currency without a rate convert to NULL (left out of sums).
    """
    target = rates[to_currency]
    return Case(
        *[
            When(**{currency_field: currency}, then=Value(target / rate))
            for currency, rate in rates.items()
        ],
        default=Value(None),
        output_field=DecimalField(max_digits=30, decimal_places=12),
    )
