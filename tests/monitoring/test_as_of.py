"""As-of scoring: a buyer scored on a past day D sees only what was known on D.

The rules are `buyers.ledger`'s (module docstring, "As of a day"); `buyer_risk_frame` applies
them. Everything that happens after D (a statement published later, a later period, a legal
event, a payment, a dispute, the buyer's insolvency) leaves the as-of-D frame and score as they
were, and changes the as-of-today ones.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection
from django.db.models.expressions import RawSQL

from buyers import ledger
from buyers.models import Buyer, Dispute, FinancialStatement, Instalment, Invoice, PaymentPlan
from creditguard.dates import today
from monitoring import scoring
from monitoring.models import LegalEvent
from monitoring.rescoring import buyer_risk_frame
from tests.conftest import active
from tests.factories import BuyerFactory, FinancialStatementFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

TODAY = today()
D = TODAY - timedelta(days=200)  # the past day scored


def _frame(tenant, buyer, as_of):
    return buyer_risk_frame(tenant_id=tenant.pk, buyer_ids=[buyer.pk], as_of=as_of)


def _scored(frame):
    return scoring.score_frame(frame)


@pytest.fixture
def history(tenant_a):
    """A buyer with a statement known before D, an invoice paid before D and one open and
    overdue on D."""
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a, country_id="DE", nace_code="46.69", nace_section="G")
        FinancialStatementFactory(
            buyer=buyer,
            tenant=tenant_a,
            period_end=D - timedelta(days=400),
            published_on=D - timedelta(days=300),
        )
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=Decimal(1000),
            paid_amount=Decimal(1000),
            issue_date=D - timedelta(days=120),
            due_date=D - timedelta(days=90),
            paid_date=D - timedelta(days=80),
            status="paid",
        )
        open_invoice = InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=Decimal(3000),
            issue_date=D - timedelta(days=60),
            due_date=D - timedelta(days=30),
            status="open",
        )
    return buyer, open_invoice


def test_nothing_after_the_day_changes_a_past_score(tenant_a, history):
    buyer, open_invoice = history
    with active(tenant_a):
        past, now = _frame(tenant_a, buyer, D), _frame(tenant_a, buyer, TODAY)
        past_scored, now_scored = _scored(past), _scored(now)

        # A statement of a period before D, published after D; one of a period after D.
        FinancialStatementFactory(
            buyer=buyer,
            tenant=tenant_a,
            period_end=D - timedelta(days=35),
            published_on=D + timedelta(days=20),
            ebit=Decimal("-900000"),
            retained_earnings=Decimal("-2000000"),
        )
        FinancialStatementFactory(
            buyer=buyer,
            tenant=tenant_a,
            period_end=D + timedelta(days=30),
            published_on=D + timedelta(days=60),
            ebit=Decimal("-950000"),
            retained_earnings=Decimal("-2500000"),
        )
        LegalEvent.objects.create(
            tenant=tenant_a, buyer=buyer, kind="court_judgment", event_date=D + timedelta(days=5)
        )
        # The invoice open on D is paid after D.
        open_invoice.paid_amount = open_invoice.amount
        open_invoice.paid_date = D + timedelta(days=10)
        open_invoice.status = Invoice.Status.PAID
        open_invoice.save()
        Dispute.objects.create(
            tenant=tenant_a,
            buyer=buyer,
            erp_reference="D-LATER",
            reason="quality",
            amount=Decimal(500),
            currency="EUR",
            opened_date=D + timedelta(days=3),
        )
        buyer.status = Buyer.Status.INSOLVENT
        buyer.save()

        past_again, now_again = _frame(tenant_a, buyer, D), _frame(tenant_a, buyer, TODAY)

    pd.testing.assert_frame_equal(past_again, past)
    pd.testing.assert_frame_equal(_scored(past_again), past_scored)
    # As of today everything shows: the insolvency (grade 10), the newest statement, no
    # overdue any more, the legal event.
    row = now_again.loc[buyer.pk]
    assert row["buyer_status"] == "insolvent"
    assert row["ebit"] == -950000.0
    assert row["overdue_share"] != now.loc[buyer.pk, "overdue_share"]
    assert row["legal_events"] == [("court_judgment", D + timedelta(days=5))]
    assert _scored(now_again).loc[buyer.pk, "grade"] == 10
    assert _scored(now_again).loc[buyer.pk, "score"] != now_scored.loc[buyer.pk, "score"]
    # And on D: the old statement, the invoice open and overdue, the buyer active.
    old = past_again.loc[buyer.pk]
    assert (old["buyer_status"], old["ebit"], old["overdue_share"]) == ("active", 800000.0, 1.0)
    assert old["legal_events"] is None


def test_the_frame_carries_the_chosen_statements_details(tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        blank = BuyerFactory(tenant=tenant_a)
        FinancialStatementFactory(
            buyer=buyer,
            tenant=tenant_a,
            period_end=D - timedelta(days=400),
            published_on=D - timedelta(days=300),
            period_months=9,
            cash=Decimal("123.45"),
            prior_period_revenue=Decimal("9000000"),
        )
        frame = buyer_risk_frame(tenant_id=tenant_a.pk, buyer_ids=[buyer.pk, blank.pk], as_of=D)
    row = frame.loc[buyer.pk]
    assert (row["revenue"], row["net_income"], row["period_months"]) == (1e7, 550000.0, 9.0)
    assert (row["cash"], row["prior_period_revenue"]) == (123.45, 9e6)
    assert pd.isna(row["inventory"])
    details = list(scoring.STATEMENT_DETAIL_COLUMNS)
    assert frame[details].dtypes.eq("float64").all()
    assert frame.loc[blank.pk, details].isna().all()
    # score_frame reads its own columns and ignores the details.
    pd.testing.assert_frame_equal(
        scoring.score_frame(frame), scoring.score_frame(frame.drop(columns=details))
    )


def test_a_statement_is_used_once_known(tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        # Recorded today without a publication date: known six months after its period end.
        FinancialStatementFactory(
            buyer=buyer, tenant=tenant_a, period_end=D - timedelta(days=400), ebit=Decimal(1)
        )
        unpublished = FinancialStatementFactory(
            buyer=buyer,
            tenant=tenant_a,
            period_end=(D - timedelta(days=60)).replace(day=15),
            ebit=Decimal(2),
        )
        known_on = ledger.add_months(unpublished.period_end, 6)
        ebit = {
            day: _frame(tenant_a, buyer, day).loc[buyer.pk, "ebit"]
            for day in (D, known_on - timedelta(days=1), known_on)
        }
        age = _frame(tenant_a, buyer, known_on).loc[buyer.pk, "statement_age_months"]
    assert ebit == {D: 1.0, known_on - timedelta(days=1): 1.0, known_on: 2.0}
    assert age == 6  # counted from the period end


def test_payments_write_offs_disputes_and_plans_as_they_stood(tenant_a):
    """The invoice and dispute rules one by one, as of D."""
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        common = {"buyer": buyer, "tenant": tenant_a, "issue_date": D - timedelta(days=100)}
        due = D - timedelta(days=70)
        # Written off today: open (and overdue) on D. Partly paid today without a paid date:
        # the full amount was outstanding on D. Paid before D: settled, 10 days late.
        InvoiceFactory(**common, amount=Decimal(400), due_date=due, status="written_off")
        InvoiceFactory(
            **common,
            amount=Decimal(600),
            paid_amount=Decimal(300),
            due_date=due,
            status="partially_paid",
        )
        InvoiceFactory(
            **common,
            amount=Decimal(1000),
            paid_amount=Decimal(1000),
            due_date=due,
            paid_date=due + timedelta(days=10),
            status="paid",
        )
        # Issued after D: not there yet.
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=Decimal(5000),
            issue_date=D + timedelta(days=1),
            due_date=D + timedelta(days=31),
        )
        # Opened before D and resolved after D: open on D.
        Dispute.objects.create(
            tenant=tenant_a, buyer=buyer, erp_reference="D-1", reason="quality",
            amount=Decimal(250), currency="EUR", opened_date=D - timedelta(days=20),
            resolved_date=D + timedelta(days=10), status="resolved",
        )  # fmt: skip
        # An instalment missed on D, paid long after: the plan was broken on D.
        plan = PaymentPlan.objects.create(
            tenant=tenant_a, buyer=buyer, erp_reference="P-1", agreed_date=D - timedelta(days=60),
            total_amount=Decimal(100), currency="EUR",
        )  # fmt: skip
        Instalment.objects.create(
            tenant=tenant_a, plan=plan, due_date=D - timedelta(days=30), amount=Decimal(100),
            paid_amount=Decimal(100), paid_date=D + timedelta(days=30),
        )  # fmt: skip
        # A plan agreed after D is not there yet.
        later = PaymentPlan.objects.create(
            tenant=tenant_a, buyer=buyer, erp_reference="P-2", agreed_date=D + timedelta(days=1),
            total_amount=Decimal(100), currency="EUR",
        )  # fmt: skip
        Instalment.objects.create(
            tenant=tenant_a, plan=later, due_date=D + timedelta(days=2), amount=Decimal(100)
        )
        row = _frame(tenant_a, buyer, D).loc[buyer.pk]
    # Exposure on D: 400 + 600 = 1,000, all overdue by 70 days; settled 1,000 paid 10 days late.
    assert row["overdue_share"] == 1.0
    assert row["days_beyond_terms"] == (1000 * 70 + 1000 * 10) / 2000
    assert row["disputed_share"] == 250 / 1000
    assert row["broken_plans_12m"] == 1


def test_an_insolvency_counts_from_the_day_it_was_set(tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a, status=Buyer.Status.INSOLVENT)
        Buyer.objects.filter(pk=buyer.pk).update(
            updated_at=datetime.combine(D, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        )
        statuses = {
            day: _frame(tenant_a, buyer, day).loc[buyer.pk, "buyer_status"]
            for day in (D - timedelta(days=1), D, TODAY)
        }
    assert statuses == {D - timedelta(days=1): "active", D: "insolvent", TODAY: "insolvent"}


# --- statement_known_on ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_end", "published_on", "created_at", "known_on"),
    [
        # Published: that day, whatever else.
        (date(2024, 12, 31), date(2025, 3, 15), date(2026, 1, 1), date(2025, 3, 15)),
        (date(2024, 12, 31), date(2025, 9, 1), date(2025, 2, 1), date(2025, 9, 1)),
        # Not published: six months after the period end, or when recorded if earlier.
        (date(2024, 12, 31), None, date(2026, 1, 1), date(2025, 6, 30)),
        (date(2024, 12, 31), None, date(2025, 2, 10), date(2025, 2, 10)),
        # Month ends clamp as PostgreSQL's interval arithmetic does.
        (date(2024, 8, 31), None, date(2026, 1, 1), date(2025, 2, 28)),
        (date(2023, 8, 31), None, date(2026, 1, 1), date(2024, 2, 29)),
    ],
)
def test_statement_known_on(tenant_a, period_end, published_on, created_at, known_on):
    assert (
        ledger.statement_known_on(
            period_end=period_end, published_on=published_on, created_at=created_at
        )
        == known_on
    )
    # The SQL fragment agrees (created_at at noon of its local day).
    with active(tenant_a):
        statement = FinancialStatementFactory(
            buyer=BuyerFactory(tenant=tenant_a), period_end=period_end, published_on=published_on
        )
        FinancialStatement.objects.filter(pk=statement.pk).update(
            created_at=datetime.combine(created_at, datetime.min.time(), tzinfo=UTC)
            + timedelta(hours=12)
        )
        known_on_sql = RawSQL(ledger.statement_known_on_sql("buyers_financialstatement"), [])
        sql_known_on = (
            FinancialStatement.objects.annotate(known_on=known_on_sql)
            .values_list("known_on", flat=True)
            .get(pk=statement.pk)
        )
    assert sql_known_on == known_on


def test_statement_known_on_takes_the_local_day_of_a_timestamp():
    recorded = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)
    assert ledger.statement_known_on(
        period_end=date(2024, 12, 31), published_on=None, created_at=recorded
    ) == date(2025, 2, 10)


# --- invoice_as_of: the pure rule and the SQL projection agree -------------------------------


@pytest.mark.parametrize(
    ("status", "paid", "paid_date", "issued", "changed", "expected"),
    [
        # issued and changed after D: not there
        ("open", 0, None, 1, 1, None),
        # issued after D but recorded before: there
        ("open", 0, None, 1, -1, ("open", 0, None)),
        # paid after D: open on D with nothing paid
        ("paid", 100, 5, -30, 6, ("open", 0, None)),
        # paid before D: paid
        ("paid", 100, -5, -30, 6, ("paid", 100, -5)),
        # paid without a paid date, changed after D: open on D
        ("paid", 100, None, -30, 6, ("open", 0, None)),
        # partly paid without a date, changed after D: nothing paid yet on D
        ("partially_paid", 40, None, -30, 6, ("partially_paid", 0, None)),
        # partly paid without a date, changed before D: paid part counts
        ("partially_paid", 40, None, -30, -1, ("partially_paid", 40, None)),
        # written off after D, partly paid before: partially paid on D
        ("written_off", 40, -3, -30, 6, ("partially_paid", 40, -3)),
        # written off before D: written off
        ("written_off", 0, None, -30, -1, ("written_off", 0, None)),
    ],
)
def test_invoice_as_of(tenant_a, status, paid, paid_date, issued, changed, expected):
    def day(offset):
        return None if offset is None else D + timedelta(days=offset)

    pure = ledger.invoice_as_of(
        status=status,
        paid_amount=Decimal(paid),
        paid_date=day(paid_date),
        issue_date=day(issued),
        changed_on=day(changed),
        as_of=D,
    )
    want = (
        None
        if expected is None
        else ledger.InvoiceAsOf(
            status=expected[0], paid_amount=Decimal(expected[1]), paid_date=day(expected[2])
        )
    )
    assert pure == want
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        invoice = InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            amount=Decimal(100),
            paid_amount=Decimal(paid),
            paid_date=day(paid_date),
            issue_date=day(issued),
            due_date=day(issued) + timedelta(days=30),
            status=status,
        )
        Invoice.objects.filter(pk=invoice.pk).update(
            updated_at=datetime.combine(day(changed), datetime.min.time(), tzinfo=UTC)
            + timedelta(hours=12)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT status, paid_amount, paid_date FROM ("
                + ledger.invoices_as_of_sql(
                    tenant="%(tenant)s", buyers="%(buyers)s", as_of="%(as_of)s::date"
                )
                + ") AS i",
                {"tenant": tenant_a.pk, "buyers": [buyer.pk], "as_of": D},
            )
            rows = cursor.fetchall()
    assert rows == ([] if want is None else [(want.status, want.paid_amount, want.paid_date)])
