"""A synthetic portfolio with known default mechanics: `bench/model.py` trains on it, and the
demo (`manage.py seed_demo`) loads one as a tenant with six years of history. Pure numpy.

Every buyer has a latent health ``h`` (higher = healthier) that moves month by month:

    h[i, t] = mu[i] + x[i, t] + loading[sector] · m[t]
    x[i, t] = PHI · x[i, t−1] + SIGMA · e[i, t]                 (the buyer's own fortunes)
    m[t]    = MACRO_PHI · m[t−1] + s · u[t]      (the business cycle; s gives m the sd `cycle_sd`)

``mu`` is the buyer's own level, partly explained by its country and sector ratings (the
reference data of the product) and partly not. Everything the product can see is a noisy
read-out of ``h``:

- **defaults**: each month a buyer that has not defaulted does so with probability
  ``sigmoid(HAZARD_A − HAZARD_B · h)``: an insolvency (proceedings opened on a day of that
  month, status insolvent from that day); no invoices after it, no statement published after it;
- **annual statements** at the buyer's fiscal year-end, published 3–6 months later (later when
  weak): every Altman Z'' input and the optional figures, each ratio a function of ``h`` at the
  year-end plus noise of its own. Interest expense (the rate lenders charge prices what they
  know), cash and revenue growth carry information that Z'' does not;
- **invoices** every month (Poisson count per buyer), paid after the buyer's terms plus a
  lateness that grows as ``h`` falls and rises again in the months before a default; invoices
  not paid by the default (or by today) stay open;
- **legal events** (court judgments, tax liens, reported payment defaults) with a monthly rate
  rising as ``h`` falls; management changes at random.

The parameters give about 3–4 % defaults a year (the bench prints the realised rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

PHI = 0.985  # monthly persistence of the buyer's own health shock
SIGMA = 0.13  # monthly idiosyncratic shock (stationary sd about 0.75)
MU_SD = 0.75  # spread of the buyers' own levels not explained by the ratings
RATING_EFFECT = 0.10  # mu per rating notch (country and sector ratings 1–10)
MACRO_PHI = 0.95
CYCLE_SD = 0.1  # stationary sd of m (0.2 swung the yearly default rate between 1.4 and 5.6 %)
HAZARD_A = -7.1  # monthly default log-odds at h = 0
HAZARD_B = 2.4  # … falling by this much per unit of health
EVENT_A = -5.8  # monthly log-odds of a negative legal event at h = 0
EVENT_B = 0.9

COUNTRIES = {  # code → share of buyers (ratings come from the product's reference data)
    "DE": 30, "FR": 14, "IT": 10, "ES": 8, "NL": 7, "PL": 7, "GB": 6, "AT": 5, "BE": 4,
    "CZ": 3, "TR": 3, "BR": 2, "IN": 1,
}  # fmt: skip
SECTIONS = {"C": 30, "G": 25, "F": 12, "H": 8, "I": 5, "J": 5, "M": 7, "N": 5, "A": 3}
YEAR_END_MONTHS = {12: 70, 3: 10, 6: 10, 9: 10}
TERMS = (30, 45, 60)
NEGATIVE_EVENTS = ("court_judgment", "tax_lien", "payment_default")


def add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, 1)


def _sigmoid(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-values))
    return result


@dataclass
class Portfolio:
    """The simulated book, as column arrays ready for COPY (indices are 0-based buyers)."""

    start: date  # first simulated month
    months: int
    country: list[str]
    section: list[str]
    terms: npt.NDArray[np.int_]
    health: npt.NDArray[np.float64]  # buyers × months
    default_day: list[date | None]  # insolvency date
    statements: list[dict[str, Any]] = field(default_factory=list)
    # invoices: buyer, issue, due, amount, paid (bool), paid_day
    invoice_buyer: npt.NDArray[np.int_] = field(default_factory=lambda: np.empty(0, int))
    invoice_issue: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    invoice_due: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    invoice_amount: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    invoice_paid: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    legal_events: list[tuple[int, str, date]] = field(default_factory=list)

    @property
    def buyers(self) -> int:
        return len(self.country)

    def month_start(self, index: int) -> date:
        return add_months(self.start, index)


EPOCH = date(1970, 1, 1)
NEVER = np.iinfo(np.int64).max  # "not paid" in the day-number arrays


def day_number(day: date) -> int:
    return (day - EPOCH).days


def simulate(
    *,
    buyers: int,
    start: date,
    end: date,
    today: date,
    country_ratings: dict[str, int],
    sector_ratings: dict[str, int],
    seed: int = 7,
    cycle_sd: float = CYCLE_SD,
) -> Portfolio:
    """Simulate ``buyers`` from the month of ``start`` to the month before ``end``; nothing
    that happens after ``today`` is recorded (payments, statements, events). ``cycle_sd`` is
    the stationary standard deviation of the business cycle ``m`` (0: no cycle)."""
    rng = np.random.default_rng(seed)
    months = (end.year - start.year) * 12 + end.month - start.month
    country = rng.choice(list(COUNTRIES), buyers, p=_shares(COUNTRIES))
    section = rng.choice(list(SECTIONS), buyers, p=_shares(SECTIONS))
    rating_country = np.array([country_ratings.get(code, 5) for code in country], dtype=float)
    rating_sector = np.array([sector_ratings.get(code, 5) for code in section], dtype=float)
    mu = (
        rng.normal(0.0, MU_SD, buyers)
        - RATING_EFFECT * (rating_country - rating_country.mean())
        - RATING_EFFECT * (rating_sector - rating_sector.mean())
    )
    macro_loading = {code: rng.uniform(0.6, 1.4) for code in SECTIONS}
    loading = np.array([macro_loading[code] for code in section])

    # Latent health, month by month, and the defaults it causes.
    health = np.empty((buyers, months))
    x = rng.normal(0.0, SIGMA / np.sqrt(1 - PHI**2), buyers)
    macro = 0.0
    macro_sigma = cycle_sd * np.sqrt(1 - MACRO_PHI**2)
    default_month = np.full(buyers, -1)
    alive = np.ones(buyers, dtype=bool)
    for t in range(months):
        macro = MACRO_PHI * macro + macro_sigma * rng.normal()
        x = PHI * x + SIGMA * rng.normal(0.0, 1.0, buyers)
        health[:, t] = mu + x + loading * macro
        hazard = _sigmoid(HAZARD_A - HAZARD_B * health[:, t])
        defaults = alive & (rng.random(buyers) < hazard)
        default_month[defaults] = t
        alive &= ~defaults
    default_day: list[date | None] = []
    for t in default_month.tolist():
        if t < 0:
            default_day.append(None)
            continue
        month = add_months(start, t)
        day = month.replace(day=int(rng.integers(1, 29)))
        default_day.append(day if day <= today else None)

    portfolio = Portfolio(
        start=start,
        months=months,
        country=country.tolist(),
        section=section.tolist(),
        terms=rng.choice(TERMS, buyers, p=[0.6, 0.25, 0.15]),
        health=health,
        default_day=default_day,
    )
    _statements(portfolio, rng, today=today)
    _invoices(portfolio, rng, today=today)
    _legal_events(portfolio, rng, today=today)
    return portfolio


def _shares(weights: dict[str, int]) -> npt.NDArray[np.float64]:
    values = np.array(list(weights.values()), dtype=float)
    result: npt.NDArray[np.float64] = values / values.sum()
    return result


def _month_index(portfolio: Portfolio, day: date) -> int:
    return (day.year - portfolio.start.year) * 12 + day.month - portfolio.start.month


def _statements(portfolio: Portfolio, rng: np.random.Generator, *, today: date) -> None:
    """One statement per buyer and fiscal year, from the health at the year-end."""
    n = portfolio.buyers
    year_end = rng.choice(list(YEAR_END_MONTHS), n, p=_shares(YEAR_END_MONTHS))  # type: ignore[arg-type]
    assets0 = rng.lognormal(15.0, 1.3, n)
    turnover = rng.lognormal(0.2, 0.35, n)  # revenue / total assets
    current_share = np.clip(rng.normal(0.5, 0.13, n), 0.12, 0.9)
    inventory_share = np.clip(rng.normal(0.35, 0.12, n), 0.0, 0.7)  # of current assets
    margin = np.clip(rng.normal(0.30, 0.08, n), 0.08, 0.6)
    growth_trend = rng.normal(0.03, 0.03, n)
    first_year, last_year = portfolio.start.year, today.year
    previous_revenue: dict[int, float] = {}
    for year in range(first_year, last_year + 1):
        for i in range(n):
            month_of_end = int(year_end[i])
            period_end = _month_end(year, month_of_end)
            t = _month_index(portfolio, period_end)
            if t < 0 or t >= portfolio.months:
                continue
            h = float(portfolio.health[i, t])
            h_before = float(portfolio.health[i, max(t - 12, 0)])
            lag_days = int(90 + 75 * _sigmoid(np.array(-h))[()] + rng.integers(0, 45))
            published = date.fromordinal(period_end.toordinal() + lag_days)
            default = portfolio.default_day[i]
            if published > today or (default is not None and published >= default):
                previous_revenue.pop(i, None)
                continue
            years_in = year - first_year
            assets = assets0[i] * np.exp(0.03 * years_in + 0.08 * h + rng.normal(0, 0.05))
            equity_ratio = float(np.clip(0.30 + 0.11 * h + rng.normal(0, 0.13), -0.4, 0.85))
            provisions = assets * float(np.clip(rng.normal(0.03, 0.015), 0.0, 0.1))
            equity = assets * equity_ratio
            liabilities = max(assets - equity - provisions, assets * 0.02)
            current_assets = assets * float(
                np.clip(current_share[i] + 0.03 * h + rng.normal(0, 0.05), 0.05, 0.95)
            )
            current_liabilities = liabilities * float(
                np.clip(0.55 - 0.04 * h + rng.normal(0, 0.12), 0.15, 1.0)
            )
            retained = assets * float(0.12 + 0.08 * h + rng.normal(0, 0.10))
            ebit = assets * float(0.05 + 0.025 * h + rng.normal(0, 0.045))
            revenue = assets * turnover[i] * np.exp(0.12 * (h - h_before) + rng.normal(0, 0.04))
            revenue *= np.exp(growth_trend[i])
            prior = previous_revenue.get(i)
            if prior is None:
                prior = revenue / np.exp(growth_trend[i] + rng.normal(0, 0.05))
            # Lenders price what they know: the rate on the debt rises as health falls.
            debt = liabilities * float(np.clip(rng.normal(0.55, 0.12), 0.2, 0.9))
            rate = 0.035 * np.exp(-0.45 * h + rng.normal(0, 0.22))
            interest = debt * rate
            cash = assets * 0.07 * np.exp(0.5 * h + rng.normal(0, 0.35))
            cash = min(cash, current_assets * 0.9)
            short_term_debt = min(
                debt * float(np.clip(0.35 - 0.08 * h + rng.normal(0, 0.1), 0.05, 0.95)),
                current_liabilities * 0.95,
            )
            inventory = (current_assets - cash) * inventory_share[i]
            receivables = max(current_assets - cash - inventory, 0.0)
            gross_profit = revenue * float(
                np.clip(margin[i] + 0.02 * h + rng.normal(0, 0.02), 0.02, 0.9)
            )
            depreciation = assets * 0.04
            net_income = (ebit - interest) * (0.75 if ebit > interest else 1.0)
            portfolio.statements.append(
                {
                    "buyer": i,
                    "period_end": period_end,
                    "published_on": published,
                    "revenue": revenue,
                    "ebit": ebit,
                    "net_income": net_income,
                    "total_assets": assets,
                    "current_assets": current_assets,
                    "current_liabilities": current_liabilities,
                    "total_liabilities": liabilities,
                    "retained_earnings": retained,
                    "equity": equity,
                    "interest_expense": interest,
                    "gross_profit": gross_profit,
                    "depreciation_amortisation": depreciation,
                    "cost_of_sales": revenue - gross_profit,
                    "inventory": inventory,
                    "trade_receivables": receivables,
                    "cash": cash,
                    "short_term_debt": short_term_debt,
                    "provisions": provisions,
                    "prior_period_revenue": prior,
                }
            )
            previous_revenue[i] = revenue


def _month_end(year: int, month: int) -> date:
    return date.fromordinal(add_months(date(year, month, 1), 1).toordinal() - 1)


def _invoices(portfolio: Portfolio, rng: np.random.Generator, *, today: date) -> None:
    """Invoices month by month; lateness grows as health falls and before a default."""
    n, months = portfolio.buyers, portfolio.months
    rate = rng.lognormal(0.2, 0.5, n)  # invoices a month
    size = rng.lognormal(8.5, 1.0, n)
    habit = rng.normal(0.0, 4.0, n)  # some buyers always pay a bit late
    today_number = day_number(today)
    default_number = np.array(
        [day_number(day) if day else NEVER for day in portfolio.default_day], dtype=np.int64
    )
    default_month = np.array(
        [_month_index(portfolio, day) if day else 10**6 for day in portfolio.default_day]
    )
    buyers_parts, issue_parts, due_parts, amount_parts, paid_parts = [], [], [], [], []
    for t in range(months):
        month_number = day_number(portfolio.month_start(t))
        counts = rng.poisson(rate)
        counts[default_month <= t] = 0  # nobody sells to an insolvent buyer
        buyer = np.repeat(np.arange(n), counts)
        if not len(buyer):
            continue
        days_in_month = day_number(portfolio.month_start(t + 1)) - month_number
        issue = month_number + rng.integers(0, days_in_month, len(buyer))
        keep = issue <= today_number
        buyer, issue = buyer[keep], issue[keep]
        due = issue + portfolio.terms[buyer]
        h = portfolio.health[buyer, t]
        months_to_default = default_month[buyer] - t
        crunch = 25.0 * np.exp(-np.clip(months_to_default, 0, None) / 3.0)
        mean_late = 3.0 + 7.0 * np.exp(-0.8 * h) + habit[buyer] + crunch
        lateness = np.round(mean_late * rng.lognormal(0.0, 0.5, len(buyer)) - 6.0)
        paid = due + np.maximum(lateness, -(due - issue)).astype(np.int64)
        unpaid = (paid >= default_number[buyer]) | (paid > today_number)
        paid = np.where(unpaid, NEVER, paid)
        buyers_parts.append(buyer)
        issue_parts.append(issue)
        due_parts.append(due)
        amount_parts.append(np.round(size[buyer] * rng.lognormal(0.0, 0.6, len(buyer)), 2) + 1)
        paid_parts.append(paid)
    portfolio.invoice_buyer = np.concatenate(buyers_parts)
    portfolio.invoice_issue = np.concatenate(issue_parts)
    portfolio.invoice_due = np.concatenate(due_parts)
    portfolio.invoice_amount = np.concatenate(amount_parts)
    portfolio.invoice_paid = np.concatenate(paid_parts)


def _legal_events(portfolio: Portfolio, rng: np.random.Generator, *, today: date) -> None:
    n = portfolio.buyers
    for t in range(portfolio.months):
        month = portfolio.month_start(t)
        p = _sigmoid(EVENT_A - EVENT_B * portfolio.health[:, t])
        hits = np.flatnonzero(rng.random(n) < p).tolist()
        changes = np.flatnonzero(rng.random(n) < 0.0015).tolist()
        for i, kind in [(i, str(rng.choice(NEGATIVE_EVENTS))) for i in hits] + [
            (i, "management_change") for i in changes
        ]:
            day = month.replace(day=int(rng.integers(1, 29)))
            default = portfolio.default_day[i]
            if day <= today and (default is None or day < default):
                portfolio.legal_events.append((i, kind, day))
    for i, default_day in enumerate(portfolio.default_day):
        if default_day is not None:
            portfolio.legal_events.append((i, "insolvency_proceedings", default_day))
