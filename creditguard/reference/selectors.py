from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, Subquery

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
    return [(country.code, country.localized_name) for country in Country.objects.all()]
