"""The receivables rules for the database: one ORM layer and one set of SQL fragments.

`buyers.receivables` defines each rule on plain values (open, outstanding, exposure, overdue,
aging bucket, DSO, DBT, payment-plan status, and the conversion into the base currency). This
module states the same rules once for the ORM, used by every selector (`buyers.selectors`,
`policies.selectors`), and once as SQL text for the set-based jobs (`monitoring.alerts`,
`monitoring.rescoring`). tests/buyers/test_receivables_parity.py checks on generated ledgers
that the three give the same figures. Nothing else may restate a rule: import it from here.

Money stays ``numeric``: each invoice is converted on its own and rounded to cents
(`receivables.to_base`), so sums agree to the cent whichever path adds them up. Invoices in a
currency without a rate have no factor and are left out of every sum.

The SQL fragments are functions of the table alias (and of the SQL expression for the
evaluation date, e.g. ``"%(as_of)s::date"``); the conversion factors come from the `fx` CTE
(`fx_cte`, parameters from `fx_params`). Status values are literals taken from
`buyers.receivables`, never user input.

As of a day (`invoices_as_of_sql`, `statement_known_sql`, `dispute_open_as_of_sql`,
`buyer_status_as_of_sql`, ``payment_plan_statuses_sql(..., as_known=True)``; the pure
`invoice_as_of` and `statement_known_on` state the same rules on plain values): the records as
they stood on a past day D, for as-of scoring (the monthly run, the back-fill of past months).
Nothing dated after D is visible; with D = today they give today's figures (a fact dated in
the future, e.g. a paid date after today, counts from that day).
- A financial statement is known on its ``published_on`` day; without one, on its period end
  plus `STATEMENT_PUBLICATION_LAG_MONTHS` (six), or on the day it was recorded if earlier. It
  is used on D once its period has ended and it is known; the latest period end among those
  wins, and its age still counts from the period end.
- An invoice exists on D once issued (or recorded, if issued later). Its paid amount counts
  from its paid date; without a paid date (a partial payment, or an invoice marked paid
  without one) from the record's last change (``updated_at``, the best date it keeps), so a
  payment recorded after D never lowers what was outstanding on D. A paid invoice was open
  until its paid date, a written-off one until its last change (as
  `monitoring.selectors.default_dates` dates the write-off), with its full amount outstanding
  if the payment came later. DBT on D weighs the invoices settled in the 12 months up to D.
- A dispute is open on D if opened on or before D and resolved after D or not yet (one
  resolved without a resolution date has no other date and counts as resolved).
- A payment plan counts from its agreed day; an instalment paid after D was unpaid on D (one
  paid without a paid date counts as paid, as in `receivables.payment_plan_status`).
- A buyer is insolvent on D only if its status was set on or before D (its ``updated_at``
  day, the date the buyer record keeps); before that it counts as active.
Days are local days (`TIME_ZONE`, as `creditguard.dates.today`).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round
from django.utils import timezone

from . import receivables
from .models import Buyer, Dispute, Instalment, Invoice, PaymentPlan

OPEN_STATUSES = receivables.OPEN_INVOICE_STATUSES
WRITTEN_OFF_STATUS = Invoice.Status.WRITTEN_OFF.value
OPEN_STATUS = Invoice.Status.OPEN.value
PARTIALLY_PAID_STATUS = Invoice.Status.PARTIALLY_PAID.value
DISPUTE_OPEN_STATUS = Dispute.Status.OPEN.value
BUYER_ACTIVE_STATUS = Buyer.Status.ACTIVE.value
BUYER_INSOLVENT_STATUS = Buyer.Status.INSOLVENT.value
# A statement without a publication date is taken as known this many months after its period
# end (annual accounts are typically filed within six months), or on the day it was recorded
# if that is earlier.
STATEMENT_PUBLICATION_LAG_MONTHS = 6
ZERO = Decimal("0")
_TIME_ZONE: str = settings.TIME_ZONE
if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", _TIME_ZONE):  # a literal of the SQL fragments
    raise ImproperlyConfigured(f"TIME_ZONE {_TIME_ZONE!r} is not a time zone name")
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=2)
FACTOR_FIELD = DecimalField(max_digits=30, decimal_places=12)

# --- Currency --------------------------------------------------------------------------------


def base_factors(rates: Mapping[str, Decimal], *, base: str) -> dict[str, Decimal]:
    """Per currency, the factor turning an amount into ``base`` (``rates`` are units per EUR).

    Without a rate for ``base`` itself, only amounts already in ``base`` can be counted.
    """
    if base not in rates:
        return {base: Decimal(1)}
    return {currency: rates[base] / rate for currency, rate in rates.items()}


# --- As of a day: pure rules ------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (as PostgreSQL
    adds an interval of months)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def statement_known_on(
    *, period_end: date, published_on: date | None, created_at: date | datetime
) -> date:
    """The day a financial statement became known: its publication date when given, else
    `STATEMENT_PUBLICATION_LAG_MONTHS` after its period end, or the day it was recorded if
    that is earlier (`statement_known_on_sql` states the same rule for the database)."""
    if published_on is not None:
        return published_on
    recorded = timezone.localdate(created_at) if isinstance(created_at, datetime) else created_at
    return min(add_months(period_end, STATEMENT_PUBLICATION_LAG_MONTHS), recorded)


@dataclass(frozen=True)
class InvoiceAsOf:
    """An invoice's status, paid amount and paid date as they stood on a day."""

    status: str
    paid_amount: Decimal
    paid_date: date | None


