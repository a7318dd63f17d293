"""Buyer scoring model ``cg-2026.2``: a transparent scorecard, one buyer or a whole portfolio.

Pure: no Django, no database. `score_buyer` scores one `BuyerRiskInputs`; `score_frame` scores
a DataFrame with one row per buyer (the columns of `FRAME_COLUMNS`) and is what the monthly
re-scoring uses. Both run the same vectorised arithmetic (`_score_arrays`), so they agree to the
cent; `tests/monitoring/test_scoring.py` checks it.

How a score is made
-------------------
Every factor turns its measurement into a *goodness* between 0 (worst) and 1 (best) along a
fixed piecewise-linear curve (the ``*_CURVE`` constants), and contributes
``points = weight × (goodness − 0.5)``: a factor at its neutral middle adds nothing, at its best
``+weight/2``, at its worst ``−weight/2``. The weights add up to 100, so

    score = clip(50 + Σ points − legal-event penalties, 0, 100)        (100 = safest)

Factors and weights (points range in brackets):

=====================  ======  =================================================================
financial_strength       28    Altman Z'' of the latest statement [−14, +14]; statement older
                               than 18 months: weight halved to 14
payment_behaviour        18    amount-weighted days beyond terms, last 12 months [−9, +9]
overdue_share            10    overdue / exposure [−5, +5]
severe_arrears            8    more than 90 days past due / exposure [−4, +4]
broken_payment_plans      6    plans broken in the last 12 months [−3, +3]
disputes                  4    open disputes / exposure and disputes opened in 90 days [−2, +2]
country_risk             16    country rating 1–10 [−8, +8]
sector_risk              10    NACE section rating 1–10 [−5, +5]
legal_events           (−30)   penalties only: judgment −10, tax lien −8, reported payment
                               default −12, management change −2, other −3; half after 12
                               months, ignored after 24; at most −30 in total
=====================  ======  =================================================================

Missing is neutral (since ``cg-2026.2``)
---------------------------------------
Every factor tells "no data" from "good data". Unknown inputs are None (NaN in a frame), never 0.
A factor without data takes the neutral middle of its curve (goodness 0.5), so it carries
**0 points**, and its explanation says what is missing:

- no financial statement, or one without positive total assets → financial strength 0 points,
  "No financial statement on file ...";
- no payment history (no paid or open invoices in the last 12 months: ``days_beyond_terms`` is
  None) → payment behaviour 0 points; ``broken_plans_12m`` and ``disputes_opened_90d`` are None
  too (the risk-input query only reports 0 for buyers with payment history, or the real count
  when plans or disputes exist), so broken payment plans and disputes carry 0 points, and the
  explanation of those factors and of the exposure shares says "No payment history ...";
- payment history but no open receivables → overdue share and severe arrears 0 points
  ("No open receivables ..."); disputes then scores the disputes opened in 90 days alone;
- no country or sector rating in force → 0 points, with a note.

Why 0 points and not re-weighting the known factors: re-weighting would scale up what is known,
so a buyer with one good factor and nothing else would gain more than a buyer whose every factor
is known and good; missing data would again be rewarded. With 0 points each factor's points stay
on the same scale for every buyer and the explanation still adds up to the score.

Invariant (tested in ``tests/monitoring/test_missing_is_neutral.py``): replacing any factor's
measurement by "unknown" gives exactly the points of a measurement at the neutral middle of its
curve. So a buyer without any data scores exactly 50 (grade 6) before legal events, the same as a
buyer whose every factor is average, never more; and a buyer with good data scores above it.
Scores of ``cg-2026.1`` (missing statement −2.8 points; missing payment history +3 for "no broken
plans" and +2 for "no disputes"; missing rating taken as 5, about +0.9 / +0.6) keep their model
version and factors as stored, so history stays explainable.

Altman Z'' (Altman 1995, non-manufacturers and emerging markets):
``Z'' = 6.56·WC/TA + 3.26·RE/TA + 6.72·EBIT/TA + 1.05·BookEquity/TL`` with
WC = current assets − current liabilities; zones: distress < 1.10, grey 1.10–2.60, safe > 2.60.
A statement with total assets ≤ 0 cannot be scored and counts as missing.

Default and insolvency override the scorecard: a buyer whose status is *insolvent* or with
insolvency proceedings opened in the last 24 months scores 0 (grade 10, PD 100 %: the default
has happened); an insolvency filing (a petition that may still be dismissed) caps the score at
10 (grade 10, PD 50 %). An extra factor ``insolvency`` then carries the difference in points.

Grades come from fixed score bands (`GRADE_BANDS`), the 12-month probability of default from
`PD_BY_GRADE`: an expert calibration, roughly doubling per grade and anchored on published
corporate default rates, to be back-tested against recorded defaults and claims before it is
trusted:

=====  ===========  ========  ==========================
grade  score        12m PD    roughly like
=====  ===========  ========  ==========================
1      85–100       0.05 %    AA
2      75–85        0.10 %    A
3      67–75        0.20 %    BBB+
4      60–67        0.40 %    BBB−
5      53–60        0.80 %    BB+
6      46–53        1.6 %     BB−
7      38–46        3.5 %     B+
8      30–38        8 %       B−
9      20–30        20 %      CCC
10     0–20         50 %      CC; 100 % when in default
=====  ===========  ========  ==========================

Factors
-------
Each factor is a JSON-ready dict, the shape the UI and the API code against::

    {"factor": "financial_strength", "label": "Financial strength", "points": 6.12,
     "weight": 28.0, "value": 2.95, "message": "Altman Z'' score of %(z_score)s ...",
     "params": {"z_score": 2.95, "age_months": 9}}

``value`` is the measurement in the unit the message uses (Z'' score, days, percent of exposure,
count, rating) or None when there is nothing to measure. ``message`` is an English msgid with
``%(name)s`` placeholders; render it with ``gettext(factor["message"]) % factor["params"]``.
Messages and labels are marked with `gettext_noop` so ``makemessages`` extracts them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import TypeAlias, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd

from creditguard.i18n import gettext_noop

MODEL_VERSION = "cg-2026.2"

JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"
# One value per buyer: a measurement (NaN when unknown), or an index such as a grade.
Floats: TypeAlias = npt.NDArray[np.float64]
Integers: TypeAlias = npt.NDArray[np.int_]
# A `legal_events` cell of a frame: (kind, event_date) pairs, or None or NaN for none.
LegalEventsCell: TypeAlias = "Sequence[tuple[str, date]] | float | None"


# --- Inputs ------------------------------------------------------------------------------------

INSOLVENT_STATUS = "insolvent"
INSOLVENCY_FILING = "insolvency_filing"
INSOLVENCY_PROCEEDINGS = "insolvency_proceedings"


@dataclass(frozen=True)
class StatementFigures:
    """The figures of one financial statement that Altman Z'' needs (one currency)."""

    total_assets: Decimal
    current_assets: Decimal
    current_liabilities: Decimal
    total_liabilities: Decimal
    retained_earnings: Decimal
    ebit: Decimal
    equity: Decimal


@dataclass(frozen=True)
class BuyerRiskInputs:
    """Everything the model looks at for one buyer, measured at ``as_of``.

    Shares are fractions of the exposure (0.25 = 25 %), None when there is no exposure. Every
    None means "unknown" and makes its factor neutral (0 points); 0 means "measured: none".
    ``legal_events`` are ``(kind, event_date)`` pairs, kinds as in ``LegalEvent.Kind``; events
    older than 24 months or after ``as_of`` are ignored.
    """

    as_of: date
    statement: StatementFigures | None = None
    statement_age_months: int | None = None
    days_beyond_terms: Decimal | None = None
    overdue_share: Decimal | None = None
    over_90_share: Decimal | None = None
    broken_plans_12m: int | None = None  # None: no payment history, nothing to count
    disputed_share: Decimal | None = None
    disputes_opened_90d: int | None = None  # None: no payment history
    country: str = ""
    country_rating: int | None = None
    sector: str = ""
    sector_rating: int | None = None
    legal_events: tuple[tuple[str, date], ...] = ()
    buyer_status: str = "active"


class Factor(TypedDict):
    """One factor contribution, as `BuyerScore.factors` stores it (see the module docstring)."""

    factor: str
    label: str
    weight: float
    message: str
    points: float
    value: float | None
    params: dict[str, JSON]


@dataclass(frozen=True)
class ScoreResult:
    score: Decimal  # 0–100, 2 decimals, 100 = safest
    grade: int  # 1 (best) … 10 (default)
    probability_of_default: Decimal  # 12-month PD as a fraction, 5 decimals
    factors: list[Factor]


STATEMENT_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(StatementFigures))
# The columns `score_frame` reads: statement figures flattened (NaN when there is no statement),
# then every other field of BuyerRiskInputs under its own name.
FRAME_COLUMNS: tuple[str, ...] = (
    "as_of",
    *STATEMENT_COLUMNS,
    *(field.name for field in fields(BuyerRiskInputs) if field.name not in ("as_of", "statement")),
)
# The chosen statement's other figures, which `monitoring.rescoring.buyer_risk_frame` adds to
# its frame (float, NaN when not given) for the model lab's ratios. `score_frame` does not read
# them (it reads `FRAME_COLUMNS` and ignores any other column).
STATEMENT_DETAIL_COLUMNS: tuple[str, ...] = (
    "revenue",
    "net_income",
    "period_months",
    "interest_expense",
    "gross_profit",
    "depreciation_amortisation",
    "cost_of_sales",
    "inventory",
    "trade_receivables",
    "cash",
    "short_term_debt",
    "provisions",
    "prior_period_revenue",
)

# --- Model parameters --------------------------------------------------------------------------

WEIGHTS: dict[str, float] = {
    "financial_strength": 28.0,
    "payment_behaviour": 18.0,
    "overdue_share": 10.0,
    "severe_arrears": 8.0,
    "broken_payment_plans": 6.0,
    "disputes": 4.0,
    "country_risk": 16.0,
    "sector_risk": 10.0,
}
NEUTRAL = 0.5
BASE_SCORE = 50.0

# Curves: (measurement knots, ascending; goodness at each knot). Linear in between, flat outside.
Z_CURVE = ((-2.0, 0.0, 1.10, 2.60, 4.0, 6.0), (0.0, 0.10, 0.35, 0.70, 0.90, 1.0))
DBT_CURVE = ((0.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0), (1.0, 0.85, 0.60, 0.35, 0.15, 0.05, 0.0))
OVERDUE_CURVE = ((0.0, 0.10, 0.25, 0.50, 0.80), (1.0, 0.75, 0.50, 0.20, 0.0))
SEVERE_ARREARS_CURVE = ((0.0, 0.05, 0.15, 0.30), (1.0, 0.60, 0.30, 0.0))
BROKEN_PLANS_CURVE = ((0.0, 1.0, 2.0, 3.0), (1.0, 0.30, 0.10, 0.0))
DISPUTED_SHARE_CURVE = ((0.0, 0.05, 0.20, 0.50), (1.0, 0.70, 0.30, 0.0))
DISPUTE_COUNT_CURVE = ((0.0, 1.0, 3.0, 6.0), (1.0, 0.70, 0.30, 0.0))

Z_DISTRESS_BELOW = 1.10
Z_SAFE_ABOVE = 2.60
STALE_STATEMENT_MONTHS = 18
STALE_WEIGHT_FACTOR = 0.5
EQUITY_TO_LIABILITIES_CAP = 10.0  # BookEquity/TL when a statement shows no liabilities

LEGAL_EVENT_PENALTIES: dict[str, float] = {
    "court_judgment": 10.0,
    "tax_lien": 8.0,
    "payment_default": 12.0,
    "management_change": 2.0,
    "other": 3.0,
}
LEGAL_EVENT_MAX_PENALTY = 30.0
LEGAL_EVENT_FULL_DAYS = 365  # full penalty within 12 months, half up to 24 months
LEGAL_EVENT_WINDOW_DAYS = 730
FILING_SCORE_CAP = 10.0

# (grade, lowest score of the band); a score belongs to the first band whose floor it reaches.
GRADE_BANDS: tuple[tuple[int, float], ...] = (
    (1, 85.0),
    (2, 75.0),
    (3, 67.0),
    (4, 60.0),
    (5, 53.0),
    (6, 46.0),
    (7, 38.0),
    (8, 30.0),
    (9, 20.0),
    (10, 0.0),
)
PD_BY_GRADE: dict[int, Decimal] = {
    1: Decimal("0.00050"),
    2: Decimal("0.00100"),
    3: Decimal("0.00200"),
    4: Decimal("0.00400"),
    5: Decimal("0.00800"),
    6: Decimal("0.01600"),
    7: Decimal("0.03500"),
    8: Decimal("0.08000"),
    9: Decimal("0.20000"),
    10: Decimal("0.50000"),
}
PD_DEFAULTED = Decimal("1.00000")

# --- Labels and messages (English msgids) ------------------------------------------------------

LABELS: dict[str, str] = {
    "financial_strength": gettext_noop("Financial strength"),
    "payment_behaviour": gettext_noop("Days beyond terms"),
    "overdue_share": gettext_noop("Overdue share"),
    "severe_arrears": gettext_noop("More than 90 days past due"),
    "broken_payment_plans": gettext_noop("Broken payment plans"),
    "disputes": gettext_noop("Disputes"),
    "country_risk": gettext_noop("Country risk"),
    "sector_risk": gettext_noop("Sector risk"),
    "legal_events": gettext_noop("Legal events"),
    "insolvency": gettext_noop("Insolvency"),
}

MSG_Z_SAFE = gettext_noop("Altman Z'' score of %(z_score)s is in the safe zone (above 2.60).")
MSG_Z_GREY = gettext_noop("Altman Z'' score of %(z_score)s is in the grey zone (1.10 to 2.60).")
MSG_Z_DISTRESS = gettext_noop(
    "Altman Z'' score of %(z_score)s is in the distress zone (below 1.10)."
)
MSG_Z_SAFE_STALE = gettext_noop(
    "Altman Z'' score of %(z_score)s is in the safe zone (above 2.60), but the statement is "
    "%(age_months)s months old, so its weight is halved."
)
MSG_Z_GREY_STALE = gettext_noop(
    "Altman Z'' score of %(z_score)s is in the grey zone (1.10 to 2.60), but the statement is "
    "%(age_months)s months old, so its weight is halved."
)
MSG_Z_DISTRESS_STALE = gettext_noop(
    "Altman Z'' score of %(z_score)s is in the distress zone (below 1.10), but the statement "
    "is %(age_months)s months old, so its weight is halved."
)
MSG_NO_STATEMENT = gettext_noop("No financial statement on file: no points either way.")
MSG_UNUSABLE_STATEMENT = gettext_noop(
    "The latest financial statement shows no positive total assets and cannot be scored: no "
    "points either way."
)
MSG_DBT = gettext_noop("Pays on average %(days)s days beyond terms (last 12 months).")
MSG_NO_PAYMENT_HISTORY = gettext_noop(
    "No payment history (no paid or open invoices in the last 12 months): no points either way."
)
MSG_OVERDUE = gettext_noop("%(percent)s%% of the exposure is overdue.")
MSG_SEVERE_ARREARS = gettext_noop("%(percent)s%% of the exposure is more than 90 days past due.")
MSG_NO_EXPOSURE = gettext_noop("No open receivables: no points either way.")
MSG_BROKEN_PLANS = gettext_noop("Broken payment plans in the last 12 months: %(count)s.")
MSG_DISPUTES = gettext_noop(
    "Open disputes: %(percent)s%% of the exposure; disputes opened in the last 90 days: %(count)s."
)
MSG_DISPUTES_NO_EXPOSURE = gettext_noop("Disputes opened in the last 90 days: %(count)s.")
MSG_COUNTRY = gettext_noop("Country risk rating %(rating)s of 10 (%(country)s).")
MSG_COUNTRY_UNKNOWN = gettext_noop("No country risk rating for %(country)s: no points either way.")
MSG_SECTOR = gettext_noop("Sector risk rating %(rating)s of 10 (NACE section %(section)s).")
MSG_SECTOR_UNKNOWN = gettext_noop(
    "No sector risk rating for NACE section %(section)s: no points either way."
)
# Messages of cg-2026.1 that cg-2026.2 replaced: stored scores still name them, so they stay
# marked for translation and render in the user's language on the score history.
CG_2026_1_MESSAGES = (
    gettext_noop("No financial statement on file."),
    gettext_noop(
        "The latest financial statement shows no positive total assets and cannot be scored."
    ),
    gettext_noop("No paid or open invoices in the last 12 months."),
    gettext_noop("No open receivables."),
    gettext_noop("No country risk rating for %(country)s; a medium rating (5) is assumed."),
    gettext_noop(
        "No sector risk rating for NACE section %(section)s; a medium rating (5) is assumed."
    ),
)
MSG_NO_LEGAL_EVENTS = gettext_noop("No legal events in the last 24 months.")
MSG_LEGAL_EVENTS = gettext_noop(
    "Legal events in the last 24 months: %(count)s, the latest on %(latest_date)s."
)
MSG_INSOLVENT_STATUS = gettext_noop("The buyer is insolvent: default (grade 10).")
MSG_INSOLVENCY_PROCEEDINGS = gettext_noop(
    "Insolvency proceedings were opened on %(date)s: default (grade 10)."
)
MSG_INSOLVENCY_FILING = gettext_noop(
    "An insolvency filing was reported on %(date)s: grade 10 until it is dismissed."
)

# --- Public entry points -----------------------------------------------------------------------


def altman_z_double_prime(
    *,
    total_assets: float | Decimal,
    current_assets: float | Decimal,
    current_liabilities: float | Decimal,
    total_liabilities: float | Decimal,
    retained_earnings: float | Decimal,
    ebit: float | Decimal,
    equity: float | Decimal,
) -> float:
    """Altman Z'' of one statement (total assets must be positive)."""
    if total_assets <= 0:
        raise ValueError("total assets must be positive")
    figures = (
        total_assets,
        current_assets,
        current_liabilities,
        total_liabilities,
        retained_earnings,
        ebit,
        equity,
    )
    return float(_z_double_prime(*(np.array([float(value)]) for value in figures))[0])


def grade_for_score(score: float | Decimal) -> int:
    """The grade whose band holds ``score`` (0–100)."""
    return int(_grades(np.array([float(score)]))[0])


def score_buyer(
    inputs: BuyerRiskInputs, *, pd_by_grade: Mapping[int, Decimal] | None = None
) -> ScoreResult:
    """Score one buyer: the arithmetic of `score_frame` on one-element columns (no pandas)."""
    columns = {
        name: np.array([_float(getattr(inputs.statement, name, None))])
        for name in STATEMENT_COLUMNS
    }
    for name in _NUMERIC_COLUMNS[len(STATEMENT_COLUMNS) :]:
        columns[name] = np.array([_float(getattr(inputs, name))])
    scored = _score_arrays(
        columns,
        codes={name: [getattr(inputs, name)] for name in ("country", "sector", "buyer_status")},
        legal_events=[inputs.legal_events],
        as_of=[inputs.as_of],
        pd_by_grade=pd_by_grade,
    )
    return ScoreResult(
        score=Decimal(f"{scored.score[0]:.2f}"),
        grade=int(scored.grade[0]),
        probability_of_default=Decimal(f"{scored.probability_of_default[0]:.5f}"),
        factors=json.loads(scored.factors[0]),
    )


def inputs_frame(
    inputs: Sequence[BuyerRiskInputs], *, index: Sequence[object] | None = None
) -> pd.DataFrame:
    """`BuyerRiskInputs` as the frame `score_frame` takes, one row each."""
    rows = []
    for item in inputs:
        row: dict[str, object] = {"as_of": item.as_of}
        for name in STATEMENT_COLUMNS:
            row[name] = _float(getattr(item.statement, name)) if item.statement else math.nan
        for field in fields(BuyerRiskInputs):
            if field.name not in ("as_of", "statement"):
                value = getattr(item, field.name)
                row[field.name] = _float(value) if isinstance(value, Decimal) else value
        rows.append(row)
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS), index=index)


def score_frame(
    frame: pd.DataFrame, *, pd_by_grade: Mapping[int, Decimal] | None = None
) -> pd.DataFrame:
    """Score every row of ``frame`` (columns `FRAME_COLUMNS`; the index is kept).

    ``pd_by_grade`` (grade → 12-month PD, e.g. the tenant's active calibration,
    `monitoring.calibration.pd_table`) replaces `PD_BY_GRADE`; see `probabilities_of_default`.

    Numeric columns may hold NaN or None for "unknown"; ``legal_events`` holds a sequence of
    ``(kind, event_date)`` pairs, or None. Returns the columns ``score`` (float, 2 decimals),
    ``grade`` (int), ``probability_of_default`` (float, 5 decimals) and ``factors``: the
    factor list as JSON text, exactly what ``BuyerScore.factors`` stores (`json.loads` gives
    the dicts). Building the text directly instead of dicts keeps a 100,000-buyer portfolio
    well under a second here.
    """
    missing = [name for name in FRAME_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"score_frame: missing columns {missing}")
    columns: dict[str, Floats] = {name: _numeric(frame[name]) for name in _NUMERIC_COLUMNS}
    scored = _score_arrays(
        columns,
        codes={name: frame[name].tolist() for name in ("country", "sector", "buyer_status")},
        legal_events=frame["legal_events"].tolist(),
        as_of=frame["as_of"].tolist(),
        pd_by_grade=pd_by_grade,
    )
    return pd.DataFrame(
        {
            "score": scored.score,
            "grade": scored.grade,
            "probability_of_default": scored.probability_of_default,
            "factors": scored.factors,
        },
        index=frame.index,
    )


# --- The arithmetic, on whole columns ----------------------------------------------------------

_NUMERIC_COLUMNS: tuple[str, ...] = (
    *STATEMENT_COLUMNS,
    "statement_age_months",
    "days_beyond_terms",
    "overdue_share",
    "over_90_share",
    "broken_plans_12m",
    "disputed_share",
    "disputes_opened_90d",
    "country_rating",
    "sector_rating",
)


@dataclass(frozen=True)
class _Scored:
    score: Floats
    grade: Integers
    probability_of_default: Floats
    factors: list[str]


@dataclass(frozen=True)
class _FactorColumn:
    """One factor for every row: points, which message applies, value and params as JSON."""

    name: str
    points: Floats
    variant: Integers  # index into `templates`
    templates: tuple[tuple[str, float], ...]  # (message, weight) per variant
    values: list[str]
    params: list[str]

    def json_fragments(self) -> list[str]:
        prefixes = [
            f'{{"factor":{_text_json(self.name)},"label":{_text_json(LABELS[self.name])},'
            f'"weight":{weight!r},"message":{_text_json(message)},"points":'
            for message, weight in self.templates
        ]
        return [
            f'{prefixes[variant]}{points},"value":{value},"params":{params}}}'
            for variant, points, value, params in zip(
                self.variant.tolist(),
                _numbers(self.points, 2),
                self.values,
                self.params,
                strict=True,
            )
        ]


def _float(value: Decimal | float | None) -> float:
    return math.nan if value is None else float(value)


def _numeric(series: pd.Series) -> Floats:
    numbers: Floats = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return numbers


def _numbers(values: Floats, digits: int) -> list[str]:
    """JSON numbers rounded to ``digits`` (NaN → null; + 0.0 turns −0.0 into 0.0)."""
    rounded = np.round(values, digits) + 0.0
    return ["null" if number != number else repr(number) for number in rounded.tolist()]


def _integers(values: Floats) -> list[str]:
    return ["null" if number != number else str(int(number)) for number in values.tolist()]


def _curve(values: Floats, curve: tuple[tuple[float, ...], tuple[float, ...]]) -> Floats:
    knots, goodness = curve
    return np.interp(values, knots, goodness)


def _points(weight: Floats | float, goodness: Floats) -> Floats:
    return weight * (goodness - NEUTRAL)


# Altman Z'' = Σ coefficient × ratio, ratios in the order of `altman_ratios`.
Z_COEFFICIENTS = (6.56, 3.26, 6.72, 1.05)


def _z_double_prime(
    total_assets: Floats,
    current_assets: Floats,
    current_liabilities: Floats,
    total_liabilities: Floats,
    retained_earnings: Floats,
    ebit: Floats,
    equity: Floats,
) -> Floats:
    ratios = altman_ratios(
        total_assets,
        current_assets,
        current_liabilities,
        total_liabilities,
        retained_earnings,
        ebit,
        equity,
    )
    coefficients = Z_COEFFICIENTS
    z_score: Floats = (
        coefficients[0] * ratios[0]
        + coefficients[1] * ratios[1]
        + coefficients[2] * ratios[2]
        + coefficients[3] * ratios[3]
    )
    return z_score


def altman_ratios(
    total_assets: Floats,
    current_assets: Floats,
    current_liabilities: Floats,
    total_liabilities: Floats,
    retained_earnings: Floats,
    ebit: Floats,
    equity: Floats,
) -> tuple[Floats, Floats, Floats, Floats]:
    """The four ratios of Altman Z'' on whole columns: WC/TA, RE/TA, EBIT/TA, BookEquity/TL
    (total assets must be positive where the result is used)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        working_capital_to_assets = (current_assets - current_liabilities) / total_assets
        retained_earnings_to_assets = retained_earnings / total_assets
        ebit_to_assets = ebit / total_assets
        # A statement without liabilities has no finite BookEquity/TL; cap it, keeping the
        # term monotonic in equity.
        equity_to_liabilities = np.where(
            total_liabilities > 0,
            equity / np.where(total_liabilities > 0, total_liabilities, 1.0),
            np.where(equity > 0, EQUITY_TO_LIABILITIES_CAP, 0.0),
        )
    return (
        working_capital_to_assets,
        retained_earnings_to_assets,
        ebit_to_assets,
        equity_to_liabilities,
    )


