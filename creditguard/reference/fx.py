"""Currency conversion through EUR cross rates (pure)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


class MissingRate(LookupError):
    """No FX rate is known for a currency on or before the date asked."""


def convert(
    amount: Decimal, *, from_currency: str, to_currency: str, units_per_eur: dict[str, Decimal]
) -> Decimal:
    """`amount` in `from_currency` expressed in `to_currency`, rounded to cents.

    `units_per_eur` maps currency → units of that currency per 1 EUR (EUR itself may be absent).
    """
    if from_currency == to_currency:
        return amount
    rates = {"EUR": Decimal(1), **units_per_eur}
    for currency in (from_currency, to_currency):
        if currency not in rates:
            raise MissingRate(currency)
    in_eur = amount / rates[from_currency]
    return (in_eur * rates[to_currency]).quantize(CENT, rounding=ROUND_HALF_UP)
