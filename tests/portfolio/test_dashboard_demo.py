"""The demo's month-end snapshots (the DSO trend's history), computed from the invoices."""

from datetime import timedelta
from decimal import Decimal

import pytest

from buyers.figures import figures_fresh
from buyers.models import BuyerFigures, PortfolioSnapshot
from creditguard.dates import today
from portfolio.demo import seed_demo_portfolio_history
from portfolio.selectors import month_ends
from tests.conftest import active
from tests.factories import BuyerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_the_demo_backfills_each_month_end_from_the_invoices_once(tenant_a):
    ends = month_ends(as_of=today())
    month_end = ends[-2]  # a month-end at least a month back: later payments are in the past

    def invoice(*, issued: int, due: int, amount: str, paid: int | None = None):
        """Days relative to the month-end."""
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            issue_date=month_end + timedelta(days=issued),
            due_date=month_end + timedelta(days=due),
            amount=D(amount),
            paid_amount=D(amount) if paid is not None else D(0),
            paid_date=month_end + timedelta(days=paid) if paid is not None else None,
            status="paid" if paid is not None else "open",
        )

    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        invoice(issued=-40, due=-10, amount="1000", paid=5)  # open and overdue then, paid since
        invoice(issued=-20, due=10, amount="500")  # open then and now, not yet due then
        invoice(issued=-100, due=-70, amount="2000", paid=-60)  # settled before the month-end
        invoice(issued=3, due=33, amount="300")  # issued after it
        figures_fresh(tenant=tenant_a)
        BuyerFigures.objects.filter(buyer=buyer).update(insured=D("400"))  # half of 800

        added = seed_demo_portfolio_history(tenant=tenant_a, as_of=today())
        snapshot = PortfolioSnapshot.objects.get(as_of=month_end)
        again = seed_demo_portfolio_history(tenant=tenant_a, as_of=today())

    assert added == len([end for end in ends if end != today()])
    assert (snapshot.exposure, snapshot.overdue, snapshot.credit_sales_365) == (
        D("1500.00"),
        D("1000.00"),
        D("3500.00"),
    )
    assert snapshot.insured == D("750.00") and snapshot.buyer_count == 1
    assert again == 0