def z_double_prime(
    total_assets: Floats,
    current_assets: Floats,
    current_liabilities: Floats,
    total_liabilities: Floats,
    retained_earnings: Floats,
    ebit: Floats,
    equity: Floats,
) -> Floats:
    """Altman Z'' on whole columns (see `altman_z_double_prime` for one statement)."""
    return _z_double_prime(
        total_assets,
        current_assets,
        current_liabilities,
        total_liabilities,
        retained_earnings,
        ebit,
        equity,
    )


def grades_for_scores(scores: Floats) -> Integers:
    """The grade of each score by `GRADE_BANDS` (whole columns; see `grade_for_score`)."""
    return _grades(scores)


def _grades(scores: Floats) -> Integers:
    floors = np.array([floor for _grade, floor in reversed(GRADE_BANDS)])  # ascending
    grades = np.array([grade for grade, _floor in reversed(GRADE_BANDS)])
    positions = np.searchsorted(floors, scores, side="right") - 1
    return grades[np.clip(positions, 0, len(grades) - 1)]


def _score_arrays(
    columns: Mapping[str, Floats],
    *,
    codes: Mapping[str, Sequence[object]],
    legal_events: Sequence[LegalEventsCell],
    as_of: Sequence[date],
    pd_by_grade: Mapping[int, Decimal] | None = None,
) -> _Scored:
    factor_columns = [
        _financial_strength(columns),
        _payment_behaviour(columns),
        *_exposure_shares(columns),
        _broken_payment_plans(columns),
        _disputes(columns),
        _rating(columns, codes, "country_risk"),
        _rating(columns, codes, "sector_risk"),
    ]
    legal = _legal_events(legal_events, as_of)
    scorecard = BASE_SCORE + sum(factor.points for factor in factor_columns) - legal.penalty
    clipped = np.clip(scorecard, 0.0, 100.0)

    override = insolvency_override(clipped, statuses=codes["buyer_status"], legal=legal)
    defaulted, filed = override.defaulted, override.filed
    score = np.round(override.score, 2) + 0.0
    grade = np.where(defaulted | filed, 10, _grades(score))
    probability = probabilities_of_default(grade, defaulted, pd_by_grade)

    fragments = [factor.json_fragments() for factor in factor_columns]
    fragments.append(legal.fragments)
    factors = ["[" + ",".join(row) + "]" for row in zip(*fragments, strict=True)]
    for row, insolvency_factor in override.factors.items():
        factors[row] = factors[row][:-1] + "," + insolvency_factor + "]"
    return _Scored(
        score=score,
        grade=grade.astype(int),
        probability_of_default=np.round(probability, 5),
        factors=factors,
    )


