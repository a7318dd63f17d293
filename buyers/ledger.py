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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypedDict

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

from . import receivables
from .models import Instalment, Invoice, PaymentPlan

OPEN_STATUSES = receivables.OPEN_INVOICE_STATUSES
ZERO = Decimal("0")
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


def instalment_unpaid_sql(alias: str = "n") -> str:
    """`receivables.Instalment.is_paid`, negated: something remains on the instalment."""
    return f"({alias}.paid_amount < {alias}.amount)"


def payment_plan_statuses_sql(*, tenant: str, buyers: str, as_of: str) -> str:
    """A query of ``(plan_id, buyer_id, status, first_missed_due, outstanding)`` per payment
    plan of ``buyers``: `receivables.payment_plan_status` with its grace days, computed from
    the instalments (the stored ``status`` column is not read). ``first_missed_due`` is the
    due date of the earliest instalment missed beyond grace; ``outstanding`` what remains.
    ``tenant``, ``buyers`` and ``as_of`` are SQL expressions (parameters) of the caller."""
    grace = receivables.PAYMENT_PLAN_GRACE_DAYS
    paid = f"(NOT {instalment_unpaid_sql('n')})"
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
               COALESCE(SUM(GREATEST(n.amount - n.paid_amount, 0)), 0) AS outstanding
        FROM buyers_paymentplan p
        LEFT JOIN buyers_instalment n ON n.tenant_id = p.tenant_id AND n.plan_id = p.id
        WHERE p.tenant_id = {tenant} AND p.buyer_id = ANY({buyers})
        GROUP BY p.id, p.buyer_id
    """  # noqa: S608
