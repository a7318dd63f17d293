"""The Limits overview reads the maintained figures: with them current, no query of the page
touches the invoices, and no aggregate runs twice."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buyers.figures import refresh_all
from policies import selectors
from tests.conftest import active
from tests.factories import BuyerFactory, CreditLimitFactory, InsurerCoverFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(tenant_a):
    with active(tenant_a):
        over = BuyerFactory(tenant=tenant_a, legal_name="Over Limit AG")
        within = BuyerFactory(tenant=tenant_a, legal_name="Within Limit GmbH")
        CreditLimitFactory(buyer=over, amount=Decimal("1000.00"))
        CreditLimitFactory(buyer=within, amount=Decimal("90000.00"))
        InsurerCoverFactory(buyer=within, amount=Decimal("40000.00"))
        InvoiceFactory(buyer=over, amount=Decimal("3000.00"))
        InvoiceFactory(buyer=within, amount=Decimal("9000.00"))
        refresh_all(tenant=tenant_a)
    return {"over": over, "within": within}


def test_the_overview_page_reads_figures_not_invoices(client, owner, portfolio):
    client.force_login(owner)
    client.get(reverse("limits:overview"))  # sessions, caches

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("limits:overview")).content.decode()

    sql = [query["sql"] for query in queries.captured_queries]
    assert not [q for q in sql if "buyers_invoice" in q or "policies_coverdecision" in q]
    aggregates = Counter(q for q in sql if "SUM(" in q or "COUNT(" in q)
    assert [q for q, times in aggregates.items() if times > 1] == []
    assert "Over Limit AG" in page and "Within Limit GmbH" in page
    assert "300%" in page and "10%" in page


def test_the_summary_counts_from_the_figures(tenant_a, portfolio):
    with active(tenant_a):
        summary = selectors.limits_summary(tenant=tenant_a)
        over = list(selectors.limits_overview(tenant=tenant_a, state="over_limit"))
    assert (summary.limits, summary.over_limit, summary.blocked) == (2, 1, 0)
    assert summary.total_limits == Decimal("91000.00")
    assert summary.total_cover == Decimal("40000.00")
    assert [buyer.legal_name for buyer in over] == ["Over Limit AG"]


def test_a_new_invoice_shows_on_the_next_overview(client, owner, tenant_a, portfolio):
    client.force_login(owner)
    with active(tenant_a):
        InvoiceFactory(buyer=portfolio["within"], amount=Decimal("82000.00"))

    page = client.get(reverse("limits:overview"), {"state": "over_limit"}).content.decode()

    assert "Within Limit GmbH" in page  # 91,000 of 90,000
    assert "101%" in page