def probabilities_of_default(
    grade: Integers,
    defaulted: npt.NDArray[np.bool_],
    pd_by_grade: Mapping[int, Decimal] | None = None,
) -> Floats:
    """The 12-month PD of each row: `PD_DEFAULTED` for a buyer in default (the insolvency
    override), else its grade's PD from ``pd_by_grade`` (default `PD_BY_GRADE`); grades the
    table lacks keep `PD_BY_GRADE`'s."""
    table = {**PD_BY_GRADE, **(pd_by_grade or {})}
    by_grade = np.array([math.nan, *(float(table[g]) for g in range(1, 11))])
    probability: Floats = np.where(defaulted, float(PD_DEFAULTED), by_grade[grade])
    return probability


def _financial_strength(columns: Mapping[str, Floats]) -> _FactorColumn:
    statement = [columns[name] for name in STATEMENT_COLUMNS]
    present = ~np.isnan(np.column_stack(statement)).any(axis=1)
    usable = present & (np.nan_to_num(columns["total_assets"], nan=0.0) > 0)
    z_score = np.where(usable, _z_double_prime(*statement), np.nan)
    z_shown = np.round(z_score, 2)
    age = columns["statement_age_months"]
    stale = usable & (np.nan_to_num(age, nan=0.0) > STALE_STATEMENT_MONTHS)
    weight = WEIGHTS["financial_strength"]
    stale_weight = weight * STALE_WEIGHT_FACTOR
    goodness = np.where(usable, _curve(z_score, Z_CURVE), NEUTRAL)
    points = _points(np.where(stale, stale_weight, weight), goodness)
    # Variants: 0–2 safe/grey/distress, 3–5 the same from a stale statement, 6 none, 7 unusable.
    zone = np.where(z_shown > Z_SAFE_ABOVE, 0, np.where(z_shown >= Z_DISTRESS_BELOW, 1, 2))
    variant = np.where(usable, zone + 3 * stale, np.where(present, 7, 6))
    templates = (
        (MSG_Z_SAFE, weight),
        (MSG_Z_GREY, weight),
        (MSG_Z_DISTRESS, weight),
        (MSG_Z_SAFE_STALE, stale_weight),
        (MSG_Z_GREY_STALE, stale_weight),
        (MSG_Z_DISTRESS_STALE, stale_weight),
        (MSG_NO_STATEMENT, weight),
        (MSG_UNUSABLE_STATEMENT, weight),
    )
    values = _numbers(z_score, 2)
    ages = _integers(np.floor(age))
    params = [
        f'{{"z_score":{value},"age_months":{months}}}' if is_usable else "{}"
        for value, months, is_usable in zip(values, ages, usable.tolist(), strict=True)
    ]
    return _FactorColumn("financial_strength", points, variant, templates, values, params)


