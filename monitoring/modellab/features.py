"""The features a trained scorecard may use, measured from one risk frame.

Pure: no Django, no database. `feature_frame` turns the frame of
`monitoring.rescoring.buyer_risk_frame` (one row per buyer: `scoring.FRAME_COLUMNS` and the
statement detail columns `scoring.STATEMENT_DETAIL_COLUMNS`) into one numeric column per
feature of `FEATURES`, in the unit its label names (percentages as percent, days as days).

Missing is neutral here as in the built-in model: a feature that cannot be measured is NaN,
never 0, and a trained scorecard gives NaN 0 points ("No data"). What counts as unknown:

- statement ratios: no statement, a statement without positive total assets (as the built-in
  model), or a figure the ratio needs that the statement does not give (the optional figures:
  interest expense, gross profit, cost of sales, inventory, trade receivables, cash, short-term
  debt, prior-period revenue); a ratio over revenue needs positive revenue, the current and quick
  ratios positive current liabilities;
- payment behaviour: as the risk inputs report it (None without payment history; shares None
  without exposure);
- ratings: no country or sector rating in force.

Flows (EBIT, net income, revenue) cover ``period_months`` months: ratios of a flow to a stock
(return on assets, receivable days) are annualised; ratios of two flows (margins) need not be.
The Altman Z'' ratios are the built-in model's (`scoring.altman_ratios`), unannualised, so
``z_score`` here is exactly the Z'' the built-in model explains. Money figures are in the
statement's currency; only ``log_total_assets`` depends on it (a size measure, one currency per
tenant in practice).

The legal-event penalty is the built-in model's (`scoring.legal_event_column`, 0–30 points, 0
when there are none: "none" is a measurement here, not missing data). A trained scorecard bins
it like any feature, so its points replace the built-in penalty instead of adding to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from creditguard.i18n import gettext_noop

from .. import scoring
from ..scoring import Floats

INTEREST_COVERAGE_CAP = 100.0  # EBIT / interest: no interest to pay (and a profit) counts as this
RATIO_CAP = 1000.0  # ratios are clipped to ±this so one absurd statement cannot stretch a bin
DAYS_PER_MONTH = 365.0 / 12
Booleans = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Feature:
    """One feature: its column name, label and plain-language description (English msgids),
    and the decimals its value is shown with."""

    name: str
    label: str
    description: str
    digits: int = 2


FEATURES: tuple[Feature, ...] = (
    Feature(
        "z_score",
        gettext_noop("Altman Z''"),
        gettext_noop(
            "Altman Z'' of the latest statement known: 6.56·WC/TA + 3.26·RE/TA + 6.72·EBIT/TA "
            "+ 1.05·equity/TL. Below 1.10 is the distress zone, above 2.60 the safe zone."
        ),
    ),
    Feature(
        "working_capital_to_assets",
        gettext_noop("Working capital / total assets"),
        gettext_noop("Current assets minus current liabilities, over total assets (Z'' ratio 1)."),
        3,
    ),
    Feature(
        "retained_earnings_to_assets",
        gettext_noop("Retained earnings / total assets"),
        gettext_noop("Accumulated profits over total assets (Z'' ratio 2)."),
        3,
    ),
    Feature(
        "ebit_to_assets",
        gettext_noop("EBIT / total assets"),
        gettext_noop("Operating profit over total assets (Z'' ratio 3)."),
        3,
    ),
    Feature(
        "equity_to_liabilities",
        gettext_noop("Equity / total liabilities"),
        gettext_noop("Book equity over total liabilities (Z'' ratio 4)."),
        3,
    ),
    Feature(
        "current_ratio",
        gettext_noop("Current ratio"),
        gettext_noop("Current assets over current liabilities: can short-term debts be met?"),
    ),
    Feature(
        "quick_ratio",
        gettext_noop("Quick ratio"),
        gettext_noop("Current assets without inventory, over current liabilities."),
    ),
    Feature(
        "cash_to_assets",
        gettext_noop("Cash / total assets (%)"),
        gettext_noop("Cash in percent of total assets."),
        1,
    ),
    Feature(
        "liabilities_to_assets",
        gettext_noop("Total liabilities / total assets (%)"),
        gettext_noop("Leverage: total liabilities in percent of total assets."),
        1,
    ),
    Feature(
        "interest_coverage",
        gettext_noop("Interest coverage"),
        gettext_noop(
            "EBIT over interest expense: how many times the operating profit pays the interest "
            "(100 when there is no interest to pay)."
        ),
        1,
    ),
    Feature(
        "ebit_margin",
        gettext_noop("EBIT margin (%)"),
        gettext_noop("Operating profit in percent of revenue."),
        1,
    ),
    Feature(
        "net_margin",
        gettext_noop("Net margin (%)"),
        gettext_noop("Net income in percent of revenue."),
        1,
    ),
    Feature(
        "gross_margin",
        gettext_noop("Gross margin (%)"),
        gettext_noop("Gross profit (or revenue minus cost of sales) in percent of revenue."),
        1,
    ),
    Feature(
        "return_on_assets",
        gettext_noop("Return on assets (%)"),
        gettext_noop("Net income for a year in percent of total assets."),
        1,
    ),
    Feature(
        "revenue_growth",
        gettext_noop("Revenue growth (%)"),
        gettext_noop("Revenue against the prior period's revenue, in percent."),
        1,
    ),
    Feature(
        "receivable_days",
        gettext_noop("Receivable days"),
        gettext_noop("Trade receivables over a year's revenue, in days of sales."),
        0,
    ),
    Feature(
        "short_term_debt_to_assets",
        gettext_noop("Short-term debt / total assets (%)"),
        gettext_noop("Financial debt due within a year in percent of total assets."),
        1,
    ),
    Feature(
        "log_total_assets",
        gettext_noop("Size (log of total assets)"),
        gettext_noop("Natural logarithm of total assets: larger companies fail less often."),
        2,
    ),
    Feature(
        "statement_age_months",
        gettext_noop("Statement age (months)"),
        gettext_noop("Months between the end of the latest statement known and the score date."),
        0,
    ),
    Feature(
        "days_beyond_terms",
        gettext_noop("Days beyond terms"),
        gettext_noop("Amount-weighted days paid beyond terms over the last 12 months."),
        1,
    ),
    Feature(
        "overdue_share",
        gettext_noop("Overdue share (%)"),
        gettext_noop("Overdue receivables in percent of the exposure."),
        1,
    ),
    Feature(
        "over_90_share",
        gettext_noop("More than 90 days past due (%)"),
        gettext_noop("Receivables more than 90 days past due in percent of the exposure."),
        1,
    ),
    Feature(
        "broken_plans_12m",
        gettext_noop("Broken payment plans"),
        gettext_noop("Payment plans broken in the last 12 months."),
        0,
    ),
    Feature(
        "disputed_share",
        gettext_noop("Disputed share (%)"),
        gettext_noop("Open disputes in percent of the exposure."),
        1,
    ),
    Feature(
        "disputes_opened_90d",
        gettext_noop("Disputes opened (90 days)"),
        gettext_noop("Disputes opened in the last 90 days."),
        0,
    ),
    Feature(
        "country_rating",
        gettext_noop("Country risk rating"),
        gettext_noop("Country risk rating in force, 1 (lowest risk) to 10."),
        0,
    ),
    Feature(
        "sector_rating",
        gettext_noop("Sector risk rating"),
        gettext_noop("Sector (NACE section) risk rating in force, 1 (lowest risk) to 10."),
        0,
    ),
    Feature(
        "legal_penalty",
        gettext_noop("Legal events (penalty points)"),
        gettext_noop(
            "The built-in model's penalty for court judgments, tax liens, reported payment "
            "defaults and other legal events of the last 24 months (0 to 30)."
        ),
        1,
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURES_BY_NAME: dict[str, Feature] = {feature.name: feature for feature in FEATURES}


def feature_frame(risk_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per row of ``risk_frame`` (index kept), one float column per `FEATURES` entry
    in that order, NaN where the feature is unknown. Statement detail columns the frame does not
    carry count as unknown."""
    return measure(risk_frame)[0]


