"""Receivables arithmetic for a buyer's credit file: aging, exposure, DSO, DBT, invoice and
payment-plan status, and plausibility checks and ratios for financial statements.

Pure functions on plain values (``Decimal`` money in one currency, ``datetime.date`` dates):
no Django, no database. Selectors turn model rows into `OpenItem`, `SettledItem` and
`Instalment` values and call these functions; converting currencies is the caller's job.

User-facing strings (bucket labels, problem messages) are English message ids marked with the
`gettext_noop` so ``makemessages`` extracts them; the caller translates them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from creditguard.i18n import gettext_noop

ZERO = Decimal("0")
CENT = Decimal("0.01")
ONE_DECIMAL = Decimal("0.1")
FOUR_DECIMALS = Decimal("0.0001")

# The parameters of the receivables rules. `buyers.ledger` states the same rules for the ORM
# and for SQL with these values; nothing else defines them.
OPEN_INVOICE_STATUSES: tuple[str, ...] = ("open", "partially_paid", "disputed")
DISPUTED_INVOICE_STATUS = "disputed"
PAID_INVOICE_STATUS = "paid"
DSO_PERIOD_DAYS = 90  # trailing window of credit sales for `dso`
DBT_LOOKBACK_DAYS = 365  # invoices paid this many days back count in `days_beyond_terms`
PAYMENT_PLAN_GRACE_DAYS = 5  # an instalment is missed this many days after its due date

# Django's NON_FIELD_ERRORS value; `form.add_error("__all__", ...)` attaches a form-wide error.
NON_FIELD = "__all__"


# --- Aging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingBucket:
    key: str
    label: str
    min_days: int  # days past due, inclusive
    max_days: int | None  # inclusive; None means no upper bound


AGING_BUCKETS: tuple[AgingBucket, ...] = (
    AgingBucket("current", gettext_noop("Current"), 0, 0),
    AgingBucket("1_30", gettext_noop("1-30 days"), 1, 30),
    AgingBucket("31_60", gettext_noop("31-60 days"), 31, 60),
    AgingBucket("61_90", gettext_noop("61-90 days"), 61, 90),
    AgingBucket("91_180", gettext_noop("91-180 days"), 91, 180),
    AgingBucket("over_180", gettext_noop("Over 180 days"), 181, None),
)
AGING_BUCKET_KEYS: tuple[str, ...] = tuple(bucket.key for bucket in AGING_BUCKETS)


@dataclass(frozen=True)
class OpenItem:
    """An unpaid (or partly paid) invoice: ``outstanding`` is amount minus paid amount."""

    due_date: date
    outstanding: Decimal
    disputed: bool = False


@dataclass(frozen=True)
class SettledItem:
    """A fully paid invoice; ``paid_date`` is the date the last payment settled it."""

    issue_date: date
    due_date: date
    paid_date: date
    amount: Decimal


def to_base(amount: Decimal, factor: Decimal) -> Decimal:
    """``amount`` times the currency's base-currency ``factor``, rounded to cents (half up).

    Every path converts each invoice on its own and sums the cents, so a buyer's figure is the
    same whether Python, the ORM or SQL adds it up (the SQL form is ``ROUND(x * factor, 2)``).
    """
    return (amount * factor).quantize(CENT, ROUND_HALF_UP)


def is_open_invoice(*, status: str, amount: Decimal, paid_amount: Decimal) -> bool:
    """Open: an open, partly paid or disputed invoice with something still to pay."""
    return status in OPEN_INVOICE_STATUSES and amount > paid_amount


def is_settled_for_dbt(*, status: str, paid_date: date | None, as_of: date) -> bool:
    """A paid invoice that counts in DBT: settled in the `DBT_LOOKBACK_DAYS` before ``as_of``."""
    return (
        status == PAID_INVOICE_STATUS
        and paid_date is not None
        and paid_date >= as_of - timedelta(days=DBT_LOOKBACK_DAYS)
    )


def counts_as_credit_sale(*, issue_date: date, as_of: date) -> bool:
    """Invoiced in the trailing `DSO_PERIOD_DAYS` window that `dso` divides by."""
    return issue_date >= as_of - timedelta(days=DSO_PERIOD_DAYS)


def days_past_due(*, due_date: date, as_of: date) -> int:
    """Whole days from ``due_date`` to ``as_of``; 0 on the due date and before it."""
    return max(0, (as_of - due_date).days)


def aging_bucket(days_past_due: int) -> str:
    """Key of the bucket for ``days_past_due``; a negative count (not yet due) is "current"."""
    for bucket in AGING_BUCKETS:
        if bucket.max_days is None or days_past_due <= bucket.max_days:
            return bucket.key
    raise AssertionError("unreachable: the last bucket has no upper bound")


def _is_open(item: OpenItem) -> bool:
    # An overpaid invoice (outstanding < 0) is a credit owed to the buyer, not a negative
    # receivable: netting it against other invoices would understate the risk, so it is ignored.
    return item.outstanding > 0


def aging(items: Iterable[OpenItem], *, as_of: date) -> dict[str, Decimal]:
    """Outstanding amounts by aging bucket, in `AGING_BUCKETS` order, every key present.

    Disputed items are included: they are still owed (the insurance cover is what they lose).
    """
    totals = dict.fromkeys(AGING_BUCKET_KEYS, ZERO)
    for item in items:
        if _is_open(item):
            key = aging_bucket(days_past_due(due_date=item.due_date, as_of=as_of))
            totals[key] += item.outstanding
    return totals


def exposure(items: Iterable[OpenItem]) -> Decimal:
    """Open receivables: the sum of positive outstanding amounts, disputed ones included."""
    return sum((item.outstanding for item in items if _is_open(item)), ZERO)


def overdue_amount(items: Iterable[OpenItem], *, as_of: date) -> Decimal:
    """Outstanding on items past due at ``as_of``; an item due today is not yet overdue."""
    return sum(
        (item.outstanding for item in items if _is_open(item) and item.due_date < as_of),
        ZERO,
    )


def disputed_amount(items: Iterable[OpenItem]) -> Decimal:
    """Outstanding on disputed items (uninsured until the dispute is settled)."""
    return sum((item.outstanding for item in items if _is_open(item) and item.disputed), ZERO)


# --- Days sales outstanding ------------------------------------------------------------------


def _check_receivables(receivables: Decimal) -> None:
    if receivables < 0:
        raise ValueError("receivables cannot be negative")


def dso(
    *, receivables: Decimal, credit_sales: Decimal, period_days: int = DSO_PERIOD_DAYS
) -> Decimal | None:
    """Days sales outstanding, standard ("simple") method over a trailing period.

    ``receivables / credit_sales * period_days``, where ``credit_sales`` is what was invoiced
    to the buyer over the trailing ``period_days`` (90 by default, i.e. about one quarter) and
    ``receivables`` the open balance at the end of that period. It is the method buyers'
    reports and most credit teams quote, needs only two totals, and a trailing window keeps it
    current without being as jumpy as a single month. Its weakness, seasonal or lumpy sales
    distorting the figure, is what `dso_count_back` addresses.

    Rounded to 1 decimal (half up). None when there were no credit sales in the period (or a
    net negative figure, e.g. credit notes only): DSO is then undefined, not zero.
    """
    _check_receivables(receivables)
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    if credit_sales <= 0:
        return None
    return (receivables * period_days / credit_sales).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def dso_count_back(
    *, receivables: Decimal, monthly_sales: Sequence[tuple[int, Decimal]]
) -> Decimal | None:
    """Days sales outstanding by the count-back method.

    ``monthly_sales`` is ``(days_in_month, credit_sales)`` per month, newest first. The open
    balance is used up against the newest month's sales, then the month before, and so on:
    every month it exhausts completely adds all of its days, the month where it runs out adds
    ``remaining / that month's sales * its days``. A month without sales adds all its days.

    Returns None when the receivables exceed all the sales given: the history is too short to
    explain the balance, and returning the total days would understate DSO without saying
    so; pass more months or show "more than N days". Rounded to 1 decimal (half up).
    """
    _check_receivables(receivables)
    remaining = receivables
    days = ZERO
    for days_in_month, sales in monthly_sales:
        if remaining == 0:
            break
        if days_in_month <= 0:
            raise ValueError("days_in_month must be positive")
        if sales < 0:
            raise ValueError("monthly sales cannot be negative")
        if remaining >= sales:
            days += days_in_month
            remaining -= sales
        else:
            days += remaining * days_in_month / sales  # divide last: no rounding before it
            remaining = ZERO
    if remaining > 0:
        return None
    return days.quantize(ONE_DECIMAL, ROUND_HALF_UP)


# --- Days beyond terms -----------------------------------------------------------------------


def days_beyond_terms(
    *,
    settled: Iterable[SettledItem] = (),
    open_items: Iterable[OpenItem] = (),
    as_of: date,
) -> Decimal | None:
    """Amount-weighted average days beyond terms (DBT), rounded to 1 decimal (half up).

    A paid invoice weighs its amount and counts ``paid_date - due_date`` days; an open item
    weighs its outstanding amount and counts its days past due at ``as_of`` so far (an
    unpaid invoice is at least that late, and leaving it out would reward not paying).
    Disputed open items count like the others.

    Early payment counts as 0 days, not negative: DBT measures lateness, and a buyer paying
    one invoice early has not made another one any less late, so early payments must not
    offset (hide) late ones. None when there is nothing with a positive weight.
    """
    weighted_days = ZERO
    total_weight = ZERO
    for paid in settled:
        if paid.amount > 0:
            late_days = max(0, (paid.paid_date - paid.due_date).days)
            weighted_days += paid.amount * late_days
            total_weight += paid.amount
    for item in open_items:
        if _is_open(item):
            weighted_days += item.outstanding * days_past_due(due_date=item.due_date, as_of=as_of)
            total_weight += item.outstanding
    if total_weight == 0:
        return None
    return (weighted_days / total_weight).quantize(ONE_DECIMAL, ROUND_HALF_UP)


# --- Invoice status --------------------------------------------------------------------------

INVOICE_STATUSES: tuple[str, ...] = ("open", "partially_paid", "paid", "disputed", "written_off")


def invoice_status(
    *, amount: Decimal, paid_amount: Decimal, disputed: bool, written_off: bool
) -> str:
    """Derived invoice status; precedence written_off > paid > disputed > partially_paid > open.

    Paid means ``paid_amount >= amount`` (overpayment included): a fully paid invoice is no
    longer disputed in any way that matters for exposure or insurance.
    """
    if written_off:
        return "written_off"
    if paid_amount >= amount:
        return "paid"
    if disputed:
        return "disputed"
    if paid_amount > 0:
        return "partially_paid"
    return "open"


# --- Payment plans ---------------------------------------------------------------------------

PAYMENT_PLAN_STATUSES: tuple[str, ...] = ("kept", "broken", "completed")


@dataclass(frozen=True)
class Instalment:
    """One instalment as known at the evaluation date; ``paid_date`` is when it was fully paid."""

    due_date: date
    amount: Decimal
    paid_amount: Decimal = ZERO
    paid_date: date | None = None

    @property
    def is_paid(self) -> bool:
        return self.paid_amount >= self.amount

    @property
    def remaining(self) -> Decimal:
        return max(ZERO, self.amount - self.paid_amount)


@dataclass(frozen=True)
class PaymentPlanSummary:
    total: Decimal
    paid: Decimal  # paid towards instalments, each capped at its amount: total = paid + outstanding
    outstanding: Decimal
    overdue: Decimal  # remaining on instalments whose due date has passed
    next_due_date: date | None  # earliest instalment not fully paid (may already be overdue)
    next_due_amount: Decimal | None  # what remains on that instalment
    status: str


def _check_plan(instalments: Sequence[Instalment], grace_days: int) -> None:
    if not instalments:
        raise ValueError("a payment plan needs at least one instalment")
    if grace_days < 0:
        raise ValueError("grace_days cannot be negative")


def payment_plan_status(
    instalments: Sequence[Instalment], *, as_of: date, grace_days: int = PAYMENT_PLAN_GRACE_DAYS
) -> str:
    """Return "completed", "broken" or "kept".

    - completed: every instalment is fully paid, even if some were paid late; nothing is
      owed any more and the lateness remains visible in DBT.
    - broken: something is still owed and an instalment was missed beyond the grace period,
      i.e. it is unpaid more than ``grace_days`` after its due date, or it was paid, but more
      than ``grace_days`` after its due date. Catching up late does not mend the plan: the
      default happened (that is when the creditor may call in the whole balance), and a
      status that flips back and forth would hide it.
    - kept: otherwise (nothing missed beyond grace, something still to pay).

    ``instalments`` describe the plan as known at ``as_of``. A paid instalment without a
    ``paid_date`` counts as paid on time, lateness cannot be shown.
    """
    _check_plan(instalments, grace_days)
    if all(instalment.is_paid for instalment in instalments):
        return "completed"
    grace = timedelta(days=grace_days)
    for instalment in instalments:
        deadline = instalment.due_date + grace
        if instalment.is_paid:
            if instalment.paid_date is not None and instalment.paid_date > deadline:
                return "broken"
        elif as_of > deadline:
            return "broken"
    return "kept"


def payment_plan_summary(
    instalments: Sequence[Instalment], *, as_of: date, grace_days: int = PAYMENT_PLAN_GRACE_DAYS
) -> PaymentPlanSummary:
    """Totals, the next instalment to pay and the status (see `payment_plan_status`).

    An overpaid instalment does not reduce the next one: allocating excess payments is the
    caller's decision, made before building the instalments.
    """
    status = payment_plan_status(instalments, as_of=as_of, grace_days=grace_days)
    total = sum((instalment.amount for instalment in instalments), ZERO)
    outstanding = sum((instalment.remaining for instalment in instalments), ZERO)
    overdue = sum(
        (instalment.remaining for instalment in instalments if instalment.due_date < as_of), ZERO
    )
    unpaid = sorted(
        (instalment for instalment in instalments if not instalment.is_paid),
        key=lambda instalment: instalment.due_date,
    )
    next_due = unpaid[0] if unpaid else None
    return PaymentPlanSummary(
        total=total,
        paid=total - outstanding,
        outstanding=outstanding,
        overdue=overdue,
        next_due_date=next_due.due_date if next_due else None,
        next_due_amount=next_due.remaining if next_due else None,
        status=status,
    )


# --- Financial statements --------------------------------------------------------------------


@dataclass(frozen=True)
class StatementProblem:
    """A plausibility problem on a financial statement.

    ``field`` is a statement field name or `NON_FIELD`; ``message`` an English msgid,
    possibly with ``%(name)s`` placeholders filled from ``params`` (a plain pair could not
    be translated once the amount is in it). The caller renders it with
    ``gettext(problem.message) % problem.params``; `text` is the English rendering.
    """

    field: str
    message: str
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    code: str = ""  # a stable name of the rule, e.g. "balance_gap" (kept with warnings)

    @property
    def text(self) -> str:
        return self.message % self.params if self.params else self.message


def rounding_tolerance(total: Decimal) -> Decimal:
    """What rounding of published figures explains: 0.5 % of `total`, at least 1 unit.

    Statements are rounded (often to thousands), so two figures that should nest (current
    within total) can cross by that much without either being wrong.
    """
    return max(Decimal("1"), abs(total) / 200)


# Figures that cannot be negative, in the order errors are reported; EBIT, net income, retained earnings, equity, interest
# expense, gross profit and depreciation may (losses, insolvency, reversals, net interest income).
_NON_NEGATIVE: tuple[tuple[str, str], ...] = (
    ("current_assets", gettext_noop("Current assets cannot be negative.")),
    ("total_liabilities", gettext_noop("Total liabilities cannot be negative.")),
    ("current_liabilities", gettext_noop("Current liabilities cannot be negative.")),
    ("revenue", gettext_noop("Revenue cannot be negative.")),
    ("cost_of_sales", gettext_noop("Cost of sales cannot be negative.")),
    ("inventory", gettext_noop("Inventory cannot be negative.")),
    ("trade_receivables", gettext_noop("Trade receivables cannot be negative.")),
    ("cash", gettext_noop("Cash cannot be negative.")),
    ("short_term_debt", gettext_noop("Short-term debt cannot be negative.")),
    ("provisions", gettext_noop("Provisions cannot be negative.")),
    ("prior_period_revenue", gettext_noop("Prior-period revenue cannot be negative.")),
)
# The warnings' messages by code: a stored warning is shown in the reader's language by code.
STATEMENT_WARNINGS: dict[str, str] = {
    "balance_gap": gettext_noop(
        "Total assets differ from total liabilities plus equity by %(gap)s "
        "(%(percent)s %% of total assets), e.g. provisions or accruals."
    ),
    "current_assets_above_total": gettext_noop(
        "Current assets exceed total assets by %(excess)s, within rounding."
    ),
    "current_liabilities_above_total": gettext_noop(
        "Current liabilities exceed total liabilities by %(excess)s, within rounding."
    ),
    "ratio_out_of_range": gettext_noop(
        "The %(ratio)s of %(value)s is outside %(low)s to %(high)s."
    ),
}
# (ratio, numerator, denominator, lowest plausible, highest plausible): outside the range the
# statement is kept but flagged; typical of a figure entered in the wrong unit or field.
_RATIO_RANGES: tuple[tuple[str, str, str, Decimal, Decimal], ...] = (
    ("EBIT margin", "ebit", "revenue", Decimal("-1"), Decimal("1")),
    ("net margin", "net_income", "revenue", Decimal("-1"), Decimal("1")),
    ("return on assets", "net_income", "total_assets", Decimal("-1"), Decimal("1")),
    ("current ratio", "current_assets", "current_liabilities", Decimal("0"), Decimal("50")),
)


def _percent(part: Decimal, whole: Decimal) -> str:
    return f"{(abs(part) * 100 / whole):.1f}" if whole > 0 else "-"


def financial_statement_checks(
    *,
    revenue: Decimal,
    ebit: Decimal,
    net_income: Decimal,
    total_assets: Decimal,
    current_assets: Decimal,
    current_liabilities: Decimal,
    total_liabilities: Decimal,
    retained_earnings: Decimal,
    equity: Decimal,
    optional: Mapping[str, Decimal | None] | None = None,
) -> tuple[list[StatementProblem], list[StatementProblem]]:
    """(errors, warnings) of one period's statement: the one place these rules live.

    Errors are values no real statement can have (negative total assets or revenue, current
    assets above total assets beyond rounding, ...): the statement is refused. Everything
    else a real balance sheet shows (provisions and accruals outside liabilities and equity,
    rounding, odd ratios) is a warning: the statement is kept with it (see
    `FinancialStatement.warnings`). `optional` holds the optional figures (None = not given).
    """
    figures: dict[str, Decimal | None] = {
        "revenue": revenue,
        "current_assets": current_assets,
        "total_liabilities": total_liabilities,
        "current_liabilities": current_liabilities,
        **(optional or {}),
    }
    errors: list[StatementProblem] = []
    warnings: list[StatementProblem] = []
    if total_assets <= 0:
        errors.append(
            StatementProblem(
                "total_assets", gettext_noop("Total assets must be greater than zero.")
            )
        )
    for name, message in _NON_NEGATIVE:
        value = figures.get(name)
        if value is not None and value < 0:
            errors.append(StatementProblem(name, message))
        # A part is compared with its whole only when both are possible (one error each).
        elif name == "current_assets" and total_assets > 0:
            _nesting(
                errors,
                warnings,
                part=(name, current_assets),
                whole=total_assets,
                code="current_assets_above_total",
                error=gettext_noop("Current assets cannot exceed total assets."),
                warning=STATEMENT_WARNINGS["current_assets_above_total"],
            )
        elif name == "current_liabilities" and total_liabilities >= 0:
            _nesting(
                errors,
                warnings,
                part=(name, current_liabilities),
                whole=total_liabilities,
                code="current_liabilities_above_total",
                error=gettext_noop("Current liabilities cannot exceed total liabilities."),
                warning=STATEMENT_WARNINGS["current_liabilities_above_total"],
            )
    if errors:
        # A refused statement keeps no warnings.
        warnings.clear()
        return errors, warnings
    gap = total_assets - total_liabilities - equity
    if abs(gap) > rounding_tolerance(total_assets):
        warnings.append(
            StatementProblem(
                NON_FIELD,
                STATEMENT_WARNINGS["balance_gap"],
                {"gap": f"{gap:.2f}", "percent": _percent(gap, total_assets)},
                code="balance_gap",
            )
        )
    given = {"ebit": ebit, "net_income": net_income, **figures, "total_assets": total_assets}
    for label, numerator, denominator, low, high in _RATIO_RANGES:
        top, bottom = given.get(numerator), given.get(denominator)
        if top is None or bottom is None or bottom <= 0:
            continue
        ratio = top / bottom
        if not low <= ratio <= high:
            warnings.append(
                StatementProblem(
                    NON_FIELD,
                    STATEMENT_WARNINGS["ratio_out_of_range"],
                    {
                        "ratio": label,
                        "value": f"{ratio:.2f}",
                        "low": f"{low}",
                        "high": f"{high}",
                    },
                    code="ratio_out_of_range",
                )
            )
    return errors, warnings


def _nesting(
    errors: list[StatementProblem],
    warnings: list[StatementProblem],
    *,
    part: tuple[str, Decimal],
    whole: Decimal,
    code: str,
    error: str,
    warning: str,
) -> None:
    """`part` should not exceed `whole`: by rounding only a warning, by more an error."""
    name, value = part
    excess = value - whole
    if excess <= 0:
        return
    params = {"excess": f"{excess:.2f}"}
    if excess > rounding_tolerance(whole):
        errors.append(StatementProblem(name, error))
    else:
        warnings.append(StatementProblem(name, warning, params, code=code))


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    # Zero or negative denominators give no meaningful ratio (a negative equity would make
    # debt-to-equity look better than any positive one); the problems check flags bad data.
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(FOUR_DECIMALS, ROUND_HALF_UP)


def financial_ratios(
    *,
    revenue: Decimal,
    ebit: Decimal,
    net_income: Decimal,
    total_assets: Decimal,
    current_assets: Decimal,
    current_liabilities: Decimal,
    total_liabilities: Decimal,
    equity: Decimal,
) -> dict[str, Decimal | None]:
    """Key ratios as fractions (0.1234 = 12.34%), rounded to 4 places (half up).

    Each is None when its denominator is zero or negative. There is no quick ratio: the
    statement has no inventory figure.
    """
    return {
        "current_ratio": _ratio(current_assets, current_liabilities),
        "debt_to_equity": _ratio(total_liabilities, equity),
        "equity_ratio": _ratio(equity, total_assets),
        "ebit_margin": _ratio(ebit, revenue),
        "net_margin": _ratio(net_income, revenue),
        "return_on_assets": _ratio(net_income, total_assets),
    }