def _payment_behaviour(columns: Mapping[str, Floats]) -> _FactorColumn:
    dbt = columns["days_beyond_terms"]
    known = ~np.isnan(dbt)
    points = _points(WEIGHTS["payment_behaviour"], np.where(known, _curve(dbt, DBT_CURVE), NEUTRAL))
    weight = WEIGHTS["payment_behaviour"]
    values = _numbers(dbt, 1)
    return _FactorColumn(
        "payment_behaviour",
        points,
        variant=np.where(known, 0, 1),
        templates=((MSG_DBT, weight), (MSG_NO_PAYMENT_HISTORY, weight)),
        values=values,
        params=[f'{{"days":{value}}}' if value != "null" else "{}" for value in values],
    )


def _exposure_shares(columns: Mapping[str, Floats]) -> list[_FactorColumn]:
    factors = []
    for name, column, curve, message in (
        ("overdue_share", "overdue_share", OVERDUE_CURVE, MSG_OVERDUE),
        ("severe_arrears", "over_90_share", SEVERE_ARREARS_CURVE, MSG_SEVERE_ARREARS),
    ):
        share = np.clip(columns[column], 0.0, 1.0)
        known = ~np.isnan(share)
        points = _points(WEIGHTS[name], np.where(known, _curve(share, curve), NEUTRAL))
        values = _numbers(share * 100, 1)
        # Variants: 0 measured, 1 payment history without open receivables, 2 no history.
        variant = np.where(known, 0, np.where(_has_payment_history(columns), 1, 2))
        factors.append(
            _FactorColumn(
                name,
                points,
                variant=variant,
                templates=(
                    (message, WEIGHTS[name]),
                    (MSG_NO_EXPOSURE, WEIGHTS[name]),
                    (MSG_NO_PAYMENT_HISTORY, WEIGHTS[name]),
                ),
                values=values,
                params=[f'{{"percent":{value}}}' if value != "null" else "{}" for value in values],
            )
        )
    return factors


