"""The dashboard: a portfolio overview of the active tenant."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from creditguard.dates import today
from tests.conftest import active
from tests.factories import AuditEventFactory, BuyerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


def invoice(buyer, *, days_past_due: int, amount: str, **fields):
    due_date = today() - timedelta(days=days_past_due)
    return InvoiceFactory(
        buyer=buyer,
        issue_date=due_date - timedelta(days=30),
        due_date=due_date,
        amount=Decimal(amount),
        **fields,
    )


@pytest.fixture
def portfolio(tenant_a):
    """Two buyers: 1,000 current in Germany; 3,000 overdue (1,000 disputed) in France."""
    with active(tenant_a):
        german = BuyerFactory(tenant=tenant_a, country_id="DE")
        french = BuyerFactory(tenant=tenant_a, country_id="FR")
        invoice(german, days_past_due=-10, amount="1000")
        invoice(german, days_past_due=70, amount="5000", paid_amount=Decimal("5000"), status="paid")
        invoice(french, days_past_due=40, amount="2000")
        invoice(french, days_past_due=100, amount="1000", status="disputed")
        AuditEventFactory(tenant=tenant_a, object_label="tenant-a-audit-marker")


def test_the_dashboard_sums_up_a_small_portfolio(client, teammate, portfolio):
    client.force_login(teammate)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    text = page_text(response)
    assert "Buyers 2 " in text
    assert "Exposure EUR 4,000 Open receivables" in text
    assert "Overdue EUR 3,000 75.0% of exposure" in text
    assert "Disputed EUR 1,000" in text
    totals = response.context["totals"]
    assert (totals.buyers, totals.exposure, totals.overdue, totals.disputed) == (
        2,
        Decimal("4000"),
        Decimal("3000"),
        Decimal("1000"),
    )


def test_the_dashboard_shows_the_aging_chart(client, teammate, portfolio):
    client.force_login(teammate)

    page = client.get(reverse("dashboard")).content.decode()

    assert (
        'aria-label="Aging of open invoices: Current 1,000 EUR; 1-30 days 0 EUR; '
        "31-60 days 2,000 EUR; 61-90 days 0 EUR; 91-180 days 1,000 EUR; "
        'Over 180 days 0 EUR"'
    ) in page


def test_the_dashboard_ranks_countries_by_exposure_with_their_share(client, teammate, portfolio):
    client.force_login(teammate)

    response = client.get(reverse("dashboard"))

    rows = response.context["risk_map"]["rows"]
    assert [(row.code, row.total.exposure) for row in rows] == [
        ("FR", Decimal("3000")),
        ("DE", Decimal("1000")),
    ]
    text = page_text(response)
    assert "France 3,000 3,000 75.0% Germany 1,000 1,000 25.0%" in text
    assert f"{reverse('buyers:list')}?sort=-exposure&amp;country=FR" in response.content.decode()


def test_the_dashboard_shows_the_as_of_date_currency_and_recent_activity(
    client, teammate, portfolio
):
    client.force_login(teammate)

    text = page_text(client.get(reverse("dashboard")))

    assert "Portfolio as of " in text and ", in EUR." in text
    assert "Recent activity" in text


def test_the_dashboard_names_countries_in_chinese(client, teammate, portfolio):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    client.force_login(teammate)

    text = page_text(client.get(reverse("dashboard")))

    assert "法国 3,000 3,000 75.0% 德国 1,000 1,000 25.0%" in text


def test_the_dashboard_leaves_out_other_tenants_invoices(client, outsider, tenant_b, portfolio):
    with active(tenant_b):
        invoice(BuyerFactory(tenant=tenant_b, country_id="IT"), days_past_due=5, amount="777")
    client.force_login(outsider)

    response = client.get(reverse("dashboard"))

    totals = response.context["totals"]
    assert (totals.buyers, totals.exposure, totals.overdue) == (
        1,
        Decimal("777"),
        Decimal("777"),
    )
    assert "France" not in page_text(response)


def test_an_empty_portfolio_invites_to_import_buyers(client, teammate):
    client.force_login(teammate)

    page = client.get(reverse("dashboard")).content.decode()

    assert "Start with your buyers" in page
    assert f'href="{reverse("imports:list")}"' in page
    assert "No open invoices." not in page  # the invitation says it all


def test_the_navigation_links_buyers_and_imports(client, teammate):
    client.force_login(teammate)

    page = client.get(reverse("buyers:list")).content.decode()

    assert f'<a href="{reverse("buyers:list")}" class="active">Buyers</a>' in page
    assert f'<a href="{reverse("imports:list")}" class="">Imports</a>' in page
