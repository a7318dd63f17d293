"""A policy's terms as a whole: what makes a set of terms valid (pure: no database).

The rules, each reported under the field it concerns (`premium_tiers[1].up_to` for an item of a
list) so a form or the API can show it next to the input:

- Indemnity: commercial 1–100 % (75–95 % is typical, anything in the range is accepted),
  political 0–100 %.
- Covered risks: at least one, each a `CoveredRisk`, none twice.
- Covered countries: ISO 3166-1 alpha-2 codes of the project's country reference (the caller
  passes the codes), none twice; may be empty when the policy covers named buyers only.
- Period: the end is not before the start. Maximum liability > 0.
- Waiting period, maximum extension, overdue notification, claim filing, cover notice,
  declaration due: 0–730 days (`MAX_DAYS`).
- Non-qualifying loss, deductible per buyer, aggregate first loss, minimum premium: ≥ 0.
- Discretionary credit limit: an amount ≥ 0; above 0 it needs at least one condition: a credit
  report not older than N days (1–730) or N on-time payments (≥ 1) within the lookback
  (1–730 days).
- Premium rate 0–100 %; rates by country group: a name, at least one valid country, a rate
  0–100 %; no country in two groups (the groups are disjoint), no group name twice.
- Tiered rates: `up_to` amounts strictly ascending and > 0, each rate 0–100 %, the last tier
  open-ended (`up_to` empty) and only the last.
- Currency (the policy's): one of the trade currencies the caller passes.

Messages are English message ids (`gettext_noop`) with `%(name)s` placeholders; the caller
translates them with `params` (see `policies.services.insurance.terms_errors`).

`parse_country_group_rates` and `parse_premium_tiers` turn the JSON the model stores (or the
API receives) into typed rows, reporting shape errors with the same keys; `*_json` write them
back (decimals as strings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeAlias

from creditguard.i18n import gettext_noop

from ..models import CoveredRisk, DeclarationFrequency, PremiumBasis

ZERO = Decimal("0")
HUNDRED = Decimal("100")
MAX_DAYS = 730
MAX_AMOUNT = Decimal("1e16")  # MONEY: 18 digits, 2 of them decimals
COVERED_RISKS: frozenset[str] = frozenset(CoveredRisk.values)
PREMIUM_BASES: frozenset[str] = frozenset(PremiumBasis.values)
DECLARATION_FREQUENCIES: frozenset[str] = frozenset(DeclarationFrequency.values)

JsonScalar: TypeAlias = str | int | float | bool | None
Json: TypeAlias = JsonScalar | list["Json"] | dict[str, "Json"]


@dataclass(frozen=True)
class CountryGroupRate:
    """A premium rate that replaces the base rate for buyers in `countries`."""

    name: str
    countries: tuple[str, ...]
    rate_pct: Decimal


@dataclass(frozen=True)
class PremiumTier:
    """A marginal premium rate for insured turnover up to `up_to` (None: no upper bound)."""

    up_to: Decimal | None
    rate_pct: Decimal


@dataclass(frozen=True)
class PolicyTerms:
    """The terms of one policy version (every field of `PolicyVersion` that is a term)."""

    period_start: date
    period_end: date
    indemnity_commercial_pct: Decimal
    indemnity_political_pct: Decimal
    max_liability: Decimal
    covered_risks: tuple[str, ...]
    covered_countries: tuple[str, ...]
    waiting_period_days: int
    max_extension_days: int
    notification_days: int
    claim_filing_days: int
    cover_notice_days: int
    premium_basis: str
    premium_rate_pct: Decimal
    non_qualifying_loss: Decimal = ZERO
    deductible_per_buyer: Decimal = ZERO
    aggregate_first_loss: Decimal = ZERO
    dcl_max_amount: Decimal = ZERO
    dcl_report_max_age_days: int | None = None
    dcl_min_on_time_payments: int | None = None
    dcl_payment_lookback_days: int = 365
    country_group_rates: tuple[CountryGroupRate, ...] = ()
    premium_tiers: tuple[PremiumTier, ...] = ()
    minimum_premium: Decimal = ZERO
    declaration_frequency: str = DeclarationFrequency.MONTHLY.value
    declaration_due_days: int = 15


TERM_FIELDS: tuple[str, ...] = tuple(item.name for item in dataclasses.fields(PolicyTerms))
DAY_FIELDS: tuple[str, ...] = (
    "waiting_period_days",
    "max_extension_days",
    "notification_days",
    "claim_filing_days",
    "cover_notice_days",
    "declaration_due_days",
)
NON_NEGATIVE_AMOUNTS: tuple[str, ...] = (
    "non_qualifying_loss",
    "deductible_per_buyer",
    "aggregate_first_loss",
    "dcl_max_amount",
    "minimum_premium",
)


@dataclass(frozen=True)
class Problem:
    """One broken rule: the field key, an English message id and its placeholders."""

    field: str
    message: str
    params: Mapping[str, str | int] = dataclasses.field(default_factory=dict)


def _percent(value: Decimal, key: str, *, low: Decimal = ZERO) -> list[Problem]:
    if value < low or value > HUNDRED:
        return [
            Problem(
                key,
                gettext_noop("Enter a percentage from %(low)s to 100."),
                {"low": str(low.normalize())},
            )
        ]
    return []


def _days(value: int | None, key: str, *, low: int = 0) -> list[Problem]:
    if value is not None and not low <= value <= MAX_DAYS:
        return [
            Problem(
                key,
                gettext_noop("Enter a number of days from %(low)s to %(high)s."),
                {"low": low, "high": MAX_DAYS},
            )
        ]
    return []


def _countries(codes: Sequence[str], key: str, country_codes: frozenset[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, code in enumerate(codes):
        item = f"{key}[{index}]"
        if code not in country_codes:
            problems.append(
                Problem(
                    item,
                    gettext_noop("“%(code)s” is not an ISO 3166 alpha-2 country code."),
                    {"code": code},
                )
            )
        elif code in seen:
            problems.append(
                Problem(item, gettext_noop("%(code)s is listed twice."), {"code": code})
            )
        seen.add(code)
    return problems


def validate_terms(
    terms: PolicyTerms,
    *,
    country_codes: frozenset[str],
    currencies: frozenset[str],
    currency: str | None = None,
) -> list[Problem]:
    """Every rule of the module docstring that `terms` (and the policy's `currency`, when
    given) break; empty when the terms are valid."""
    problems: list[Problem] = []
    if currency is not None and currency not in currencies:
        problems.append(
            Problem("currency", gettext_noop("Enter an ISO 4217 currency code such as EUR."))
        )
    if terms.period_end < terms.period_start:
        problems.append(
            Problem("period_end", gettext_noop("The period cannot end before it starts."))
        )
    problems += _percent(terms.indemnity_commercial_pct, "indemnity_commercial_pct", low=Decimal(1))
    problems += _percent(terms.indemnity_political_pct, "indemnity_political_pct")
    if terms.max_liability <= ZERO or terms.max_liability >= MAX_AMOUNT:
        problems.append(
            Problem("max_liability", gettext_noop("The maximum liability must be above zero."))
        )
    if not terms.covered_risks:
        problems.append(Problem("covered_risks", gettext_noop("Choose at least one risk.")))
    for index, risk in enumerate(terms.covered_risks):
        if risk not in COVERED_RISKS:
            problems.append(
                Problem(
                    f"covered_risks[{index}]",
                    gettext_noop("“%(risk)s” is not a risk a policy covers."),
                    {"risk": risk},
                )
            )
        elif risk in terms.covered_risks[:index]:
            problems.append(
                Problem(
                    f"covered_risks[{index}]",
                    gettext_noop("%(code)s is listed twice."),
                    {"code": risk},
                )
            )
    problems += _countries(terms.covered_countries, "covered_countries", country_codes)
    for name in DAY_FIELDS:
        problems += _days(getattr(terms, name), name)
    for name in NON_NEGATIVE_AMOUNTS:
        amount: Decimal = getattr(terms, name)
        if amount < ZERO or amount >= MAX_AMOUNT:
            problems.append(Problem(name, gettext_noop("Enter an amount of zero or more.")))
    problems += _dcl_problems(terms)
    if terms.premium_basis not in PREMIUM_BASES:
        problems.append(Problem("premium_basis", gettext_noop("Choose a premium basis.")))
    if terms.declaration_frequency not in DECLARATION_FREQUENCIES:
        problems.append(
            Problem("declaration_frequency", gettext_noop("Choose how often to declare."))
        )
    problems += _percent(terms.premium_rate_pct, "premium_rate_pct")
    problems += _group_problems(terms.country_group_rates, country_codes)
    problems += _tier_problems(terms.premium_tiers)
    return problems


def _dcl_problems(terms: PolicyTerms) -> list[Problem]:
    problems = _days(terms.dcl_report_max_age_days, "dcl_report_max_age_days", low=1)
    problems += _days(terms.dcl_payment_lookback_days, "dcl_payment_lookback_days", low=1)
    if terms.dcl_min_on_time_payments is not None and terms.dcl_min_on_time_payments < 1:
        problems.append(
            Problem("dcl_min_on_time_payments", gettext_noop("Enter at least one payment."))
        )
    if (
        terms.dcl_max_amount > ZERO
        and terms.dcl_report_max_age_days is None
        and terms.dcl_min_on_time_payments is None
    ):
        problems.append(
            Problem(
                "dcl_report_max_age_days",
                gettext_noop(
                    "A discretionary credit limit needs a condition: a maximum age of the credit "
                    "report, a number of on-time payments, or both."
                ),
            )
        )
    return problems


def _group_problems(
    groups: Sequence[CountryGroupRate], country_codes: frozenset[str]
) -> list[Problem]:
    problems: list[Problem] = []
    names: set[str] = set()
    group_of: dict[str, str] = {}
    for index, group in enumerate(groups):
        key = f"country_group_rates[{index}]"
        if not group.name.strip():
            problems.append(Problem(f"{key}.name", gettext_noop("Name the group.")))
        elif group.name.strip().casefold() in names:
            problems.append(Problem(f"{key}.name", gettext_noop("Another group has this name.")))
        names.add(group.name.strip().casefold())
        if not group.countries:
            problems.append(Problem(f"{key}.countries", gettext_noop("Add at least one country.")))
        problems += _countries(group.countries, f"{key}.countries", country_codes)
        for position, code in enumerate(group.countries):
            other = group_of.get(code)
            if other is not None and other != group.name:
                problems.append(
                    Problem(
                        f"{key}.countries[{position}]",
                        gettext_noop("%(code)s is already in the group “%(group)s”."),
                        {"code": code, "group": other},
                    )
                )
            group_of.setdefault(code, group.name)
        problems += _percent(group.rate_pct, f"{key}.rate_pct")
    return problems


def _tier_problems(tiers: Sequence[PremiumTier]) -> list[Problem]:
    problems: list[Problem] = []
    previous: Decimal | None = None
    for index, tier in enumerate(tiers):
        key = f"premium_tiers[{index}]"
        last = index == len(tiers) - 1
        if tier.up_to is None and not last:
            problems.append(
                Problem(
                    f"{key}.up_to",
                    gettext_noop("Only the last tier can be without an upper bound."),
                )
            )
        elif tier.up_to is None:
            pass
        elif last:
            problems.append(
                Problem(
                    f"{key}.up_to",
                    gettext_noop("The last tier has no upper bound: leave “up to” empty."),
                )
            )
        elif tier.up_to <= ZERO or tier.up_to >= MAX_AMOUNT:
            problems.append(Problem(f"{key}.up_to", gettext_noop("Enter an amount above zero.")))
        elif previous is not None and tier.up_to <= previous:
            problems.append(
                Problem(
                    f"{key}.up_to",
                    gettext_noop("Each tier must go higher than the one before (%(previous)s)."),
                    {"previous": f"{previous:f}"},
                )
            )
        if tier.up_to is not None:
            previous = tier.up_to if previous is None else max(previous, tier.up_to)
        problems += _percent(tier.rate_pct, f"{key}.rate_pct")
    return problems


# --- JSON (the model's JSON fields, the API's nested input) ---------------------------------


def _decimal(value: object) -> Decimal | None:
    """A finite decimal from a string or a number (floats by their shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_country_group_rates(
    value: object,
) -> tuple[tuple[CountryGroupRate, ...], list[Problem]]:
    """`[{"name": "EU", "countries": ["DE", "fr"], "rate_pct": "0.18"}, ...]` as typed rows
    (country codes upper-cased). Shape errors only; `validate_terms` checks the rest."""
    if value is None:
        return (), []
    if not isinstance(value, list):
        return (), [Problem("country_group_rates", gettext_noop("Expected a list of groups."))]
    groups: list[CountryGroupRate] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        key = f"country_group_rates[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(key, gettext_noop("Expected an object.")))
            continue
        name = item.get("name")
        if not isinstance(name, str):
            problems.append(Problem(f"{key}.name", gettext_noop("Name the group.")))
            name = ""
        countries = item.get("countries")
        codes: list[str] = []
        if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
            problems.append(
                Problem(f"{key}.countries", gettext_noop("Expected a list of country codes."))
            )
        else:
            codes = [str(code).strip().upper() for code in countries]
        rate = _decimal(item.get("rate_pct"))
        if rate is None:
            problems.append(Problem(f"{key}.rate_pct", gettext_noop("Enter a number.")))
            rate = ZERO
        groups.append(CountryGroupRate(name=name.strip(), countries=tuple(codes), rate_pct=rate))
    return tuple(groups), problems


def parse_premium_tiers(value: object) -> tuple[tuple[PremiumTier, ...], list[Problem]]:
    """`[{"up_to": "5000000", "rate_pct": "0.25"}, {"up_to": null, "rate_pct": "0.15"}]` as
    typed rows. Shape errors only; `validate_terms` checks the rest."""
    if value is None:
        return (), []
    if not isinstance(value, list):
        return (), [Problem("premium_tiers", gettext_noop("Expected a list of tiers."))]
    tiers: list[PremiumTier] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        key = f"premium_tiers[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(key, gettext_noop("Expected an object.")))
            continue
        raw_up_to = item.get("up_to")
        up_to = None if raw_up_to in (None, "") else _decimal(raw_up_to)
        if raw_up_to not in (None, "") and up_to is None:
            problems.append(Problem(f"{key}.up_to", gettext_noop("Enter a number.")))
        rate = _decimal(item.get("rate_pct"))
        if rate is None:
            problems.append(Problem(f"{key}.rate_pct", gettext_noop("Enter a number.")))
            rate = ZERO
        tiers.append(PremiumTier(up_to=up_to, rate_pct=rate))
    return tuple(tiers), problems


def country_group_rates_json(groups: Iterable[CountryGroupRate]) -> list[Json]:
    return [
        {"name": group.name, "countries": list(group.countries), "rate_pct": f"{group.rate_pct:f}"}
        for group in groups
    ]


def premium_tiers_json(tiers: Iterable[PremiumTier]) -> list[Json]:
    return [
        {
            "up_to": None if tier.up_to is None else f"{tier.up_to:f}",
            "rate_pct": f"{tier.rate_pct:f}",
        }
        for tier in tiers
    ]
