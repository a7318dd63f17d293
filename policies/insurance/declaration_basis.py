"""The premium basis of one declaration period under a policy, per buyer country, in the policy
currency (read from the ledger; the premium itself is `premium.premium_for`).

- **Insured turnover** (premium basis "turnover"): the amount of every invoice issued in the
  period to a buyer that the policy covers (`scope`) AND that has the insurer's cover in force
  (`cover.amount_in_force` > 0 of a cover under this policy), both on the invoice's issue date.
  Turnover on buyers without cover is not insured turnover (the usual policy wording).
- **Month-end balances** ("balances"): at each month end of the period, the open receivables of
  the covered buyers with cover in force that day, added up. The ledger keeps no history of
  partial payments, so the balance of a past month end is rebuilt from the invoices as they
  are now: an invoice issued by then counts with its amount when it was paid in full after
  that day (``paid_date``), with what is still outstanding when it is still open (`ledger.open_q`),
  and not at all when it was paid by then or written off. Partial payments made before the
  month end of an invoice still open today are therefore counted as if unpaid then, a small
  overstatement, stated in every breakdown.
- Amounts are converted from the invoice currency straight into the policy currency (EUR cross
  rates, `creditguard.reference.fx.convert`, rounded to cents per invoice) at the rates of the
  period's last day; invoices in a currency without a rate are left out and named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from django.db.models import Q

from buyers import ledger, receivables
from buyers.models import Invoice
from creditguard.reference.fx import MissingRate, convert
from creditguard.reference.selectors import fx_rates_on

from ..models import CoverDecision, InsurancePolicy, PremiumBasis
from . import cover, premium
from .scope import policy_of_buyers

ZERO: Final = Decimal("0")
BALANCES_APPROXIMATION: Final = (
    "Month-end balances rebuilt from the invoices as they are now: invoices paid in full after "
    "the month end count with their amount, open ones with what is outstanding today."
)


@dataclass(frozen=True)
class PeriodBasis:
    by_country: dict[str, Decimal]
    invoices: int
    fx_date: date
    missing_currencies: list[str] = field(default_factory=list)
    month_ends: list[date] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum(self.by_country.values(), ZERO)


def _decisions_by_buyer(policy: InsurancePolicy) -> dict[int, list[list[cover.DecisionFigure]]]:
    """Per buyer, the decision history of each of its covers under `policy`."""
    by_cover: dict[int, list[cover.DecisionFigure]] = defaultdict(list)
    buyer_of: dict[int, int] = {}
    rows = CoverDecision.objects.filter(cover__policy=policy).values_list(
        "id", "cover_id", "cover__buyer_id", "kind", "amount", "effective_date", "expiry_date"
    )
    for pk, cover_id, buyer_id, kind, amount, effective, expiry in rows:
        by_cover[cover_id].append(cover.DecisionFigure(pk, kind, amount, effective, expiry))
        buyer_of[cover_id] = buyer_id
    by_buyer: dict[int, list[list[cover.DecisionFigure]]] = defaultdict(list)
    for cover_id, decisions in by_cover.items():
        by_buyer[buyer_of[cover_id]].append(decisions)
    return by_buyer


class _Insured:
    """Whether a buyer is under the policy with cover in force on a day (memoised per day)."""

    def __init__(self, policy: InsurancePolicy) -> None:
        self.policy = policy
        self.decisions = _decisions_by_buyer(policy)
        self.scope_by_day: dict[date, set[int]] = {}

    def __call__(self, buyer_id: int, day: date) -> bool:
        covers = self.decisions.get(buyer_id)
        if not covers or not any(cover.amount_in_force(d, day) > 0 for d in covers):
            return False
        if day not in self.scope_by_day:
            scope = policy_of_buyers(buyer_ids=list(self.decisions), on=day)
            self.scope_by_day[day] = {b for b, p in scope.items() if p == self.policy.pk}
        return buyer_id in self.scope_by_day[day]


def _add(
    totals: dict[str, Decimal],
    missing: set[str],
    *,
    country: str,
    amount: Decimal,
    currency: str,
    to_currency: str,
    rates: dict[str, Decimal],
) -> bool:
    try:
        converted = convert(
            amount, from_currency=currency, to_currency=to_currency, units_per_eur=rates
        )
    except MissingRate:
        missing.add(currency)
        return False
    totals[country] = totals.get(country, ZERO) + converted
    return True


def turnover_basis(*, policy: InsurancePolicy, period_start: date, period_end: date) -> PeriodBasis:
    insured = _Insured(policy)
    rates = fx_rates_on(period_end)
    totals: dict[str, Decimal] = {}
    missing: set[str] = set()
    count = 0
    rows = Invoice.objects.filter(
        issue_date__gte=period_start,
        issue_date__lte=period_end,
        buyer_id__in=list(insured.decisions),
    ).values_list("buyer_id", "buyer__country_id", "issue_date", "amount", "currency")
    for buyer_id, country, issued, amount, currency in rows:
        if not insured(buyer_id, issued):
            continue
        count += _add(
            totals,
            missing,
            country=country,
            amount=amount,
            currency=currency,
            to_currency=policy.currency,
            rates=rates,
        )
    return PeriodBasis(
        by_country=totals, invoices=count, fx_date=period_end, missing_currencies=sorted(missing)
    )


def _open_at(day: date) -> Q:
    paid_later = Q(status=receivables.PAID_INVOICE_STATUS, paid_date__gt=day)
    return Q(issue_date__lte=day) & (ledger.open_q() | paid_later)


def balances_basis(*, policy: InsurancePolicy, period_start: date, period_end: date) -> PeriodBasis:
    insured = _Insured(policy)
    rates = fx_rates_on(period_end)
    totals: dict[str, Decimal] = {}
    missing: set[str] = set()
    count = 0
    ends = premium.month_ends(period_start, period_end)
    for day in ends:
        rows = Invoice.objects.filter(
            _open_at(day), buyer_id__in=list(insured.decisions)
        ).values_list(
            "buyer_id", "buyer__country_id", "status", "amount", "paid_amount", "currency"
        )
        for buyer_id, country, status, amount, paid, currency in rows:
            if not insured(buyer_id, day):
                continue
            balance = amount if status == receivables.PAID_INVOICE_STATUS else amount - paid
            count += _add(
                totals,
                missing,
                country=country,
                amount=balance,
                currency=currency,
                to_currency=policy.currency,
                rates=rates,
            )
    return PeriodBasis(
        by_country=totals,
        invoices=count,
        fx_date=period_end,
        missing_currencies=sorted(missing),
        month_ends=ends,
    )


def period_basis(
    *, policy: InsurancePolicy, basis: str, period_start: date, period_end: date
) -> PeriodBasis:
    if basis == PremiumBasis.BALANCES:
        return balances_basis(policy=policy, period_start=period_start, period_end=period_end)
    return turnover_basis(policy=policy, period_start=period_start, period_end=period_end)


def jsonable_lines(lines: Iterable[premium.PremiumLine]) -> list[dict[str, object]]:
    return [
        {
            "group": line.group,
            "countries": list(line.countries),
            "basis_amount": f"{line.basis_amount:.2f}",
            "rate_pct": str(line.rate_pct),
            "premium": f"{line.premium:.2f}",
            "tier_from": None if line.tier_from is None else f"{line.tier_from:.2f}",
            "tier_to": None if line.tier_to is None else f"{line.tier_to:.2f}",
        }
        for line in lines
    ]
