"""One definition per receivables rule: on generated ledgers, the pure functions of
`buyers.receivables`, the ORM layer of `buyers.ledger` (through the buyers and policies
selectors), and the SQL fragments used by the alerts and by re-scoring give the same figures
for open, outstanding, exposure, overdue, aging, DSO, DBT and payment-plan status."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buyers import ledger, receivables
from buyers.models import Instalment, Invoice, PaymentPlan
from buyers.selectors import buyer_credit_file, buyers_with_exposure
from creditguard.dates import today
from creditguard.reference.models import FxRate
from monitoring.alerts import rules as alert_rules
from monitoring.rescoring import BROKEN_PLAN_WINDOW_DAYS, buyer_risk_frame
from policies.selectors import buyer_figures
from tests.conftest import active
from tests.factories import BuyerFactory, TenantFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 15)
# Units per EUR; CHF has no rate, so its invoices are left out everywhere.
RATES = {"USD": Decimal("1.0837"), "GBP": Decimal("0.85130"), "JPY": Decimal("161.37")}
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF")
references = count()


@dataclass(frozen=True)
class InvoiceRow:
    amount: Decimal
    paid_amount: Decimal
    status: str
    currency: str
    issue_date: date
    due_date: date
    paid_date: date | None


@dataclass(frozen=True)
class InstalmentRow:
    due_date: date
    amount: Decimal
    paid_amount: Decimal
    paid_date: date | None


@st.composite
def invoices(draw) -> InvoiceRow:
    amount = Decimal(draw(st.integers(1, 5_000_000))) / 100
    paid_share = draw(st.sampled_from([0, 0, 1, None]))  # None: partly paid
    paid_amount = (
        amount * paid_share
        if paid_share is not None
        else Decimal(draw(st.integers(0, int(amount * 100)))) / 100
    )
    due_date = AS_OF + timedelta(days=draw(st.integers(-420, 60)))
    issue_date = due_date - timedelta(days=draw(st.integers(0, 90)))
    paid_date = draw(st.none() | st.just(due_date + timedelta(days=draw(st.integers(-20, 120)))))
    return InvoiceRow(
        amount=amount,
        paid_amount=paid_amount,
        status=draw(st.sampled_from(receivables.INVOICE_STATUSES)),
        currency=draw(st.sampled_from(CURRENCIES)),
        issue_date=issue_date,
        due_date=due_date,
        paid_date=paid_date,
    )


@st.composite
def plans(draw) -> tuple[date, list[InstalmentRow]]:
    offsets = draw(st.lists(st.integers(-400, 90), min_size=1, max_size=4, unique=True))
    rows = []
    for offset in offsets:
        due_date = AS_OF + timedelta(days=offset)
        amount = Decimal(draw(st.integers(1, 100_000))) / 100
        paid = draw(st.sampled_from(["no", "part", "full", "full"]))
        paid_amount = {"no": Decimal(0), "part": amount / 2, "full": amount}[paid]
        paid_date = None
        if paid == "full" and draw(st.booleans()):
            paid_date = due_date + timedelta(days=draw(st.integers(-5, 12)))
        rows.append(
            InstalmentRow(due_date, amount, paid_amount.quantize(Decimal("0.01")), paid_date)
        )
    agreed = min(row.due_date for row in rows) - timedelta(days=draw(st.integers(0, 60)))
    return agreed, rows


ledgers = st.tuples(st.lists(invoices(), max_size=8), st.lists(plans(), max_size=3))


@pytest.fixture
def usd_tenant(db):
    for currency, rate in RATES.items():
        FxRate.objects.create(
            currency=currency, rate_date=AS_OF - timedelta(days=3), units_per_eur=rate
        )
    return TenantFactory(slug="parity", base_currency="USD")


def _store(tenant, invoice_rows, plan_rows):
    buyer = BuyerFactory(tenant=tenant)
    for row in invoice_rows:
        Invoice.objects.create(
            tenant=tenant, buyer=buyer, erp_reference=f"P-{next(references)}", **vars(row)
        )
    for agreed, instalments in plan_rows:
        plan = PaymentPlan.objects.create(
            tenant=tenant, buyer=buyer, erp_reference=f"PP-{next(references)}", agreed_date=agreed,
            total_amount=sum(i.amount for i in instalments), currency="USD",
        )  # fmt: skip
        for instalment in instalments:
            Instalment.objects.create(tenant=tenant, plan=plan, **vars(instalment))
    return buyer


@dataclass(frozen=True)
class Expected:
    exposure: Decimal
    overdue: Decimal
    over_90: Decimal
    aging: dict[str, Decimal]
    dso: Decimal | None
    dbt: Decimal | None
    plan_statuses: list[str]
    broken_plans_12m: int


def _pure(invoice_rows, plan_rows) -> Expected:
    """The figures from the pure rules alone, on the generated values."""
    factors = ledger.base_factors({"EUR": Decimal(1), **RATES}, base="USD")
    open_items, settled, sales = [], [], Decimal(0)
    for row in invoice_rows:
        if row.currency not in factors:
            continue
        factor = factors[row.currency]
        if receivables.is_open_invoice(
            status=row.status, amount=row.amount, paid_amount=row.paid_amount
        ):
            open_items.append(
                receivables.OpenItem(
                    due_date=row.due_date,
                    outstanding=receivables.to_base(row.amount - row.paid_amount, factor),
                    disputed=row.status == "disputed",
                )
            )
        if receivables.is_settled_for_dbt(status=row.status, paid_date=row.paid_date, as_of=AS_OF):
            settled.append(
                receivables.SettledItem(
                    issue_date=row.issue_date, due_date=row.due_date, paid_date=row.paid_date,
                    amount=receivables.to_base(row.amount, factor),
                )
            )  # fmt: skip
        if receivables.counts_as_credit_sale(issue_date=row.issue_date, as_of=AS_OF):
            sales += receivables.to_base(row.amount, factor)
    exposure = receivables.exposure(open_items)
    statuses = [
        receivables.payment_plan_status(
            [
                receivables.Instalment(i.due_date, i.amount, i.paid_amount, i.paid_date)
                for i in rows
            ],
            as_of=AS_OF,
        )
        for _agreed, rows in plan_rows
    ]
    window = AS_OF - timedelta(days=BROKEN_PLAN_WINDOW_DAYS)
    return Expected(
        exposure=exposure,
        overdue=receivables.overdue_amount(open_items, as_of=AS_OF),
        over_90=sum(
            (
                i.outstanding
                for i in open_items
                if receivables.days_past_due(due_date=i.due_date, as_of=AS_OF) > 90
            ),
            Decimal(0),
        ),
        aging=receivables.aging(open_items, as_of=AS_OF),
        dso=receivables.dso(receivables=exposure, credit_sales=sales),
        dbt=receivables.days_beyond_terms(settled=settled, open_items=open_items, as_of=AS_OF),
        plan_statuses=sorted(statuses),
        broken_plans_12m=sum(
            status == "broken" and (agreed >= window or any(i.due_date >= window for i in rows))
            for status, (agreed, rows) in zip(statuses, plan_rows, strict=True)
        ),
    )


def _as_known(invoice_rows, plan_rows, *, changed_on):
    """The generated rows as they stood on AS_OF (`ledger.invoice_as_of`; plans agreed by then,
    instalment payments dated after it undone): what the as-of risk inputs see."""
    invoices_then = []
    for row in invoice_rows:
        then = ledger.invoice_as_of(
            status=row.status, paid_amount=row.paid_amount, paid_date=row.paid_date,
            issue_date=row.issue_date, changed_on=changed_on, as_of=AS_OF,
        )  # fmt: skip
        if then is not None:
            invoices_then.append(
                replace(row, status=then.status, paid_amount=then.paid_amount,
                        paid_date=then.paid_date)
            )  # fmt: skip
    plans_then = [
        (agreed, [
            i if i.paid_date is None or i.paid_date <= AS_OF
            else replace(i, paid_amount=Decimal(0), paid_date=None)
            for i in rows
        ])
        for agreed, rows in plan_rows
        if agreed <= AS_OF
    ]  # fmt: skip
    return invoices_then, plans_then


def _sql(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _sql_figures(tenant, buyer) -> dict:
    """The figures from the SQL fragments, as the set-based jobs run them."""
    params = {
        "tenant": tenant.pk,
        "buyers": [buyer.pk],
        "as_of": AS_OF,
        **ledger.fx_params({"EUR": Decimal(1), **RATES}, base="USD"),
    }
    as_of = "%(as_of)s::date"
    rows = _sql(
        f"""
        WITH {ledger.fx_cte()}
        SELECT {ledger.aging_bucket_sql("i", as_of=as_of)},
               SUM({ledger.outstanding_in_base_sql("i")}) FILTER (WHERE {ledger.open_sql("i")}),
               SUM({ledger.outstanding_in_base_sql("i")})
                   FILTER (WHERE {ledger.overdue_sql("i", as_of=as_of)}),
               SUM({ledger.amount_in_base_sql("i")})
                   FILTER (WHERE {ledger.credit_sales_sql("i", as_of=as_of)})
        FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
        WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s)
        GROUP BY 1
        """,
        params,
    )
    aging = dict.fromkeys(receivables.AGING_BUCKET_KEYS, Decimal(0))
    for bucket, outstanding, _overdue, _sales in rows:
        aging[bucket] += outstanding or Decimal(0)
    sales = sum((row[3] or Decimal(0) for row in rows), Decimal(0))
    (dbt,) = _sql(
        f"""
        WITH {ledger.fx_cte()}
        SELECT {ledger.dbt_sql("i", as_of=as_of)}
        FROM buyers_invoice i JOIN fx ON fx.currency = i.currency
        WHERE i.tenant_id = %(tenant)s AND i.buyer_id = ANY(%(buyers)s)
        """,
        params,
    )[0]
    statuses = sorted(
        row[2]
        for row in _sql(
            ledger.payment_plan_statuses_sql(tenant="%(tenant)s", buyers="%(buyers)s", as_of=as_of),
            params,
        )
    )
    alert_exposure = dict(_sql(alert_rules.EXPOSURE_SQL, params)).get(buyer.pk, Decimal(0))
    broken_alerts = len(_sql(alert_rules.BROKEN_PLANS_SQL, params))
    return {
        "exposure": sum((row[1] or Decimal(0) for row in rows), Decimal(0)),
        "overdue": sum((row[2] or Decimal(0) for row in rows), Decimal(0)),
        "aging": aging,
        "sales": sales,
        "dbt": dbt,
        "plan_statuses": statuses,
        "alert_exposure": alert_exposure,
        "broken_plan_alerts": broken_alerts,
    }


def _number(value):
    """A figure of the re-scoring frame, None when missing (pandas shows it as None or NaN)."""
    return None if value is None or value != value else value


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ledger_rows=ledgers)
def test_every_path_gives_the_same_figures_for_every_rule(usd_tenant, ledger_rows):
    invoice_rows, plan_rows = ledger_rows
    expected = _pure(invoice_rows, plan_rows)
    known = _pure(*_as_known(invoice_rows, plan_rows, changed_on=today()))
    with active(usd_tenant):
        buyer = _store(usd_tenant, invoice_rows, plan_rows)

        # ORM: the buyer list's annotations, the credit file, the limit figures, plan statuses.
        listed = buyers_with_exposure(tenant=usd_tenant, as_of=AS_OF).get(pk=buyer.pk)
        credit_file = buyer_credit_file(tenant=usd_tenant, buyer=buyer, as_of=AS_OF)
        figures = buyer_figures(tenant=usd_tenant, buyer_ids=[buyer.pk], as_of=AS_OF)[buyer.pk]
        orm_statuses = sorted(
            PaymentPlan.objects.filter(buyer=buyer)
            .annotate(current=ledger.payment_plan_status(as_of=AS_OF))
            .values_list("current", flat=True)
        )
        file_statuses = sorted(view.summary.status for view in credit_file.payment_plans)

        # SQL: the fragments, the alert rules' queries, and the re-scoring inputs.
        sql = _sql_figures(usd_tenant, buyer)
        frame = buyer_risk_frame(tenant_id=usd_tenant.pk, buyer_ids=[buyer.pk], as_of=AS_OF)
    risk = frame.loc[buyer.pk]

    exposures = (listed.exposure, credit_file.exposure, figures.exposure)
    assert exposures == (expected.exposure,) * 3
    assert (sql["exposure"], sql["alert_exposure"]) == (expected.exposure,) * 2
    assert (listed.overdue, credit_file.overdue, figures.overdue, sql["overdue"]) == (
        expected.overdue,
    ) * 4
    assert credit_file.aging == expected.aging == sql["aging"]
    assert credit_file.dso == expected.dso == figures.dso
    assert receivables.dso(receivables=sql["exposure"], credit_sales=sql["sales"]) == expected.dso
    assert credit_file.days_beyond_terms == expected.dbt == sql["dbt"]
    # Re-scoring hands the scoring maths floats, made from the numeric figures after the sums.
    assert _number(risk["days_beyond_terms"]) == (None if known.dbt is None else float(known.dbt))
    if known.exposure:
        assert risk["overdue_share"] == pytest.approx(float(known.overdue / known.exposure))
        assert risk["over_90_share"] == pytest.approx(float(known.over_90 / known.exposure))
    assert orm_statuses == file_statuses == sql["plan_statuses"] == expected.plan_statuses
    assert sql["broken_plan_alerts"] == expected.plan_statuses.count("broken")
    # No payment history and no broken plan: unknown (None), not 0 — missing is neutral.
    assert _number(risk["broken_plans_12m"]) == (
        None if known.dbt is None and not known.broken_plans_12m else known.broken_plans_12m
    )