def invoice_as_of(
    *,
    status: str,
    paid_amount: Decimal,
    paid_date: date | None,
    issue_date: date,
    changed_on: date,
    as_of: date,
) -> InvoiceAsOf | None:
    """The invoice as it stood on ``as_of`` (None: not yet issued nor recorded then), from
    its current values and ``changed_on``, the local day of its last change (``updated_at``).
    `invoices_as_of_sql` states the same rule for the database (see the module docstring)."""
    if issue_date > as_of and changed_on > as_of:
        return None
    paid_on = paid_date if paid_date is not None else changed_on
    paid = paid_amount if paid_on <= as_of else ZERO
    closed_on = {receivables.PAID_INVOICE_STATUS: paid_on, WRITTEN_OFF_STATUS: changed_on}.get(
        status
    )
    if closed_on is not None and closed_on > as_of:
        status = PARTIALLY_PAID_STATUS if paid > 0 else OPEN_STATUS
    return InvoiceAsOf(
        status=status,
        paid_amount=paid,
        paid_date=paid_date if paid_date is not None and paid_date <= as_of else None,
    )


# --- ORM -------------------------------------------------------------------------------------


def _factor(factors: Mapping[str, Decimal], *, prefix: str) -> Case:
    return Case(
        *[
            When(**{f"{prefix}currency": currency}, then=Value(factor))
            for currency, factor in factors.items()
        ],
        default=Value(None),
        output_field=FACTOR_FIELD,
    )


def outstanding_in_base(factors: Mapping[str, Decimal], *, prefix: str = "") -> Round:
    """Outstanding (amount − paid amount) in base currency, rounded to cents per invoice."""
    outstanding = F(f"{prefix}amount") - F(f"{prefix}paid_amount")
    return Round(outstanding * _factor(factors, prefix=prefix), 2, output_field=MONEY_FIELD)


def amount_in_base(factors: Mapping[str, Decimal], *, prefix: str = "") -> Round:
    return Round(
        F(f"{prefix}amount") * _factor(factors, prefix=prefix), 2, output_field=MONEY_FIELD
    )


def open_q(*, prefix: str = "") -> Q:
    """`receivables.is_open_invoice`: an open status and something still to pay."""
    return Q(**{f"{prefix}status__in": OPEN_STATUSES}) & Q(
        **{f"{prefix}amount__gt": F(f"{prefix}paid_amount")}
    )


def disputed_q(*, prefix: str = "") -> Q:
    return Q(**{f"{prefix}status": receivables.DISPUTED_INVOICE_STATUS})


def overdue_q(*, as_of: date, beyond_days: int = 0, prefix: str = "") -> Q:
    """Open and past due at ``as_of`` (more than ``beyond_days`` days past due)."""
    return open_q(prefix=prefix) & Q(
        **{f"{prefix}due_date__lt": as_of - timedelta(days=beyond_days)}
    )


def settled_for_dbt_q(*, as_of: date, prefix: str = "") -> Q:
    """`receivables.is_settled_for_dbt`."""
    return Q(
        **{
            f"{prefix}status": receivables.PAID_INVOICE_STATUS,
            f"{prefix}paid_date__gte": as_of - timedelta(days=receivables.DBT_LOOKBACK_DAYS),
        }
    )