def _has_payment_history(columns: Mapping[str, Floats]) -> npt.NDArray[np.bool_]:
    """Paid or open invoices in the last 12 months: the days beyond terms are measured."""
    known: npt.NDArray[np.bool_] = ~np.isnan(columns["days_beyond_terms"])
    return known


def _broken_payment_plans(columns: Mapping[str, Floats]) -> _FactorColumn:
    broken = np.maximum(columns["broken_plans_12m"], 0.0)
    known = ~np.isnan(broken)
    values = _integers(broken)
    weight = WEIGHTS["broken_payment_plans"]
    return _FactorColumn(
        "broken_payment_plans",
        _points(weight, np.where(known, _curve(broken, BROKEN_PLANS_CURVE), NEUTRAL)),
        variant=np.where(known, 0, 1),
        templates=((MSG_BROKEN_PLANS, weight), (MSG_NO_PAYMENT_HISTORY, weight)),
        values=values,
        params=[f'{{"count":{value}}}' if value != "null" else "{}" for value in values],
    )


def _disputes(columns: Mapping[str, Floats]) -> _FactorColumn:
    share = np.clip(columns["disputed_share"], 0.0, 1.0)
    share_known = ~np.isnan(share)
    opened = np.maximum(columns["disputes_opened_90d"], 0.0)
    # A known share means an exposure, i.e. payment history: an unknown count then is none.
    opened = np.where(share_known, np.nan_to_num(opened, nan=0.0), opened)
    count_known = ~np.isnan(opened)
    # The worse of the two measurements; the share alone when there is no exposure to share;
    # neutral when neither is known (no payment history).
    goodness = np.where(
        count_known,
        np.minimum(
            np.where(share_known, _curve(share, DISPUTED_SHARE_CURVE), 1.0),
            _curve(opened, DISPUTE_COUNT_CURVE),
        ),
        NEUTRAL,
    )
    values = _numbers(share * 100, 1)
    counts = _integers(opened)
    weight = WEIGHTS["disputes"]
    # Variants: 0 share and count, 1 count only (no exposure), 2 nothing known.
    variant = np.where(share_known, 0, np.where(count_known, 1, 2))
    return _FactorColumn(
        "disputes",
        _points(weight, goodness),
        variant=variant,
        templates=(
            (MSG_DISPUTES, weight),
            (MSG_DISPUTES_NO_EXPOSURE, weight),
            (MSG_NO_PAYMENT_HISTORY, weight),
        ),
        values=values,
        params=[
            f'{{"percent":{value},"count":{count}}}'
            if value != "null"
            else (f'{{"count":{count}}}' if count != "null" else "{}")
            for value, count in zip(values, counts, strict=True)
        ],
    )


