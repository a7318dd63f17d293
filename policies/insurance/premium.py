"""Premium of a trade credit insurance policy, step by step (pure: no Django, no database).

The basis of a declaration period is the insured turnover (invoices issued to covered buyers)
or the sum of the covered buyers' month-end balances, per buyer country, in the policy
currency. The premium of a country is its basis × the rate of its country group, or × the
policy's base rate when the country is in no group. Tiered rates (for small companies) replace
the base rate: they are marginal rates by the policy year's cumulative basis charged at the
base rate, so a period's tiered premium is the marginal premium of its slice of the year
(`year_to_date_before` says where the slice starts). Countries with a group rate keep it and do
not move the tiers. At the end of the policy year the premiums charged are topped up to the
minimum premium (`year_end_adjustment`).

Every step is kept in the `PremiumBreakdown` (one line per country group and tier slice: basis
amount, rate, premium) so a person can redo the sum; premiums are rounded to cents per line,
half up, and the total is the sum of the lines.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
BASE_GROUP = ""  # the line of the countries in no country group (charged at the base rate)


class PremiumTermsError(ValueError):
    """The premium terms (country groups or tiers) are malformed."""


@dataclass(frozen=True)
class CountryGroup:
    name: str
    countries: frozenset[str]
    rate_pct: Decimal


@dataclass(frozen=True)
class PremiumTier:
    """A marginal rate for the policy year's cumulative basis up to `up_to` (None: no upper
    bound; the last tier)."""

    up_to: Decimal | None
    rate_pct: Decimal


@dataclass(frozen=True)
class PremiumTerms:
    base_rate_pct: Decimal
    country_groups: tuple[CountryGroup, ...] = ()
    tiers: tuple[PremiumTier, ...] = ()
    minimum_premium: Decimal = ZERO

    @classmethod
    def parse(
        cls,
        *,
        premium_rate_pct: Decimal,
        country_group_rates: object,
        premium_tiers: object,
        minimum_premium: Decimal = ZERO,
    ) -> PremiumTerms:
        """The terms from a policy version's fields (the JSON lists as stored)."""
        return cls(
            base_rate_pct=premium_rate_pct,
            country_groups=_parse_groups(country_group_rates),
            tiers=_parse_tiers(premium_tiers),
            minimum_premium=minimum_premium,
        )

    def group_of(self, country: str) -> CountryGroup | None:
        for group in self.country_groups:
            if country.upper() in group.countries:
                return group
        return None