def credit_sales_q(*, as_of: date, prefix: str = "") -> Q:
    """`receivables.counts_as_credit_sale`."""
    return Q(**{f"{prefix}issue_date__gte": as_of - timedelta(days=receivables.DSO_PERIOD_DAYS)})


def aging_bucket(*, as_of: date, prefix: str = "") -> Case:
    """`receivables.aging_bucket` of the days past due at ``as_of``, as a CASE on the due date."""
    return Case(
        *[
            When(
                **{f"{prefix}due_date__gte": as_of - timedelta(days=bucket.max_days)},
                then=Value(bucket.key),
            )
            for bucket in receivables.AGING_BUCKETS
            if bucket.max_days is not None
        ],
        default=Value(receivables.AGING_BUCKETS[-1].key),
        output_field=CharField(),
    )


def _per_buyer(aggregate: Any, condition: Q) -> Subquery:
    # A correlated subquery per buyer rather than a join and GROUP BY over buyers: no grouping
    # on the buyer's (composite) key, and the tenant-leading invoice index serves it.
    invoices = Invoice.objects.filter(
        condition, tenant_id=OuterRef("tenant_id"), buyer_id=OuterRef("pk")
    )
    return Subquery(invoices.values("buyer_id").annotate(total=aggregate).values("total"))


class ReceivablesAnnotations(TypedDict):
    exposure: Coalesce
    overdue: Coalesce
    open_invoices: Coalesce


def receivables_annotations(
    *, factors: Mapping[str, Decimal], as_of: date
) -> ReceivablesAnnotations:
    """Annotations for a queryset of buyers: ``exposure``, ``overdue`` (base currency) and
    ``open_invoices``."""
    outstanding = Sum(outstanding_in_base(factors))
    return {
        "exposure": Coalesce(
            _per_buyer(outstanding, open_q()), Value(ZERO), output_field=MONEY_FIELD
        ),
        "overdue": Coalesce(
            _per_buyer(outstanding, overdue_q(as_of=as_of)), Value(ZERO), output_field=MONEY_FIELD
        ),
        "open_invoices": Coalesce(_per_buyer(Count("id"), open_q()), Value(0)),
    }


def open_invoices() -> QuerySet[Invoice]:
    return Invoice.objects.filter(open_q())


def open_items(
    invoices: QuerySet[Invoice], *, factors: Mapping[str, Decimal]
) -> list[receivables.OpenItem]:
    """The open invoices among ``invoices`` as `receivables.OpenItem`s in base currency
    (invoices in a currency without a rate are left out: see `unconverted_currencies`)."""
    rows = (
        invoices.filter(open_q())
        .annotate(outstanding_base=outstanding_in_base(factors))
        .filter(outstanding_base__isnull=False)
        .values_list("due_date", "outstanding_base", "status")
    )
    return [
        receivables.OpenItem(
            due_date=due_date,
            outstanding=outstanding,
            disputed=status == receivables.DISPUTED_INVOICE_STATUS,
        )
        for due_date, outstanding, status in rows
    ]


def settled_items(
    invoices: QuerySet[Invoice], *, factors: Mapping[str, Decimal], as_of: date
) -> list[receivables.SettledItem]:
    """The invoices among ``invoices`` that count as settled in DBT, in base currency."""
    rows = (
        invoices.filter(settled_for_dbt_q(as_of=as_of))
        .annotate(amount_base=amount_in_base(factors))
        .filter(amount_base__isnull=False)
        .values_list("issue_date", "due_date", "paid_date", "amount_base")
    )
    return [
        receivables.SettledItem(
            issue_date=issue_date, due_date=due_date, paid_date=paid_date, amount=amount
        )
        for issue_date, due_date, paid_date, amount in rows
        if paid_date is not None  # always true: `paid_date__gte` leaves out NULL dates
    ]


def credit_sales(
    invoices: QuerySet[Invoice], *, factors: Mapping[str, Decimal], as_of: date
) -> dict[int, Decimal]:
    """Credit sales of the DSO window per buyer, in base currency."""
    rows = (
        invoices.filter(credit_sales_q(as_of=as_of))
        .values("buyer_id")
        .annotate(total=Sum(amount_in_base(factors)))
        .values_list("buyer_id", "total")
    )
    return {buyer_id: total for buyer_id, total in rows if total is not None}


def unconverted_currencies(
    invoices: QuerySet[Invoice], *, factors: Mapping[str, Decimal]
) -> set[str]:
    """Currencies of open invoices among ``invoices`` that have no rate (left out of figures)."""
    return set(
        invoices.filter(open_q())
        .exclude(currency__in=list(factors))
        .values_list("currency", flat=True)
        .distinct()
    )