_RATINGS = {
    "country_risk": ("country_rating", "country", "country", MSG_COUNTRY, MSG_COUNTRY_UNKNOWN),
    "sector_risk": ("sector_rating", "sector", "section", MSG_SECTOR, MSG_SECTOR_UNKNOWN),
}


def _rating(
    columns: Mapping[str, Floats], codes: Mapping[str, Sequence[object]], name: str
) -> _FactorColumn:
    rating_column, code_column, code_param, message, unknown_message = _RATINGS[name]
    rating = np.clip(np.round(columns[rating_column]), 1, 10)
    known = ~np.isnan(rating)
    values = _integers(rating)
    code_texts: dict[object, str] = {}
    params = []
    for code, value, is_known in zip(codes[code_column], values, known.tolist(), strict=True):
        if code not in code_texts:
            code_texts[code] = _text_json(code if isinstance(code, str) else "")
        if is_known:
            params.append(f'{{"{code_param}":{code_texts[code]},"rating":{value}}}')
        else:
            params.append(f'{{"{code_param}":{code_texts[code]}}}')
    weight = WEIGHTS[name]
    return _FactorColumn(
        name,
        _points(weight, np.where(known, (10.0 - rating) / 9.0, NEUTRAL)),
        variant=np.where(known, 0, 1),
        templates=((message, weight), (unknown_message, weight)),
        values=[
            value if is_known else "null" for value, is_known in zip(values, known, strict=True)
        ],
        params=params,
    )


