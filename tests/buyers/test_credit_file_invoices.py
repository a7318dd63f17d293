"""The credit file's invoices: 25 a page, filtered by status, due date and number."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buyers.selectors import credit_file_invoices, today
from tests.buyers.test_views import invoice, page_text
from tests.conftest import active
from tests.factories import BuyerFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer").user


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, legal_name="Nordlicht Handel GmbH")


@pytest.fixture
def ledger(tenant_a, buyer):
    """One invoice of each kind, and one of another buyer with a matching number."""
    with active(tenant_a):
        invoice(buyer, days_past_due=-10, amount="100", number="INV-NOT-DUE")
        invoice(buyer, days_past_due=45, amount="200", number="INV-LATE")
        invoice(buyer, days_past_due=5, amount="300", number="INV-DISPUTED", status="disputed")
        invoice(
            buyer,
            days_past_due=60,
            amount="400",
            number="INV-PAID",
            paid_amount=Decimal("400"),
            status="paid",
            paid_date=today() - timedelta(days=50),
        )
        invoice(BuyerFactory(tenant=tenant_a), days_past_due=45, amount="1", number="INV-OTHER")


# Open ones first, oldest due date first; then the paid and closed ones.
ALL = ["INV-LATE", "INV-DISPUTED", "INV-NOT-DUE", "INV-PAID"]


def numbers(response) -> list[str]:
    return [invoice.number for invoice in response.context["invoices"]["page"].object_list]


def detail(buyer) -> str:
    return reverse("buyers:detail", args=[buyer.pk])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, ALL, id="all"),
        pytest.param({"status": "open"}, ["INV-LATE", "INV-DISPUTED", "INV-NOT-DUE"], id="open"),
        pytest.param({"status": "overdue"}, ["INV-LATE", "INV-DISPUTED"], id="overdue"),
        pytest.param({"status": "paid"}, ["INV-PAID"], id="paid"),
        pytest.param({"status": "disputed"}, ["INV-DISPUTED"], id="disputed"),
        pytest.param({"number": "late"}, ["INV-LATE"], id="number"),
        pytest.param(
            {"number": "inv-"},
            ALL,
            id="part-of-number",
        ),
        pytest.param(
            {"due_from": str(today() - timedelta(days=50)), "due_to": str(today())},
            ["INV-LATE", "INV-DISPUTED"],
            id="due-range",
        ),
        pytest.param({"due_from": str(today())}, ["INV-NOT-DUE"], id="due-from"),
        pytest.param({"due_to": str(today() - timedelta(days=50))}, ["INV-PAID"], id="due-to"),
        pytest.param(
            {"status": "open", "due_to": str(today() - timedelta(days=1)), "number": "dis"},
            ["INV-DISPUTED"],
            id="combined",
        ),
        pytest.param(
            {"status": "nonsense"},
            ALL,
            id="unknown-status-ignored",
        ),
    ],
)
def test_the_invoices_filter_by_status_due_date_and_number(
    client, viewer, buyer, ledger, filters, expected
):
    client.force_login(viewer)

    response = client.get(detail(buyer), filters)

    assert response.status_code == 200
    assert numbers(response) == expected
    assert "INV-OTHER" not in response.content.decode()


def test_a_filter_that_matches_nothing_says_so_and_offers_all_invoices(
    client, viewer, buyer, ledger
):
    client.force_login(viewer)

    response = client.get(detail(buyer), {"number": "nothing-like-this"})

    text = page_text(response)
    assert "No invoices match these filters." in text
    assert f'href="{detail(buyer)}#invoices">Show all invoices' in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "field", "message"),
    [
        ({"due_from": "31.02.2026"}, "due_from", "Enter a valid date."),
        ({"due_from": "2026-06-01", "due_to": "2026-05-01"}, "due_to", "before its start"),
    ],
)
def test_a_bad_date_is_an_error_on_its_field_and_the_page_still_shows(
    client, viewer, buyer, ledger, filters, field, message
):
    client.force_login(viewer)

    response = client.get(detail(buyer), filters)

    assert response.status_code == 200
    form = response.context["invoices"]["form"]
    assert message in " ".join(form.errors[field])
    assert f"{form.fields[field].label}: " in page_text(response)
    assert "Nordlicht Handel GmbH" in page_text(response)


def test_the_invoices_come_25_a_page_and_the_pages_keep_the_filters(
    client, viewer, tenant_a, buyer
):
    with active(tenant_a):
        for number in range(30):
            invoice(buyer, days_past_due=number, amount="10", number=f"OPEN-{number:02d}")
        invoice(buyer, days_past_due=3, amount="10", number="PAID-1", status="paid")
    client.force_login(viewer)

    first = client.get(detail(buyer), {"status": "open"})
    second = client.get(detail(buyer), {"status": "open", "page": "2"})

    assert len(numbers(first)) == 25
    assert numbers(first)[0] == "OPEN-29"  # oldest due date first
    assert numbers(second) == ["OPEN-04", "OPEN-03", "OPEN-02", "OPEN-01", "OPEN-00"]
    assert "?status=open&amp;page=2#invoices" in first.content.decode()
    assert "?status=open&amp;page=1#invoices" in second.content.decode()
    assert "30 invoices" in page_text(first)
    assert "Page 1 of 2" in page_text(first)


def test_a_page_past_the_end_shows_the_last_page(client, viewer, tenant_a, buyer):
    with active(tenant_a):
        for number in range(26):
            invoice(buyer, days_past_due=number, amount="10", number=f"N-{number:02d}")
    client.force_login(viewer)

    response = client.get(detail(buyer), {"page": "99"})

    assert numbers(response) == ["N-00"]


def test_the_rest_of_the_credit_file_stays_on_every_page(client, viewer, tenant_a, buyer):
    with active(tenant_a):
        for number in range(30):
            invoice(buyer, days_past_due=number, amount="100", number=f"N-{number:02d}")
    client.force_login(viewer)

    text = page_text(client.get(detail(buyer), {"page": "2", "status": "overdue"}))

    assert "Exposure EUR 3,000" in text
    for section in ("Aging of open invoices", "Financial statements", "Payments", "Notes"):
        assert section in text


def test_the_invoice_page_reads_only_this_buyers_invoices(tenant_a, buyer, ledger):
    with active(tenant_a):
        queryset = credit_file_invoices(buyer=buyer, as_of=today(), status="overdue", search="x")
        sql = str(queryset.query)

    assert f'"buyers_invoice"."buyer_id" = {buyer.pk}' in sql


def test_the_page_runs_the_same_queries_for_few_and_many_invoices(client, viewer, tenant_a, buyer):
    client.force_login(viewer)

    def page_queries() -> int:
        client.get(detail(buyer), {"status": "open"})
        with CaptureQueriesContext(connection) as queries:
            assert client.get(detail(buyer), {"status": "open"}).status_code == 200
        return len(queries)

    with active(tenant_a):
        invoice(buyer, days_past_due=3, amount="10")
    few = page_queries()
    with active(tenant_a):
        for number in range(60):
            invoice(buyer, days_past_due=number - 20, amount="10")

    assert page_queries() == few


def test_another_tenants_credit_file_is_not_found_whatever_the_filters(
    client, outsider, buyer, ledger
):
    client.force_login(outsider)

    for filters in ({}, {"status": "open"}, {"number": "INV", "page": "2"}):
        response = client.get(detail(buyer), filters)
        assert response.status_code == 404
        assert "INV-LATE" not in response.content.decode()


def test_an_analyst_sees_the_dispute_link_on_open_invoices(client, teammate, buyer, ledger):
    client.force_login(teammate)

    response = client.get(detail(buyer), {"status": "open"})

    page = response.content.decode()
    assert f"{reverse('buyers:dispute-open', args=[buyer.pk])}?invoice=" in page