def _decimal(value: object, *, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        raise PremiumTermsError(f"{what} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise PremiumTermsError(f"{what} is not a number") from error
    if not number.is_finite() or number < 0:
        raise PremiumTermsError(f"{what} must be a number ≥ 0")
    return number


def _parse_groups(raw: object) -> tuple[CountryGroup, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise PremiumTermsError("country groups must be a list")
    groups: list[CountryGroup] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise PremiumTermsError(f"country group {index + 1} is not an object")
        countries = entry.get("countries")
        if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
            raise PremiumTermsError(f"country group {index + 1} has no list of countries")
        codes = frozenset(str(c).upper() for c in countries)
        if codes & seen:
            raise PremiumTermsError(f"country group {index + 1} repeats a country")
        seen |= codes
        name = str(entry.get("name") or f"#{index + 1}")
        if any(group.name == name for group in groups):
            raise PremiumTermsError(f"country group {index + 1} repeats the name {name}")
        groups.append(
            CountryGroup(
                name=name,
                countries=codes,
                rate_pct=_decimal(entry.get("rate_pct"), what=f"country group {index + 1} rate"),
            )
        )
    return tuple(groups)


def _parse_tiers(raw: object) -> tuple[PremiumTier, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise PremiumTermsError("tiers must be a list")
    tiers: list[PremiumTier] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise PremiumTermsError(f"tier {index + 1} is not an object")
        bound = entry.get("up_to")
        up_to = None if bound in (None, "") else _decimal(bound, what=f"tier {index + 1} bound")
        tiers.append(
            PremiumTier(up_to=up_to, rate_pct=_decimal(entry.get("rate_pct"), what="tier rate"))
        )
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        if tier.up_to is None and not last:
            raise PremiumTermsError("only the last tier may be open-ended")
        if index and tier.up_to is not None:
            previous = tiers[index - 1].up_to
            if previous is not None and tier.up_to <= previous:
                raise PremiumTermsError("tier bounds must increase")
    return tuple(tiers)


# --- The premium of one period ------------------------------------------------------------------


@dataclass(frozen=True)
class PremiumLine:
    """One step: `basis_amount` × `rate_pct` % = `premium` (rounded to cents).

    `group` is the country group's name, or `BASE_GROUP` for the countries charged at the base
    (or tiered) rate; `tier_from`/`tier_to` bound the tier slice of the policy year's cumulative
    basis this line charges (None outside tiers; `tier_to` None: no upper bound)."""

    group: str
    countries: tuple[str, ...]
    basis_amount: Decimal
    rate_pct: Decimal
    premium: Decimal
    tier_from: Decimal | None = None
    tier_to: Decimal | None = None


@dataclass(frozen=True)
class PremiumBreakdown:
    lines: tuple[PremiumLine, ...]
    basis_total: Decimal
    premium: Decimal
    # Where the period's slice of tiered basis starts and ends in the policy year (equal when
    # there are no tiers or no basis at the base rate).
    year_to_date_before: Decimal
    year_to_date_after: Decimal

    @property
    def tiered_basis(self) -> Decimal:
        """The basis charged at the base (or tiered) rate in this period, which moves the
        policy year along the tiers."""
        return self.year_to_date_after - self.year_to_date_before


def line_premium(basis_amount: Decimal, rate_pct: Decimal) -> Decimal:
    return (basis_amount * rate_pct / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def _tier_slices(
    tiers: Sequence[PremiumTier], *, start: Decimal, amount: Decimal
) -> list[tuple[Decimal, Decimal | None, Decimal, Decimal]]:
    """(tier_from, tier_to, basis in the tier, rate) for the slice [start, start + amount) of
    the cumulative basis."""
    slices: list[tuple[Decimal, Decimal | None, Decimal, Decimal]] = []
    end = start + amount
    lower = ZERO
    for tier in tiers:
        upper = tier.up_to
        low = max(start, lower)
        high = end if upper is None else min(end, upper)
        if high > low:
            slices.append((lower, upper, high - low, tier.rate_pct))
        if upper is None or end <= upper:
            break
        lower = upper
    else:
        # The last tier has an upper bound and the slice goes beyond it: the last rate goes on.
        if tiers and end > lower:
            last = tiers[-1]
            low = max(start, lower)
            slices.append((lower, None, end - low, last.rate_pct))
    return slices


def premium_for(
    *,
    basis_amount_by_country: Mapping[str, Decimal],
    terms: PremiumTerms,
    year_to_date_before: Decimal = ZERO,
) -> PremiumBreakdown:
    """The premium of one period's basis (per ISO country code, in the policy currency)."""
    if year_to_date_before < 0:
        raise ValueError("year_to_date_before must be ≥ 0")
    by_group: dict[str, tuple[list[str], Decimal, Decimal]] = {}
    for country in sorted(basis_amount_by_country):
        amount = basis_amount_by_country[country]
        if amount < 0:
            raise ValueError(f"negative basis for {country}")
        group = terms.group_of(country)
        key = group.name if group else BASE_GROUP
        rate = group.rate_pct if group else terms.base_rate_pct
        countries, total, _rate = by_group.get(key, ([], ZERO, rate))
        by_group[key] = ([*countries, country.upper()], total + amount, rate)

    lines: list[PremiumLine] = []
    tiered = ZERO
    group_order = [group.name for group in terms.country_groups]
    for key in sorted(by_group, key=lambda k: (k == BASE_GROUP, group_order.index(k) if k else 0)):
        countries, amount, rate = by_group[key]
        if key == BASE_GROUP and terms.tiers:
            tiered = amount
            for tier_from, tier_to, slice_amount, tier_rate in _tier_slices(
                terms.tiers, start=year_to_date_before, amount=amount
            ):
                lines.append(
                    PremiumLine(
                        group=key,
                        countries=tuple(countries),
                        basis_amount=slice_amount,
                        rate_pct=tier_rate,
                        premium=line_premium(slice_amount, tier_rate),
                        tier_from=tier_from,
                        tier_to=tier_to,
                    )
                )
            continue
        lines.append(
            PremiumLine(
                group=key,
                countries=tuple(countries),
                basis_amount=amount,
                rate_pct=rate,
                premium=line_premium(amount, rate),
            )
        )
    return PremiumBreakdown(
        lines=tuple(lines),
        basis_total=sum((amount for _c, amount, _r in by_group.values()), ZERO),
        premium=sum((line.premium for line in lines), ZERO),
        year_to_date_before=year_to_date_before,
        year_to_date_after=year_to_date_before + tiered,
    )


# --- End of the policy year ---------------------------------------------------------------------


@dataclass(frozen=True)
class YearEndAdjustment:
    """The premiums charged over the policy year (declarations and their corrections), the
    minimum premium, and the top-up that brings the first to the second (0 when above it)."""

    premiums_charged: Decimal
    minimum_premium: Decimal
    top_up: Decimal


def year_end_adjustment(
    *, premiums_charged: Iterable[Decimal], minimum_premium: Decimal
) -> YearEndAdjustment:
    charged = sum(premiums_charged, ZERO)
    return YearEndAdjustment(
        premiums_charged=charged,
        minimum_premium=minimum_premium,
        top_up=max(ZERO, minimum_premium - charged),
    )


# --- Declaration periods ------------------------------------------------------------------------

MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3}


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_slices(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut into months counted from `start` (the last one may be shorter)."""
    slices: list[tuple[date, date]] = []
    index = 0
    while True:
        slice_start = _add_months(start, index)
        if slice_start > end:
            return slices
        slices.append((slice_start, min(end, _add_months(start, index + 1) - timedelta(days=1))))
        index += 1


def declaration_periods(
    *, period_start: date, period_end: date, frequency: str
) -> list[tuple[date, date]]:
    """The declaration periods of a policy year: months or quarters counted from its start, the
    last one cut at its end."""
    months = MONTHS_PER_PERIOD[frequency]
    periods: list[tuple[date, date]] = []
    index = 0
    while True:
        start = _add_months(period_start, index * months)
        if start > period_end:
            return periods
        end = min(period_end, _add_months(period_start, (index + 1) * months) - timedelta(days=1))
        periods.append((start, end))
        index += 1


def month_ends(period_start: date, period_end: date) -> list[date]:
    """The days on which month-end balances are taken in a period: the last day of each month
    slice of it."""
    return [end for _start, end in month_slices(period_start, period_end)]