@dataclass(frozen=True)
class _LegalColumn:
    penalty: Floats
    fragments: list[str]
    insolvency_kind: list[str | None]
    insolvency_date: list[str | None]


# Public for the trained scorecards of `monitoring.modellab`, which take legal events and the
# insolvency override exactly as this model does (one owner per rule).
LegalEventColumn: TypeAlias = _LegalColumn


def legal_event_column(
    legal_events: Sequence[LegalEventsCell], as_of: Sequence[date]
) -> LegalEventColumn:
    """Per row: the legal-event penalty points (0–30, positive), the ``legal_events`` factor as
    JSON text, and the latest insolvency filing or proceedings (kind and ISO date, or None)."""
    return _legal_events(legal_events, as_of)


@dataclass(frozen=True)
class InsolvencyOverride:
    """Default and insolvency override a scorecard's score (see the module docstring)."""

    score: Floats  # 0 in default, at most `FILING_SCORE_CAP` after a filing, else unchanged
    defaulted: npt.NDArray[np.bool_]  # grade 10, PD 100 %
    filed: npt.NDArray[np.bool_]  # a filing, not in default: grade 10
    factors: dict[int, str]  # row → the extra ``insolvency`` factor as JSON text


def insolvency_override(
    clipped: Floats, *, statuses: Sequence[object], legal: LegalEventColumn
) -> InsolvencyOverride:
    """Apply the override to ``clipped`` (scores 0–100) given the buyers' statuses and their
    `legal_event_column`; the ``insolvency`` factor carries the difference in points."""
    kinds = np.array(legal.insolvency_kind, dtype=object)
    defaulted = (np.array(statuses, dtype=object) == INSOLVENT_STATUS) | (
        kinds == INSOLVENCY_PROCEEDINGS
    )
    filed = (kinds == INSOLVENCY_FILING) & ~defaulted
    overridden: Floats = np.where(
        defaulted, 0.0, np.where(filed, np.minimum(clipped, FILING_SCORE_CAP), clipped)
    )
    factors: dict[int, str] = {}
    params: dict[str, JSON]
    for row in np.flatnonzero(defaulted | filed).tolist():
        if statuses[row] == INSOLVENT_STATUS:
            message, params = MSG_INSOLVENT_STATUS, {}
        elif defaulted[row]:
            message, params = MSG_INSOLVENCY_PROCEEDINGS, {"date": legal.insolvency_date[row]}
        else:
            message, params = MSG_INSOLVENCY_FILING, {"date": legal.insolvency_date[row]}
        factor = _factor_dict(
            "insolvency", float(overridden[row] - clipped[row]), 100.0, None, message, params
        )
        factors[row] = _text_json(factor)
    return InsolvencyOverride(overridden, defaulted, filed, factors)