def measure(risk_frame: pd.DataFrame) -> tuple[pd.DataFrame, scoring.LegalEventColumn]:
    """`feature_frame` and the rows' `legal_events` (a scorecard needs both; one pass)."""
    rows = len(risk_frame)
    legal = legal_events(risk_frame)

    def column(name: str) -> Floats:
        if name not in risk_frame.columns:
            return np.full(rows, np.nan)
        numbers: Floats = pd.to_numeric(risk_frame[name], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        return numbers

    statement = [column(name) for name in scoring.STATEMENT_COLUMNS]
    total_assets = column("total_assets")
    # The built-in model's rule: a statement is usable when every Z'' figure is known and total
    # assets are positive.
    usable = ~np.isnan(np.column_stack(statement)).any(axis=1) & (
        np.nan_to_num(total_assets, nan=0.0) > 0
    )

    def known(values: Floats, condition: Booleans | None = None) -> Floats:
        mask = usable if condition is None else usable & condition
        return np.where(mask, np.clip(values, -RATIO_CAP, RATIO_CAP), np.nan)

    current_assets = column("current_assets")
    current_liabilities = column("current_liabilities")
    total_liabilities = column("total_liabilities")
    ebit = column("ebit")
    revenue = column("revenue")
    net_income = column("net_income")
    months = column("period_months")
    months = np.where(months > 0, months, 12.0)  # unknown or nonsense: a year
    interest = column("interest_expense")
    gross_profit = column("gross_profit")
    cost_of_sales = column("cost_of_sales")
    gross_profit = np.where(np.isnan(gross_profit), revenue - cost_of_sales, gross_profit)
    inventory = column("inventory")
    prior_revenue = column("prior_period_revenue")

    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = scoring.altman_ratios(*statement)
        z_score = scoring.z_double_prime(*statement)
        positive_current_liabilities = current_liabilities > 0
        positive_revenue = revenue > 0
        coverage = np.where(
            interest > 0,
            ebit / np.where(interest > 0, interest, 1.0),
            np.where((interest == 0) & (ebit > 0), INTEREST_COVERAGE_CAP, np.nan),
        )
        values: dict[str, Floats] = {
            "z_score": known(z_score),
            "working_capital_to_assets": known(ratios[0]),
            "retained_earnings_to_assets": known(ratios[1]),
            "ebit_to_assets": known(ratios[2]),
            "equity_to_liabilities": known(ratios[3]),
            "current_ratio": known(
                current_assets / current_liabilities, positive_current_liabilities
            ),
            "quick_ratio": known(
                (current_assets - inventory) / current_liabilities, positive_current_liabilities
            ),
            "cash_to_assets": known(column("cash") / total_assets * 100),
            "liabilities_to_assets": known(total_liabilities / total_assets * 100),
            "interest_coverage": known(
                np.clip(coverage, -INTEREST_COVERAGE_CAP, INTEREST_COVERAGE_CAP)
            ),
            "ebit_margin": known(ebit / revenue * 100, positive_revenue),
            "net_margin": known(net_income / revenue * 100, positive_revenue),
            "gross_margin": known(gross_profit / revenue * 100, positive_revenue),
            "return_on_assets": known(net_income * (12.0 / months) / total_assets * 100),
            "revenue_growth": known(
                (revenue / prior_revenue - 1) * 100, (prior_revenue > 0) & (revenue >= 0)
            ),
            "receivable_days": known(
                column("trade_receivables") / revenue * months * DAYS_PER_MONTH, positive_revenue
            ),
            "short_term_debt_to_assets": known(column("short_term_debt") / total_assets * 100),
            "log_total_assets": known(np.log(np.where(usable, total_assets, 1.0))),
            "statement_age_months": np.where(usable, column("statement_age_months"), np.nan),
        }
    values["days_beyond_terms"] = column("days_beyond_terms")
    values["overdue_share"] = np.clip(column("overdue_share"), 0.0, 1.0) * 100
    values["over_90_share"] = np.clip(column("over_90_share"), 0.0, 1.0) * 100
    values["broken_plans_12m"] = np.maximum(column("broken_plans_12m"), 0.0)
    values["disputed_share"] = np.clip(column("disputed_share"), 0.0, 1.0) * 100
    values["disputes_opened_90d"] = np.maximum(column("disputes_opened_90d"), 0.0)
    values["country_rating"] = column("country_rating")
    values["sector_rating"] = column("sector_rating")
    values["legal_penalty"] = legal.penalty
    frame = pd.DataFrame(
        {name: values[name] for name in FEATURE_NAMES}, index=risk_frame.index, dtype=float
    )
    return frame, legal


def legal_events(risk_frame: pd.DataFrame) -> scoring.LegalEventColumn:
    """`scoring.legal_event_column` of a risk frame (its ``legal_events`` and ``as_of``)."""
    return scoring.legal_event_column(
        risk_frame["legal_events"].tolist(), risk_frame["as_of"].tolist()
    )