def _missed_instalments(*, as_of: date) -> QuerySet[Instalment]:
    grace = timedelta(days=receivables.PAYMENT_PLAN_GRACE_DAYS)
    # Unpaid after its deadline (due date + grace), or paid after it.
    return Instalment.objects.filter(plan_id=OuterRef("pk")).filter(
        Q(paid_amount__lt=F("amount"), due_date__lt=as_of - grace)
        | Q(paid_amount__gte=F("amount"), paid_date__gt=F("due_date") + grace)
    )


def payment_plan_status(*, as_of: date) -> Case:
    """`receivables.payment_plan_status` for a queryset of plans (annotate, e.g. as
    ``current_status``; the stored ``status`` column is not read)."""
    unpaid = Instalment.objects.filter(plan_id=OuterRef("pk"), paid_amount__lt=F("amount"))
    return Case(
        When(~Exists(unpaid), then=Value(PaymentPlan.Status.COMPLETED.value)),
        When(Exists(_missed_instalments(as_of=as_of)), then=Value(PaymentPlan.Status.BROKEN.value)),
        default=Value(PaymentPlan.Status.KEPT.value),
        output_field=CharField(),
    )


def plan_status_of(plan: PaymentPlan, *, as_of: date) -> str:
    """The status of one plan from its instalments (prefetch them), by the pure rule."""
    return receivables.payment_plan_status(plan_instalments(plan), as_of=as_of)


def plan_instalments(plan: PaymentPlan) -> list[receivables.Instalment]:
    return [
        receivables.Instalment(
            due_date=i.due_date, amount=i.amount, paid_amount=i.paid_amount, paid_date=i.paid_date
        )
        for i in plan.instalments.all()
    ]


# --- SQL -------------------------------------------------------------------------------------


