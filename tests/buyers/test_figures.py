"""Maintained per-buyer figures (`buyers.figures`): they agree with the receivables rules on
generated ledgers, every table a figure depends on marks the buyers it touched, a new day
refreshes everything, nothing dirty costs one query, and other tenants see none of it."""

import time
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core.cache import cache
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buyers import figures, ledger, receivables, tasks
from buyers.models import BuyerFigures, FiguresDirty, Invoice, PortfolioSnapshot
from creditguard.reference.models import FxRate
from monitoring.models import Alert
from policies.models import CreditLimit, InvoiceCoverage
from tests.conftest import active
from tests.factories import (
    AlertFactory,
    BuyerFactory,
    BuyerScoreFactory,
    CoverDecisionFactory,
    CreditLimitFactory,
    InsurancePolicyFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 15)
RATES = {"USD": Decimal("1.0837"), "GBP": Decimal("0.85130"), "JPY": Decimal("161.37")}
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF")  # CHF has no rate: left out of every sum
references = count()


def dirty_buyers(tenant) -> set[int]:
    return set(FiguresDirty.unscoped.filter(tenant=tenant).values_list("buyer_id", flat=True))


def clear_dirty(tenant) -> None:
    FiguresDirty.unscoped.filter(tenant=tenant).delete()


# --- Agreement with the rules ----------------------------------------------------------------


@st.composite
def invoice_rows(draw) -> dict:
    amount = Decimal(draw(st.integers(1, 5_000_000))) / 100
    share = draw(st.sampled_from([0, 0, 1, None]))
    paid = (
        amount * share
        if share is not None
        else Decimal(draw(st.integers(0, int(amount * 100)))) / 100
    )
    due = AS_OF + timedelta(days=draw(st.integers(-420, 60)))
    return {
        "amount": amount,
        "paid_amount": paid,
        "status": draw(st.sampled_from(receivables.INVOICE_STATUSES)),
        "currency": draw(st.sampled_from(CURRENCIES)),
        "issue_date": due - timedelta(days=draw(st.integers(0, 400))),
        "due_date": due,
    }


@pytest.fixture
def usd_tenant(db):
    for currency, rate in RATES.items():
        FxRate.objects.create(
            currency=currency, rate_date=AS_OF - timedelta(days=3), units_per_eur=rate
        )
    return TenantFactory(slug="figures", base_currency="USD")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ledgers=st.lists(st.lists(invoice_rows(), max_size=8), min_size=1, max_size=4))
def test_figures_agree_with_the_receivables_rules(usd_tenant, ledgers):
    factors = ledger.base_factors({"EUR": Decimal(1), **RATES}, base="USD")
    with active(usd_tenant):
        buyers = []
        for rows in ledgers:
            buyer = BuyerFactory(tenant=usd_tenant)
            for row in rows:
                Invoice.objects.create(
                    tenant=usd_tenant, buyer=buyer, erp_reference=f"F-{next(references)}", **row
                )
            buyers.append((buyer, rows))
        figures.refresh_buyers(
            tenant=usd_tenant, buyer_ids=[buyer.pk for buyer, _rows in buyers], as_of=AS_OF
        )
        for buyer, rows in buyers:
            items, sales, open_count = [], Decimal(0), 0
            for row in rows:
                is_open = receivables.is_open_invoice(
                    status=row["status"], amount=row["amount"], paid_amount=row["paid_amount"]
                )
                open_count += is_open
                if row["currency"] not in factors:
                    continue
                factor = factors[row["currency"]]
                if is_open:
                    items.append(
                        receivables.OpenItem(
                            due_date=row["due_date"],
                            outstanding=receivables.to_base(
                                row["amount"] - row["paid_amount"], factor
                            ),
                            disputed=row["status"] == "disputed",
                        )
                    )
                if row["issue_date"] >= AS_OF - timedelta(days=365):
                    sales += receivables.to_base(row["amount"], factor)
            stored = BuyerFigures.objects.get(buyer=buyer)
            aging = receivables.aging(items, as_of=AS_OF)
            assert stored.as_of == AS_OF
            assert stored.exposure == receivables.exposure(items)
            assert stored.overdue == receivables.overdue_amount(items, as_of=AS_OF)
            assert stored.disputed == receivables.disputed_amount(items)
            assert {key: getattr(stored, f"aging_{key}") for key in aging} == aging
            assert stored.open_invoices == open_count
            assert stored.overdue_invoices == sum(
                1
                for row in rows
                if receivables.is_open_invoice(
                    status=row["status"], amount=row["amount"], paid_amount=row["paid_amount"]
                )
                and row["due_date"] < AS_OF
            )
            # Counts and days cover every open invoice, with or without a rate (as
            # `ledger.receivables_annotations` counts open invoices).
            assert stored.days_overdue_max == max(
                (
                    receivables.days_past_due(due_date=row["due_date"], as_of=AS_OF)
                    for row in rows
                    if receivables.is_open_invoice(
                        status=row["status"], amount=row["amount"], paid_amount=row["paid_amount"]
                    )
                    and row["due_date"] < AS_OF
                ),
                default=0,
            )
            assert stored.credit_sales_365 == sales
            assert stored.utilisation is None and stored.credit_limit is None