def _legal_events(legal_events: Sequence[LegalEventsCell], as_of: Sequence[date]) -> _LegalColumn:
    """Penalties and the insolvency trigger; a Python loop, but only over rows with events."""
    count = len(as_of)
    penalty = np.zeros(count)
    none = _text_json(
        _factor_dict(
            "legal_events", 0.0, LEGAL_EVENT_MAX_PENALTY, 0, MSG_NO_LEGAL_EVENTS, {"count": 0}
        )
    )
    fragments = [none] * count
    kinds: list[str | None] = [None] * count
    dates: list[str | None] = [None] * count
    for row, events in enumerate(legal_events):
        if events is None or isinstance(events, float) or len(events) == 0:
            continue
        recent, row_penalty, filing, proceedings = _legal_row(events, as_of[row])
        if proceedings is not None:
            kinds[row], dates[row] = INSOLVENCY_PROCEEDINGS, proceedings
        elif filing is not None:
            kinds[row], dates[row] = INSOLVENCY_FILING, filing
        if not recent:
            continue
        penalty[row] = row_penalty
        params: dict[str, JSON] = {
            "count": len(recent),
            "latest_date": recent[0][1].isoformat(),
            "kinds": [kind for kind, _event_date in recent],
        }
        factor = _factor_dict(
            "legal_events",
            -row_penalty,
            LEGAL_EVENT_MAX_PENALTY,
            len(recent),
            MSG_LEGAL_EVENTS,
            params,
        )
        fragments[row] = _text_json(factor)
    return _LegalColumn(penalty, fragments, kinds, dates)


def _legal_row(
    events: Sequence[tuple[str, date]], as_of: date
) -> tuple[list[tuple[str, date]], float, str | None, str | None]:
    """(events of the last 24 months newest first, penalty, latest filing, latest proceedings)."""
    recent = sorted(
        (
            (kind, event_date)
            for kind, event_date in events
            if 0 <= (as_of - event_date).days <= LEGAL_EVENT_WINDOW_DAYS
        ),
        key=lambda event: event[1],
        reverse=True,
    )
    penalty = 0.0
    filing = proceedings = None
    for kind, event_date in recent:
        if kind == INSOLVENCY_PROCEEDINGS:
            proceedings = proceedings or event_date.isoformat()
        elif kind == INSOLVENCY_FILING:
            filing = filing or event_date.isoformat()
        else:
            full = LEGAL_EVENT_PENALTIES.get(kind, LEGAL_EVENT_PENALTIES["other"])
            penalty += full if (as_of - event_date).days <= LEGAL_EVENT_FULL_DAYS else full / 2
    return recent, min(penalty, LEGAL_EVENT_MAX_PENALTY), filing, proceedings


def _factor_dict(
    name: str,
    points: float,
    weight: float,
    value: float | int | None,
    message: str,
    params: dict[str, JSON],
) -> Factor:
    return {
        "factor": name,
        "label": LABELS[name],
        "weight": weight,
        "message": message,
        "points": round(points, 2) + 0.0,
        "value": value,
        "params": params,
    }


def _text_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