def _literals(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def fx_cte(name: str = "fx") -> str:
    """A CTE ``name(currency, factor)`` of the base-currency factors (`fx_params`)."""
    return (
        f"{name}(currency, factor) AS ("  # noqa: S608  (names and literals, no input)
        "SELECT * FROM unnest(%(fx_currencies)s::text[], %(fx_factors)s::numeric[]))"
    )


def fx_params(rates: Mapping[str, Decimal], *, base: str) -> dict[str, list[Any]]:
    factors = base_factors(rates, base=base)
    return {"fx_currencies": list(factors), "fx_factors": list(factors.values())}


def open_sql(alias: str = "i") -> str:
    return (
        f"({alias}.status IN ({_literals(OPEN_STATUSES)}) AND {alias}.amount > {alias}.paid_amount)"
    )


def disputed_sql(alias: str = "i") -> str:
    return f"({alias}.status = '{receivables.DISPUTED_INVOICE_STATUS}')"


def outstanding_in_base_sql(alias: str = "i", fx: str = "fx") -> str:
    return f"ROUND(({alias}.amount - {alias}.paid_amount) * {fx}.factor, 2)"


def amount_in_base_sql(alias: str = "i", fx: str = "fx") -> str:
    return f"ROUND({alias}.amount * {fx}.factor, 2)"


def overdue_sql(alias: str, *, as_of: str, beyond_days: str = "0") -> str:
    """Open and more than ``beyond_days`` (an SQL integer expression) days past due."""
    return f"({open_sql(alias)} AND {alias}.due_date < {as_of} - {beyond_days})"


def days_past_due_sql(alias: str, *, as_of: str) -> str:
    return f"GREATEST(0, {as_of} - {alias}.due_date)"


def aging_bucket_sql(alias: str, *, as_of: str) -> str:
    days = days_past_due_sql(alias, as_of=as_of)
    whens = " ".join(
        f"WHEN {days} <= {bucket.max_days} THEN '{bucket.key}'"
        for bucket in receivables.AGING_BUCKETS
        if bucket.max_days is not None
    )
    return f"(CASE {whens} ELSE '{receivables.AGING_BUCKETS[-1].key}' END)"


def settled_for_dbt_sql(alias: str, *, as_of: str) -> str:
    return (
        f"({alias}.status = '{receivables.PAID_INVOICE_STATUS}' "
        f"AND {alias}.paid_date >= {as_of} - {receivables.DBT_LOOKBACK_DAYS})"
    )


def credit_sales_sql(
    alias: str, *, as_of: str, period_days: int = receivables.DSO_PERIOD_DAYS
) -> str:
    """Invoiced in the trailing window (`DSO_PERIOD_DAYS`, or ``period_days`` for a DSO over
    another period, e.g. the 365 days of `BuyerFigures.credit_sales_365`)."""
    return f"({alias}.issue_date >= {as_of} - {int(period_days)})"


def dbt_sql(alias: str = "i", *, as_of: str, fx: str = "fx") -> str:
    """`receivables.days_beyond_terms` as an aggregate over invoice rows (numeric, 1 decimal):
    open invoices weigh their outstanding and count their days past due, settled ones their
    amount and the days they were paid late; other rows weigh nothing."""
    weight = (
        f"CASE WHEN {open_sql(alias)} THEN {outstanding_in_base_sql(alias, fx)} "
        f"WHEN {settled_for_dbt_sql(alias, as_of=as_of)} THEN {amount_in_base_sql(alias, fx)} END"
    )
    days = (
        f"CASE WHEN {open_sql(alias)} THEN {days_past_due_sql(alias, as_of=as_of)} "
        f"ELSE GREATEST(0, {alias}.paid_date - {alias}.due_date) END"
    )
    return (
        f"ROUND(SUM(({weight}) * ({days})) FILTER (WHERE ({weight}) > 0)"
        f" / NULLIF(SUM({weight}) FILTER (WHERE ({weight}) > 0), 0), 1)"
    )


# --- As of a past date ----------------------------------------------------------------------
# The records as they stood on an evaluation day D (module docstring, "As of a day"). Each
# fragment takes the SQL expression of D (``as_of``); with D = today they give what the
# fragments above give (up to facts dated in the future).


def local_date_sql(timestamp: str) -> str:
    """The local day (`TIME_ZONE`, as `creditguard.dates.today` counts) of a timestamp column."""
    return f"({timestamp} AT TIME ZONE '{_TIME_ZONE}')::date"


def statement_known_on_sql(alias: str = "s") -> str:
    """The day a financial statement became known (`statement_known_on`), as SQL."""
    return (
        f"COALESCE({alias}.published_on, LEAST(({alias}.period_end"
        f" + INTERVAL '{STATEMENT_PUBLICATION_LAG_MONTHS} months')::date,"
        f" {local_date_sql(f'{alias}.created_at')}))"
    )


def statement_known_sql(alias: str = "s", *, as_of: str) -> str:
    """The statement can be used on ``as_of``: its period ended and it was known by then."""
    return f"({alias}.period_end <= {as_of} AND {statement_known_on_sql(alias)} <= {as_of})"


def invoices_as_of_sql(*, tenant: str, buyers: str, as_of: str) -> str:
    """A query of the invoices of ``buyers`` as they stood on ``as_of``, under the names of
    ``buyers_invoice`` (``buyer_id, currency, issue_date, due_date, amount, paid_amount,
    paid_date, status``), so that the fragments above (`open_sql`, `overdue_sql`, `dbt_sql`,
    ...) apply to it unchanged:
    - only invoices issued by then (or recorded by then, when issued with a later date);
    - ``paid_amount`` counts if dated on or before ``as_of`` (its paid date, else the record's
      last change), else 0; ``paid_date`` is NULL if after ``as_of``;
    - an invoice paid or written off after ``as_of`` has the status it had before: open, or
      partially paid if part of its payment was known.
    ``tenant``, ``buyers`` and ``as_of`` are SQL expressions (parameters) of the caller. The
    projection is computed once per invoice (``OFFSET 0`` keeps the planner from pulling it up
    and repeating its expressions in every aggregate of the caller).
    """
    changed_on = local_date_sql("i.updated_at")
    paid_on = f"COALESCE(i.paid_date, {changed_on})"
    paid_amount = f"(CASE WHEN {paid_on} <= {as_of} THEN i.paid_amount ELSE 0 END)"
    closed_on = (
        f"(CASE i.status WHEN '{receivables.PAID_INVOICE_STATUS}' THEN {paid_on}"
        f" WHEN '{WRITTEN_OFF_STATUS}' THEN {changed_on} END)"
    )
    reopened = (
        f"(CASE WHEN {paid_amount} > 0 THEN '{PARTIALLY_PAID_STATUS}' ELSE '{OPEN_STATUS}' END)"
    )
    # Aliases and literals of this module and the caller's placeholders: no input.
    return f"""
        SELECT i.buyer_id, i.currency, i.issue_date, i.due_date, i.amount,
               {paid_amount} AS paid_amount,
               CASE WHEN i.paid_date <= {as_of} THEN i.paid_date END AS paid_date,
               CASE WHEN {closed_on} > {as_of} THEN {reopened} ELSE i.status END AS status
        FROM buyers_invoice i
        WHERE i.tenant_id = {tenant} AND i.buyer_id = ANY({buyers})
          AND (i.issue_date <= {as_of} OR {changed_on} <= {as_of})
        OFFSET 0
    """  # noqa: S608


def dispute_open_as_of_sql(alias: str = "d", *, as_of: str) -> str:
    """The dispute was open on ``as_of``: opened by then, and resolved after it or not at all
    (a dispute resolved without a resolution date counts as resolved: it has no other date)."""
    return (
        f"({alias}.opened_date <= {as_of} AND ({alias}.resolved_date > {as_of}"
        f" OR ({alias}.resolved_date IS NULL AND {alias}.status = '{DISPUTE_OPEN_STATUS}')))"
    )


def buyer_status_as_of_sql(alias: str = "b", *, as_of: str) -> str:
    """The buyer's status on ``as_of``: insolvent only from the day it was set (its last
    change, the date the buyer record keeps); before that, active."""
    return (
        f"(CASE WHEN {alias}.status = '{BUYER_INSOLVENT_STATUS}'"
        f" AND {local_date_sql(f'{alias}.updated_at')} > {as_of}"
        f" THEN '{BUYER_ACTIVE_STATUS}' ELSE {alias}.status END)"
    )


def instalment_unpaid_sql(alias: str = "n") -> str:
    """`receivables.Instalment.is_paid`, negated: something remains on the instalment."""
    return f"({alias}.paid_amount < {alias}.amount)"


def payment_plan_statuses_sql(
    *, tenant: str, buyers: str, as_of: str, as_known: bool = False
) -> str:
    """A query of ``(plan_id, buyer_id, status, first_missed_due, outstanding)`` per payment
    plan of ``buyers``: `receivables.payment_plan_status` with its grace days, computed from
    the instalments (the stored ``status`` column is not read). ``first_missed_due`` is the
    due date of the earliest instalment missed beyond grace; ``outstanding`` what remains.
    ``tenant``, ``buyers`` and ``as_of`` are SQL expressions (parameters) of the caller.

    ``as_known``: the plans as they stood on ``as_of`` (as-of scoring, see the module
    docstring): a plan agreed after ``as_of`` is left out, and an instalment paid after
    ``as_of`` was unpaid on it (an instalment paid without a paid date counts as paid, as the
    pure rule does: the record keeps no other date).
    """
    grace = receivables.PAYMENT_PLAN_GRACE_DAYS
    paid = f"(NOT {instalment_unpaid_sql('n')})"
    paid_amount = "n.paid_amount"
    known = ""
    if as_known:
        paid = f"({paid} AND {instalment_paid_by_sql('n', as_of=as_of)})"
        paid_amount = (
            f"(CASE WHEN {instalment_paid_by_sql('n', as_of=as_of)} THEN n.paid_amount ELSE 0 END)"
        )
        known = f" AND p.agreed_date <= {as_of}"
    missed = (
        f"((NOT {paid} AND {as_of} > n.due_date + {grace})"
        f" OR ({paid} AND n.paid_date > n.due_date + {grace}))"
    )
    # Aliases and literals of this module and the caller's placeholders: no input.
    return f"""
        SELECT p.id AS plan_id, p.buyer_id,
               CASE WHEN COALESCE(bool_and({paid}), true) THEN 'completed'
                    WHEN COALESCE(bool_or({missed}), false) THEN 'broken'
                    ELSE 'kept' END AS status,
               MIN(n.due_date) FILTER (WHERE {missed}) AS first_missed_due,
               COALESCE(SUM(GREATEST(n.amount - {paid_amount}, 0)), 0) AS outstanding
        FROM buyers_paymentplan p
        LEFT JOIN buyers_instalment n ON n.tenant_id = p.tenant_id AND n.plan_id = p.id
        WHERE p.tenant_id = {tenant} AND p.buyer_id = ANY({buyers}){known}
        GROUP BY p.id, p.buyer_id
    """  # noqa: S608


def instalment_paid_by_sql(alias: str = "n", *, as_of: str) -> str:
    """An instalment's payment is known on ``as_of``: not dated after it (undated counts)."""
    return f"({alias}.paid_date IS NULL OR {alias}.paid_date <= {as_of})"