def test_figures_carry_score_limit_cover_insured_and_alerts(tenant_a):
    today = date.today()
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        InvoiceFactory(buyer=buyer, amount=Decimal("50000.00"))
        BuyerScoreFactory(buyer=buyer, period=today.replace(day=1) - timedelta(days=40), grade=3)
        latest = BuyerScoreFactory(buyer=buyer, period=today.replace(day=1), grade=7)
        CreditLimitFactory(buyer=buyer, amount=Decimal("200000.00"), status="blocked")
        policy = InsurancePolicyFactory(tenant=tenant_a)
        InsurerCoverFactory(buyer=buyer, amount=Decimal("80000.00"), policy=policy)
        AlertFactory(buyer=buyer)
        AlertFactory(buyer=buyer, status=Alert.Status.RESOLVED)
        figures.refresh_all(tenant=tenant_a)
        stored = BuyerFigures.objects.get(buyer=buyer)
    assert stored.exposure == Decimal("50000.00")
    assert (stored.grade, stored.score) == (7, round(latest.score))
    assert stored.pd == latest.probability_of_default
    assert stored.model_version == latest.model_version
    assert stored.credit_limit == Decimal("200000.00") and stored.limit_blocked
    assert stored.utilisation == Decimal("0.250000")
    assert stored.cover == Decimal("80000.00") and stored.policy_id == policy.pk
    assert stored.open_alerts == 1


# --- Dirty marking ---------------------------------------------------------------------------


def test_every_source_table_marks_the_buyers_it_touched(tenant_a):
    with active(tenant_a):
        buyer, other = BuyerFactory(tenant=tenant_a), BuyerFactory(tenant=tenant_a)
        assert dirty_buyers(tenant_a) == {buyer.pk, other.pk}  # buyers_buyer INSERT

        def marks(action) -> set[int]:
            clear_dirty(tenant_a)
            action()
            return dirty_buyers(tenant_a)

        invoice = InvoiceFactory(buyer=buyer)
        assert marks(lambda: InvoiceFactory(buyer=buyer)) == {buyer.pk}
        assert marks(lambda: Invoice.objects.filter(pk=invoice.pk).update(paid_amount=1)) == {
            buyer.pk
        }
        # A move to another buyer marks both, from the old and the new rows.
        assert marks(lambda: Invoice.objects.filter(pk=invoice.pk).update(buyer=other)) == {
            buyer.pk,
            other.pk,
        }
        assert marks(lambda: Invoice.objects.filter(pk=invoice.pk).delete()) == {other.pk}
        assert marks(lambda: BuyerScoreFactory(buyer=buyer)) == {buyer.pk}
        alert = AlertFactory(buyer=other)
        assert marks(
            lambda: Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.ACKNOWLEDGED)
        ) == {other.pk}
        limit = CreditLimitFactory(buyer=buyer)
        assert marks(lambda: CreditLimit.objects.filter(pk=limit.pk).update(status="blocked")) == {
            buyer.pk
        }
        assert marks(lambda: InsurerCoverFactory(buyer=other)) == {other.pk}
        cover = InsurerCoverFactory(buyer=buyer, history=False)
        assert marks(lambda: CoverDecisionFactory(cover=cover)) == {buyer.pk}
        policy = InsurancePolicyFactory(tenant=tenant_a)
        invoice = InvoiceFactory(buyer=other)

        def coverage() -> None:
            InvoiceCoverage.objects.create(
                tenant=tenant_a, invoice=invoice, policy=policy, buyer=other, as_of=AS_OF,
                due_date=AS_OF, outstanding=1, insured=1, uninsured=0, over_cover=0,
                disputed=False, extension_end=AS_OF, notify_by=AS_OF, earliest_claim=AS_OF,
                claim_by=AS_OF, notified=False, cover_lost=False,
            )  # fmt: skip

        assert marks(coverage) == {other.pk}


def test_a_bulk_statement_marks_each_buyer_once(tenant_a):
    with active(tenant_a):
        buyers = [BuyerFactory(tenant=tenant_a) for _ in range(3)]
        clear_dirty(tenant_a)
        Invoice.objects.bulk_create(
            [
                InvoiceFactory.build(buyer=buyer, tenant=tenant_a)
                for buyer in buyers
                for _ in range(5)
            ]
        )
        assert FiguresDirty.objects.count() == 3
        Invoice.objects.update(status="paid", paid_amount=Decimal("1000.00"))
        assert dirty_buyers(tenant_a) == {buyer.pk for buyer in buyers}


# --- figures_fresh ---------------------------------------------------------------------------


def test_figures_fresh_refreshes_all_on_a_new_day_and_the_dirty_ones_in_between(
    tenant_a, monkeypatch, django_assert_num_queries
):
    day = date(2026, 12, 7)
    monkeypatch.setattr(figures, "today", lambda: day)
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        InvoiceFactory(buyer=buyer, issue_date=day - timedelta(days=30), due_date=day)
        figures.figures_fresh(tenant=tenant_a)
        stored = BuyerFigures.objects.get(buyer=buyer)
        assert (stored.as_of, stored.overdue, stored.exposure) == (day, 0, Decimal("1000.00"))
        assert PortfolioSnapshot.objects.get(as_of=day).exposure == Decimal("1000.00")
        assert not dirty_buyers(tenant_a)

        with django_assert_num_queries(1):
            figures.figures_fresh(tenant=tenant_a)

        InvoiceFactory(buyer=buyer, issue_date=day - timedelta(days=3), due_date=day)
        figures.figures_fresh(tenant=tenant_a)
        assert BuyerFigures.objects.get(buyer=buyer).exposure == Decimal("2000.00")
        assert not dirty_buyers(tenant_a)

        # The next day: nothing changed, but both invoices are now overdue.
        monkeypatch.setattr(figures, "today", lambda: day + timedelta(days=1))
        figures.figures_fresh(tenant=tenant_a)
        stored = BuyerFigures.objects.get(buyer=buyer)
    assert (stored.as_of, stored.overdue, stored.overdue_invoices) == (
        day + timedelta(days=1),
        Decimal("2000.00"),
        2,
    )
    assert stored.days_overdue_max == 1


def test_a_refresh_too_large_for_a_request_goes_to_one_task(
    tenant_a, monkeypatch, sent_tasks, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(figures, "INLINE_BUYERS", 2)
    monkeypatch.setattr(figures, "INLINE_DIRTY", 2)
    cache.delete_many(
        [f"figures:refresh:{tenant_a.pk}:all:{date.today().isoformat()}"]
        + [f"figures:refresh:{tenant_a.pk}:dirty:{minute}" for minute in _minutes()]
    )
    with active(tenant_a):
        buyers = [BuyerFactory(tenant=tenant_a) for _ in range(3)]
        with django_capture_on_commit_callbacks(execute=True):
            figures.figures_fresh(tenant=tenant_a)
            figures.figures_fresh(tenant=tenant_a)
        assert not BuyerFigures.objects.exists()
    assert [(task.name, task.args[0]) for task in sent_tasks] == [
        ("buyers.figures_refresh", "all"),
        ("buyers.figures_refresh", "dirty"),
    ]
    tasks.figures_refresh(*sent_tasks[0].args, tenant_id=tenant_a.pk)
    with active(tenant_a):
        assert BuyerFigures.objects.count() == len(buyers)
        assert not FiguresDirty.objects.exists()


def _minutes() -> list[int]:
    now = int(time.time() // 60)
    return [now, now + 1]


def test_the_daily_job_fans_out_and_writes_the_snapshot(tenant_a, tenant_b, sent_tasks):
    tasks.figures_daily()
    assert {(task.name, task.kwargs["tenant_id"]) for task in sent_tasks} == {
        ("buyers.figures_daily_run", tenant_a.pk),
        ("buyers.figures_daily_run", tenant_b.pk),
    }
    with active(tenant_a):
        InvoiceFactory(buyer=BuyerFactory(tenant=tenant_a), amount=Decimal("70.00"))
    tasks.figures_daily_run(AS_OF.isoformat(), tenant_id=tenant_a.pk)
    tasks.figures_daily_run(AS_OF.isoformat(), tenant_id=tenant_a.pk)  # idempotent
    with active(tenant_a):
        snapshot = PortfolioSnapshot.objects.get()
        assert (snapshot.as_of, snapshot.exposure, snapshot.buyer_count) == (
            AS_OF,
            Decimal("70.00"),
            1,
        )
        assert BuyerFigures.objects.get().as_of == AS_OF


# --- Tenancy ---------------------------------------------------------------------------------


def test_other_tenants_cannot_read_the_figures(tenant_a, tenant_b):
    with active(tenant_a):
        InvoiceFactory(buyer=BuyerFactory(tenant=tenant_a))
        figures.refresh_all(tenant=tenant_a)
        InvoiceFactory(buyer=BuyerFactory(tenant=tenant_a))  # leaves a dirty mark
    with active(tenant_b), connection.cursor() as cursor:
        for table in ("buyers_buyerfigures", "buyers_portfoliosnapshot", "buyers_figuresdirty"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone() == (0,), table
        figures.figures_fresh(tenant=tenant_b)
        assert BuyerFigures.objects.count() == 0
    with active(tenant_a):
        assert BuyerFigures.objects.count() == 1 and FiguresDirty.objects.count() == 1
