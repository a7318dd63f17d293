"""The buyer pages: list, create/edit form, credit file and its small write forms."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buyers import services
from buyers.models import (
    Buyer,
    BuyerDocument,
    BuyerNote,
    Dispute,
    FinancialStatement,
    Instalment,
    Invoice,
    PaymentPlan,
)
from buyers.selectors import today
from tests.buyers.statements import FIGURES
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    FinancialStatementFactory,
    InvoiceFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db

# Everything the list page runs: the request's savepoints (4) and tenant settings (2), session, user
# and membership (3), filter options (countries, sectors, insurance policies: 3), whether the
# figures are current (1), count and page (2), the unread-notifications badge (1), whether the
# user has two-factor sign-in (1): 17; and, after buyers or invoices changed, the refresh of the
# changed buyers' figures (`buyers.figures`: savepoint and release, claim, exchange rates,
# upsert, update: 6). A fixed number, whatever the rows.
LIST_QUERY_BUDGET = 23


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer").user


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(
            tenant=tenant_a,
            erp_reference="C-1",
            legal_name="Nordlicht Handel GmbH",
            registration_number="HRB 4711",
            vat_number="DE123456789",
        )


def invoice(buyer, *, days_past_due: int, amount: str, **fields) -> Invoice:
    """An invoice of `buyer` (its tenant active) due `days_past_due` days ago."""
    due_date = today() - timedelta(days=days_past_due)
    return InvoiceFactory(
        buyer=buyer,
        issue_date=due_date - timedelta(days=30),
        due_date=due_date,
        amount=Decimal(amount),
        **fields,
    )


def page_text(response) -> str:
    """The page's visible text, whitespace collapsed (for asserting on what a user reads)."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


def page_without_its_url_and_csrf_token(response) -> str:
    text = response.content.decode().replace(response.request["PATH_INFO"], "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


def row_names(response) -> list[str]:
    return [buyer.legal_name for buyer in response.context["page"].object_list]


# --- List --------------------------------------------------------------------------------------


@pytest.fixture
def portfolio(tenant_a):
    """Three buyers in two countries and sectors, one on hold, with different exposures."""
    with active(tenant_a):
        nord = BuyerFactory(
            tenant=tenant_a,
            erp_reference="N-1",
            legal_name="Nordlicht GmbH",
            vat_number="DE111111111",
            registration_number="HRB 1",
        )
        atlantique = BuyerFactory(
            tenant=tenant_a,
            erp_reference="A-1",
            legal_name="Atlantique SAS",
            country_id="FR",
            nace_code="28.41",
            nace_section="C",
        )
        zephyr = BuyerFactory(
            tenant=tenant_a,
            erp_reference="Z-1",
            legal_name="Zephyr Bau GmbH",
            nace_code="41.20",
            nace_section="F",
            status=Buyer.Status.ON_HOLD,
        )
        invoice(nord, days_past_due=-10, amount="1500")
        invoice(atlantique, days_past_due=40, amount="12000")
        invoice(atlantique, days_past_due=5, amount="300")
        invoice(zephyr, days_past_due=100, amount="700")
        invoice(
            zephyr, days_past_due=200, amount="9000", paid_amount=Decimal("9000"), status="paid"
        )
    return {"nord": nord, "atlantique": atlantique, "zephyr": zephyr}


def test_the_list_shows_each_buyers_exposure_and_overdue(client, teammate, portfolio):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"))

    assert response.status_code == 200
    text = page_text(response)
    # Name, country, sector, status, grade, score, exposure, overdue, limit, utilisation, cover
    # (unrated, without limit or cover: a dash each; tests/buyers/test_buyer_list.py has them).
    assert "Atlantique SAS A-1 France C · Manufacturing Active — — 12,300 12,300 — — — " in text
    assert (
        "Nordlicht GmbH N-1 Germany G · Wholesale and retail tr… Active — — 1,500 0 — — — " in text
    )
    assert "Zephyr Bau GmbH Z-1 Germany F · Construction On hold — — 700 700 — — — " in text
    assert row_names(response) == ["Atlantique SAS", "Nordlicht GmbH", "Zephyr Bau GmbH"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("licht", ["Nordlicht GmbH"], id="part-of-the-name"),
        pytest.param("a-1", ["Atlantique SAS"], id="erp-reference"),
        pytest.param("DE111111111", ["Nordlicht GmbH"], id="vat-number"),
        pytest.param("HRB 1", ["Nordlicht GmbH"], id="registration-number"),
        pytest.param("GmbH", ["Nordlicht GmbH", "Zephyr Bau GmbH"], id="several"),
        pytest.param("nobody", [], id="nothing"),
    ],
)
def test_the_list_searches_name_erp_reference_registration_and_vat(
    client, teammate, portfolio, search, expected
):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), {"q": search})

    assert row_names(response) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"country": "FR"}, ["Atlantique SAS"], id="country"),
        pytest.param({"sector": "F"}, ["Zephyr Bau GmbH"], id="sector"),
        pytest.param({"status": "on_hold"}, ["Zephyr Bau GmbH"], id="status"),
        pytest.param({"country": "DE", "sector": "G"}, ["Nordlicht GmbH"], id="combined"),
        pytest.param(
            {"country": "XX"},
            ["Atlantique SAS", "Nordlicht GmbH", "Zephyr Bau GmbH"],
            id="unknown-value-ignored",
        ),
    ],
)
def test_the_list_filters_by_country_sector_and_status(
    client, teammate, portfolio, filters, expected
):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), filters)

    assert row_names(response) == expected


def test_the_filters_offer_only_countries_and_sectors_the_tenant_has(client, teammate, portfolio):
    client.force_login(teammate)

    form = client.get(reverse("buyers:list")).context["form"]

    assert [code for code, _name in form.fields["country"].choices] == ["", "FR", "DE"]
    assert dict(form.fields["sector"].choices)["F"] == "F · Construction"
    assert [code for code, _name in form.fields["sector"].choices] == ["", "C", "F", "G"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Atlantique SAS", "Nordlicht GmbH", "Zephyr Bau GmbH"]),
        ("-name", ["Zephyr Bau GmbH", "Nordlicht GmbH", "Atlantique SAS"]),
        ("-exposure", ["Atlantique SAS", "Nordlicht GmbH", "Zephyr Bau GmbH"]),
        ("exposure", ["Zephyr Bau GmbH", "Nordlicht GmbH", "Atlantique SAS"]),
        ("-overdue", ["Atlantique SAS", "Zephyr Bau GmbH", "Nordlicht GmbH"]),
        ("country", ["Atlantique SAS", "Nordlicht GmbH", "Zephyr Bau GmbH"]),
        ("nonsense", ["Atlantique SAS", "Nordlicht GmbH", "Zephyr Bau GmbH"]),
    ],
)
def test_the_list_sorts_by_the_chosen_column(client, teammate, portfolio, sort, expected):
    client.force_login(teammate)

    response = client.get(reverse("buyers:list"), {"sort": sort})

    assert row_names(response) == expected


def test_a_column_header_sorts_and_a_second_click_reverses_keeping_the_filters(
    client, teammate, portfolio
):
    client.force_login(teammate)

    first = client.get(reverse("buyers:list"), {"country": "DE"}).context["sort_links"]
    second = client.get(reverse("buyers:list"), {"country": "DE", "sort": "-exposure"})

    assert first["exposure"] == {"url": "?country=DE&sort=-exposure", "direction": ""}
    assert second.context["sort_links"]["exposure"] == {
        "url": "?country=DE&sort=exposure",
        "direction": "descending",
    }
    assert 'aria-sort="descending"' in second.content.decode()


def test_the_list_pages_by_fifty_keeping_the_query_string(client, teammate, tenant_a):
    with active(tenant_a):
        BuyerFactory.create_batch(51, tenant=tenant_a)
        BuyerFactory(tenant=tenant_a, legal_name="Outside the search", erp_reference="X-9")
    client.force_login(teammate)

    first = client.get(reverse("buyers:list"), {"q": "Buyer", "sort": "-name"})
    second = client.get(reverse("buyers:list"), {"q": "Buyer", "sort": "-name", "page": "2"})

    assert len(first.context["page"].object_list) == 50
    assert "?q=Buyer&amp;sort=-name&amp;page=2" in first.content.decode()
    assert len(second.context["page"].object_list) == 1
    assert "51 buyers" in page_text(first)


def test_the_list_runs_a_fixed_number_of_queries_however_many_buyers(
    client, teammate, tenant_a, django_assert_max_num_queries
):
    client.force_login(teammate)

    def list_queries() -> int:
        # After writes the first request refreshes the changed buyers' figures; count the next.
        client.get(reverse("buyers:list"), {"sort": "-exposure"})
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("buyers:list"), {"sort": "-exposure"}).status_code == 200
        return len(queries)

    with active(tenant_a):
        for country in ("DE", "FR"):
            invoice(BuyerFactory(tenant=tenant_a, country_id=country), days_past_due=3, amount="10")
    few = list_queries()
    with active(tenant_a):
        for number in range(40):
            parent = BuyerFactory(tenant=tenant_a, country_id=("DE", "FR", "IT", "PL")[number % 4])
            invoice(parent, days_past_due=number, amount="100")
            invoice(parent, days_past_due=-number, amount="200")

    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        response = client.get(reverse("buyers:list"), {"sort": "-exposure"})

    assert len(response.context["page"].object_list) == 42
    assert list_queries() == few


def test_an_empty_list_points_to_the_imports(client, teammate):
    client.force_login(teammate)

    page = client.get(reverse("buyers:list")).content.decode()

    assert "No buyers yet" in page
    assert f'href="{reverse("imports:list")}"' in page
    assert reverse("buyers:create") in page


def test_a_search_without_results_says_so(client, teammate, portfolio):
    client.force_login(teammate)

    page = client.get(reverse("buyers:list"), {"q": "nobody"}).content.decode()

    assert "No buyers match these filters." in page


def test_a_viewer_sees_the_list_without_the_new_buyer_button(client, viewer, portfolio):
    client.force_login(viewer)

    page = client.get(reverse("buyers:list")).content.decode()

    assert "Atlantique SAS" in page
    assert reverse("buyers:create") not in page


def test_an_analyst_gets_the_new_buyer_button(client, teammate, portfolio):
    client.force_login(teammate)

    assert reverse("buyers:create") in client.get(reverse("buyers:list")).content.decode()


# --- Create and edit ---------------------------------------------------------------------------

NEW_BUYER = {
    "erp_reference": "C-77",
    "legal_name": "Atlantique SAS",
    "registration_number": "",
    "vat_number": "FR12345678901",
    "lei": "",
    "country": "FR",
    "city": "Nantes",
    "address": "",
    "nace_code": "28.41",
    "parent_erp_reference": "",
    "currency": "eur",
    "payment_terms_days": "60",
    "status": "active",
}


def test_an_analyst_creates_a_buyer_and_lands_on_its_credit_file(client, teammate, tenant_a):
    client.force_login(teammate)

    response = client.post(reverse("buyers:create"), NEW_BUYER, follow=True)

    with active(tenant_a):
        created = Buyer.objects.get(erp_reference="C-77")
    assert response.redirect_chain == [(reverse("buyers:detail", args=[created.pk]), 302)]
    assert (created.country_id, created.nace_section, created.currency) == ("FR", "C", "EUR")
    assert created.payment_terms_days == 60
    assert "Atlantique SAS was created." in response.content.decode()


def test_a_new_buyer_can_join_a_group_by_its_parents_erp_reference(
    client, teammate, tenant_a, buyer
):
    client.force_login(teammate)

    client.post(reverse("buyers:create"), {**NEW_BUYER, "parent_erp_reference": "C-1"})

    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="C-77").parent == buyer


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        pytest.param(
            {"erp_reference": "C-1"},
            "erp_reference",
            "This ERP reference is already used.",
            id="duplicate-reference",
        ),
        pytest.param(
            {"nace_code": "04.10"},
            "nace_code",
            "Enter a NACE Rev. 2 code such as 46 or 46.69.",
            id="invalid-nace",
        ),
        pytest.param(
            {"nace_code": "46.99"},
            "nace_code",
            "Enter a NACE Rev. 2 code such as 46 or 46.69.",
            id="nace-class-not-in-the-table",
        ),
        pytest.param(
            {"parent_erp_reference": "NOPE"},
            "parent_erp_reference",
            "No buyer with this ERP reference.",
            id="unknown-parent",
        ),
        pytest.param(
            {"currency": "XYZ"},
            "currency",
            "Enter an ISO 4217 currency code such as EUR.",
            id="unknown-currency",
        ),
        pytest.param(
            {"currency": "EURO"},
            "currency",
            "Use a three-letter ISO 4217 code, e.g. EUR.",
            id="malformed-currency",
        ),
        pytest.param({"lei": "SHORT"}, "lei", "A LEI has 20 letters and digits.", id="invalid-lei"),
        pytest.param(
            {"legal_name": ""}, "legal_name", "This field is required.", id="missing-name"
        ),
        pytest.param({"country": "XX"}, "country", "Select a valid choice.", id="unknown-country"),
    ],
)
def test_an_invalid_new_buyer_shows_the_error_on_its_field_and_saves_nothing(
    client, teammate, tenant_a, buyer, change, field, message
):
    client.force_login(teammate)

    response = client.post(reverse("buyers:create"), {**NEW_BUYER, **change})

    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert "Please correct the errors below." in response.content.decode()
    with active(tenant_a):
        assert list(Buyer.objects.values_list("erp_reference", flat=True)) == ["C-1"]


def test_the_edit_form_starts_from_the_buyer_and_saves_changes(client, teammate, tenant_a, buyer):
    client.force_login(teammate)
    url = reverse("buyers:edit", args=[buyer.pk])

    form = client.get(url).context["form"]
    response = client.post(
        url, {**form.initial, "legal_name": "Nordlicht Handel AG", "status": "on_hold"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("buyers:detail", args=[buyer.pk])
    assert form.initial["erp_reference"] == "C-1"
    with active(tenant_a):
        buyer.refresh_from_db()
    assert (buyer.legal_name, buyer.status, buyer.vat_number) == (
        "Nordlicht Handel AG",
        "on_hold",
        "DE123456789",
    )


def test_an_edit_that_makes_the_buyer_its_own_parent_is_refused(client, teammate, tenant_a, buyer):
    client.force_login(teammate)
    url = reverse("buyers:edit", args=[buyer.pk])
    initial = client.get(url).context["form"].initial

    response = client.post(url, {**initial, "legal_name": "Changed", "parent_erp_reference": "C-1"})

    assert response.status_code == 200
    assert response.context["form"].errors["parent_erp_reference"] == [
        "A buyer cannot be its own parent."
    ]
    with active(tenant_a):
        buyer.refresh_from_db()
    assert (buyer.legal_name, buyer.parent_id) == ("Nordlicht Handel GmbH", None)


def test_an_edit_that_makes_a_loop_in_the_group_is_refused(client, teammate, tenant_a, buyer):
    with active(tenant_a):
        subsidiary = BuyerFactory(tenant=tenant_a, erp_reference="C-2", parent=buyer)
    client.force_login(teammate)
    url = reverse("buyers:edit", args=[buyer.pk])

    response = client.post(
        url, {**NEW_BUYER, "erp_reference": "C-1", "parent_erp_reference": "C-2"}
    )

    assert "A buyer cannot belong to its own subsidiary." in response.content.decode()
    with active(tenant_a):
        buyer.refresh_from_db()
    assert buyer.parent_id is None and subsidiary.parent_id == buyer.pk


def test_a_viewer_cannot_create_or_edit_buyers(client, viewer, tenant_a, buyer):
    client.force_login(viewer)

    assert client.get(reverse("buyers:create")).status_code == 403
    assert client.post(reverse("buyers:create"), NEW_BUYER).status_code == 403
    assert client.post(reverse("buyers:edit", args=[buyer.pk]), NEW_BUYER).status_code == 403
    with active(tenant_a):
        assert list(Buyer.objects.values_list("legal_name", flat=True)) == ["Nordlicht Handel GmbH"]


# --- Credit file -------------------------------------------------------------------------------


def test_the_credit_file_shows_the_aging_of_hand_made_invoices(client, viewer, tenant_a, buyer):
    with active(tenant_a):
        invoice(buyer, days_past_due=-10, amount="1000")  # current
        invoice(buyer, days_past_due=0, amount="500")  # due today: current
        invoice(buyer, days_past_due=30, amount="2000")  # 1-30
        invoice(buyer, days_past_due=31, amount="3000")  # 31-60
        invoice(
            buyer,
            days_past_due=75,
            amount="4000",
            paid_amount=Decimal("1500"),
            status="partially_paid",
        )
        invoice(buyer, days_past_due=120, amount="5000", status="disputed")  # 91-180
        invoice(buyer, days_past_due=181, amount="6000")  # over 180
        invoice(buyer, days_past_due=50, amount="7000", paid_amount=Decimal("7000"), status="paid")
    client.force_login(viewer)

    response = client.get(reverse("buyers:detail", args=[buyer.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        'aria-label="Aging of open invoices: Current 1,500 EUR; 1-30 days 2,000 EUR; '
        "31-60 days 3,000 EUR; 61-90 days 2,500 EUR; 91-180 days 5,000 EUR; "
        'Over 180 days 6,000 EUR"'
    ) in page
    credit_file = response.context["file"]
    assert (credit_file.exposure, credit_file.overdue, credit_file.disputed) == (
        Decimal("20000.00"),
        Decimal("18500.00"),
        Decimal("5000.00"),
    )
    text = page_text(response)
    assert "Exposure EUR 20,000" in text
    assert "Overdue EUR 18,500 92.5% of exposure" in text
    assert "Disputed EUR 5,000" in text


def test_the_credit_file_lists_open_invoices_oldest_first_then_paid_ones(
    client, viewer, tenant_a, buyer
):
    with active(tenant_a):
        invoice(buyer, days_past_due=-5, amount="100", number="INV-NOT-DUE")
        invoice(buyer, days_past_due=45, amount="200", number="INV-LATE")
        invoice(
            buyer,
            days_past_due=60,
            amount="300",
            number="INV-PAID",
            paid_amount=Decimal("300"),
            status="paid",
        )
    client.force_login(viewer)

    response = client.get(reverse("buyers:detail", args=[buyer.pk]))

    invoices = response.context["invoices"]
    assert [i.number for i in invoices["open"]] == ["INV-LATE", "INV-NOT-DUE"]
    assert [i.days_past_due for i in invoices["open"]] == [45, 0]
    assert [i.number for i in invoices["closed"]] == ["INV-PAID"]
    text = page_text(response)
    assert text.index("INV-LATE") < text.index("INV-NOT-DUE") < text.index("INV-PAID")


def test_the_credit_file_shows_identity_group_and_group_exposure(client, viewer, tenant_a, buyer):
    with active(tenant_a):
        parent = BuyerFactory(tenant=tenant_a, legal_name="Holding AG", erp_reference="H-1")
        buyer.parent = parent
        buyer.save()
        sister = BuyerFactory(tenant=tenant_a, legal_name="Sister GmbH", parent=parent)
        invoice(buyer, days_past_due=1, amount="1000")
        invoice(sister, days_past_due=1, amount="2500")
    client.force_login(viewer)

    response = client.get(reverse("buyers:detail", args=[buyer.pk]))

    page = response.content.decode()
    assert "HRB 4711" in page and "DE123456789" in page
    assert f'href="{reverse("buyers:detail", args=[parent.pk])}">Holding AG</a>' in page
    assert f'href="{reverse("buyers:detail", args=[sister.pk])}">Sister GmbH</a>' in page
    assert "3,500 EUR" in page
    assert "3 companies in the group" in page


def test_the_credit_file_shows_the_official_english_title_of_the_nace_code(
    client, viewer, tenant_a, buyer
):
    client.force_login(viewer)

    response = client.get(reverse("buyers:detail", args=[buyer.pk]))

    assert buyer.nace_code == "46.69"
    assert (
        'NACE 46.69 · <span lang="en">Wholesale of other machinery and equipment</span>'
        in response.content.decode()
    )


def test_the_credit_file_shows_statements_with_ratios(client, viewer, tenant_a, buyer):
    with active(tenant_a):
        FinancialStatementFactory(buyer=buyer)
    client.force_login(viewer)

    text = page_text(client.get(reverse("buyers:detail", args=[buyer.pk])))

    assert "Revenue 10,000,000" in text
    assert "Equity 2,400,000" in text
    assert "Current ratio 1.67" in text
    assert "Equity ratio 40.0%" in text
    assert "Debt to equity 1.50" in text
    assert "EBIT margin 8.0%" in text
    assert "Return on assets 9.2%" in text


def test_a_viewer_reads_the_credit_file_without_write_forms(client, viewer, buyer):
    client.force_login(viewer)

    page = client.get(reverse("buyers:detail", args=[buyer.pk])).content.decode()

    assert "Nordlicht Handel GmbH" in page
    for name in (
        "buyers:edit",
        "buyers:statement-create",
        "buyers:note-add",
        "buyers:document-upload",
    ):
        assert reverse(name, args=[buyer.pk]) not in page


# --- Financial statements ----------------------------------------------------------------------

STATEMENT = {
    "period_end": "2025-12-31",
    "period_months": "12",
    "currency": "EUR",
    **FIGURES,
    "source": "Annual report",
}


def test_an_analyst_adds_a_statement(client, teammate, tenant_a, buyer):
    client.force_login(teammate)

    response = client.post(reverse("buyers:statement-create", args=[buyer.pk]), STATEMENT)

    assert response.status_code == 302
    assert response["Location"] == reverse("buyers:detail", args=[buyer.pk]) + "#financials"
    with active(tenant_a):
        statement = FinancialStatement.objects.get(buyer=buyer)
    assert (statement.revenue, statement.audited) == (Decimal("10000000.00"), False)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # Issue 13: a balance gap ({"equity": "1000000"}) is no longer refused; it is kept
        # with a warning (tests/buyers/test_statements_tolerant.py).
        pytest.param(
            {"total_assets": "-5"},
            "total_assets",
            "Total assets must be greater than zero.",
            id="negative-total-assets",
        ),
        pytest.param(
            {"current_assets": "7000000", "total_assets": "6000000"},
            "current_assets",
            "Current assets cannot exceed total assets.",
            id="current-above-total",
        ),
        pytest.param({"revenue": "abc"}, "revenue", "Enter a number.", id="not-a-number"),
        pytest.param({"period_end": ""}, "period_end", "This field is required.", id="no-period"),
    ],
)
def test_an_implausible_statement_shows_the_problem_and_saves_nothing(
    client, teammate, tenant_a, buyer, change, field, message
):
    client.force_login(teammate)

    response = client.post(
        reverse("buyers:statement-create", args=[buyer.pk]), {**STATEMENT, **change}
    )

    assert response.status_code == 200
    form = response.context["form"]
    errors = form.non_field_errors() if field is None else form.errors[field]
    assert message in errors
    assert message in response.content.decode()
    with active(tenant_a):
        assert not FinancialStatement.objects.exists()


def test_a_second_statement_for_the_same_period_is_refused(client, teammate, tenant_a, buyer):
    with active(tenant_a):
        FinancialStatementFactory(buyer=buyer, revenue=Decimal("1"))
    client.force_login(teammate)

    response = client.post(reverse("buyers:statement-create", args=[buyer.pk]), STATEMENT)

    assert response.context["form"].errors["period_end"] == [
        "A statement for this period already exists."
    ]
    with active(tenant_a):
        assert FinancialStatement.objects.get().revenue == Decimal("1.00")


# --- Disputes ----------------------------------------------------------------------------------


def test_an_analyst_opens_a_dispute_on_an_invoice_and_resolves_it(
    client, teammate, tenant_a, buyer
):
    with active(tenant_a):
        disputed = invoice(buyer, days_past_due=10, amount="800")
    client.force_login(teammate)

    form = client.get(
        reverse("buyers:dispute-open", args=[buyer.pk]), {"invoice": disputed.pk}
    ).context["form"]
    response = client.post(
        reverse("buyers:dispute-open", args=[buyer.pk]),
        {**form.initial, "invoice": disputed.pk, "reason": "quality", "amount": "300"},
    )

    assert response.status_code == 302
    assert form.initial["amount"] == Decimal("800.00")
    with active(tenant_a):
        dispute = Dispute.objects.get()
        disputed.refresh_from_db()
    assert (dispute.amount, dispute.invoice_id, disputed.status) == (
        Decimal("300.00"),
        disputed.pk,
        "disputed",
    )

    response = client.post(
        reverse("buyers:dispute-resolve", args=[buyer.pk, dispute.pk]),
        {"resolved_date": today().isoformat(), "resolution": "Credit note issued"},
    )

    assert response.status_code == 302
    with active(tenant_a):
        dispute.refresh_from_db()
        disputed.refresh_from_db()
    assert (dispute.status, dispute.resolution, disputed.status) == (
        "resolved",
        "Credit note issued",
        "open",
    )


def test_a_dispute_above_the_invoices_outstanding_amount_is_refused(
    client, teammate, tenant_a, buyer
):
    with active(tenant_a):
        disputed = invoice(buyer, days_past_due=10, amount="800")
    client.force_login(teammate)

    response = client.post(
        reverse("buyers:dispute-open", args=[buyer.pk]),
        {
            "erp_reference": "D-1",
            "invoice": disputed.pk,
            "reason": "price",
            "amount": "900",
            "currency": "EUR",
            "opened_date": today().isoformat(),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == [
        "More than the invoice's outstanding amount (800.00)."
    ]
    with active(tenant_a):
        assert not Dispute.objects.exists()


def test_resolving_before_the_dispute_was_opened_is_refused(client, teammate, tenant_a, buyer):
    with active(tenant_a):
        dispute = services.dispute_open(
            tenant=tenant_a,
            actor=None,
            buyer=buyer,
            erp_reference="D-1",
            reason="other",
            amount=Decimal("10"),
            currency="EUR",
            opened_date=today(),
        )
    client.force_login(teammate)

    response = client.post(
        reverse("buyers:dispute-resolve", args=[buyer.pk, dispute.pk]),
        {"resolved_date": (today() - timedelta(days=1)).isoformat(), "resolution": "x"},
    )

    assert response.context["form"].errors["resolved_date"] == [
        "Cannot be before the dispute was opened."
    ]
    with active(tenant_a):
        assert Dispute.objects.get().status == "open"


# --- Payment plans -----------------------------------------------------------------------------


def test_an_analyst_agrees_a_payment_plan_and_records_an_instalment(
    client, teammate, tenant_a, buyer
):
    client.force_login(teammate)
    first_due = today() + timedelta(days=10)
    second_due = today() + timedelta(days=40)

    response = client.post(
        reverse("buyers:payment-plan-create", args=[buyer.pk]),
        {
            "erp_reference": "PLAN-1",
            "agreed_date": today().isoformat(),
            "currency": "EUR",
            "instalments": f"{first_due} 500\n\n{second_due} 700.50\n",
        },
    )

    assert response.status_code == 302
    with active(tenant_a):
        plan = PaymentPlan.objects.get()
        instalment = plan.instalments.order_by("due_date").first()
    assert plan.total_amount == Decimal("1200.50")

    client.post(
        reverse("buyers:instalment-pay", args=[buyer.pk, instalment.pk]),
        {"amount": "500", "paid_date": today().isoformat()},
    )

    with active(tenant_a):
        instalment.refresh_from_db()
    assert (instalment.paid_amount, instalment.paid_date) == (Decimal("500.00"), today())
    page = page_text(client.get(reverse("buyers:detail", args=[buyer.pk])))
    assert "PLAN-1 Kept" in page


def test_a_payment_plan_with_an_unreadable_line_is_refused(client, teammate, tenant_a, buyer):
    client.force_login(teammate)

    response = client.post(
        reverse("buyers:payment-plan-create", args=[buyer.pk]),
        {
            "erp_reference": "PLAN-1",
            "agreed_date": today().isoformat(),
            "currency": "EUR",
            "instalments": "2030-01-31 500\nnext month 500",
        },
    )

    assert response.context["form"].errors["instalments"] == [
        "Line 2: write a date and an amount, e.g. 2025-07-31 5000."
    ]
    with active(tenant_a):
        assert not PaymentPlan.objects.exists()


# --- Notes and documents -----------------------------------------------------------------------


def test_notes_are_added_and_shown_newest_first(client, teammate, tenant_a, buyer):
    client.force_login(teammate)

    client.post(reverse("buyers:note-add", args=[buyer.pk]), {"body": "First call"})
    response = client.post(
        reverse("buyers:note-add", args=[buyer.pk]), {"body": "Second call"}, follow=True
    )

    text = page_text(response)
    assert "The note was added." in text
    assert text.index("Second call") < text.index("First call")


def test_an_empty_note_is_refused_with_a_message(client, teammate, tenant_a, buyer):
    client.force_login(teammate)

    response = client.post(reverse("buyers:note-add", args=[buyer.pk]), {"body": "  "}, follow=True)

    assert "Write something first." in response.content.decode()
    with active(tenant_a):
        assert not BuyerNote.objects.exists()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_document_is_uploaded_and_downloaded_through_the_tenant_checked_view(
    client, teammate, tenant_a, buyer, media_root
):
    client.force_login(teammate)
    upload = SimpleUploadedFile("report.pdf", b"%PDF-1.4 credit report", "application/pdf")

    response = client.post(
        reverse("buyers:document-upload", args=[buyer.pk]),
        {"title": "Credit report 2025", "file": upload},
        follow=True,
    )

    with active(tenant_a):
        document = BuyerDocument.objects.get()
    assert "Credit report 2025 was uploaded." in response.content.decode()
    download_url = reverse("buyers:document-download", args=[buyer.pk, document.pk])
    assert download_url in response.content.decode()
    download = client.get(download_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 credit report"
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="report.pdf"'


def test_a_document_of_a_refused_type_is_not_stored(client, teammate, tenant_a, buyer, media_root):
    client.force_login(teammate)
    upload = SimpleUploadedFile("page.html", b"<script>alert(1)</script>", "text/html")

    response = client.post(
        reverse("buyers:document-upload", args=[buyer.pk]), {"file": upload}, follow=True
    )

    assert "Upload a PDF, image, CSV, text, Excel or Word file." in response.content.decode()
    with active(tenant_a):
        assert not BuyerDocument.objects.exists()
    assert not list(media_root.rglob("*.html"))


# --- Permissions and tenancy -------------------------------------------------------------------


@pytest.fixture
def tenant_a_file(tenant_a, buyer, media_root):
    """One of every object the buyer pages act on, in tenant A."""
    with active(tenant_a):
        open_invoice = invoice(buyer, days_past_due=5, amount="100")
        dispute = services.dispute_open(
            tenant=tenant_a,
            actor=None,
            buyer=buyer,
            erp_reference="D-A",
            reason="other",
            amount=Decimal("10"),
            currency="EUR",
            opened_date=today(),
        )
        plan = services.payment_plan_create(
            tenant=tenant_a,
            actor=None,
            buyer=buyer,
            erp_reference="P-A",
            agreed_date=today(),
            currency="EUR",
            instalments=[(today() + timedelta(days=5), Decimal("50"))],
            as_of=today(),
        )
        document = services.document_upload(
            tenant=tenant_a,
            actor=None,
            buyer=buyer,
            title="Tenant A secret",
            upload=SimpleUploadedFile("a.txt", b"tenant a only", "text/plain"),
        )
        instalment = plan.instalments.get()
    return {
        "buyer_id": buyer.pk,
        "dispute_id": dispute.pk,
        "instalment_id": instalment.pk,
        "document_id": document.pk,
        "invoice_id": open_invoice.pk,
    }


# (method, url name, url kwargs, POST data): every page that acts on one buyer.
BUYER_PAGES = [
    pytest.param("get", "buyers:detail", ["buyer_id"], None, id="detail"),
    pytest.param("get", "buyers:edit", ["buyer_id"], None, id="edit-get"),
    pytest.param("post", "buyers:edit", ["buyer_id"], NEW_BUYER, id="edit-post"),
    pytest.param("get", "buyers:statement-create", ["buyer_id"], None, id="statement-get"),
    pytest.param("post", "buyers:statement-create", ["buyer_id"], STATEMENT, id="statement-post"),
    pytest.param("get", "buyers:dispute-open", ["buyer_id"], None, id="dispute-open-get"),
    pytest.param(
        "post",
        "buyers:dispute-open",
        ["buyer_id"],
        {
            "erp_reference": "D-X",
            "reason": "other",
            "amount": "1",
            "currency": "EUR",
            "opened_date": "2026-01-01",
        },
        id="dispute-open-post",
    ),
    pytest.param(
        "get", "buyers:dispute-resolve", ["buyer_id", "dispute_id"], None, id="dispute-resolve-get"
    ),
    pytest.param(
        "post",
        "buyers:dispute-resolve",
        ["buyer_id", "dispute_id"],
        {"resolved_date": "2030-01-01", "resolution": "x"},
        id="dispute-resolve-post",
    ),
    pytest.param("get", "buyers:payment-plan-create", ["buyer_id"], None, id="payment-plan-get"),
    pytest.param(
        "post",
        "buyers:payment-plan-create",
        ["buyer_id"],
        {
            "erp_reference": "P-X",
            "agreed_date": "2030-01-01",
            "currency": "EUR",
            "instalments": "2030-02-01 5",
        },
        id="payment-plan-post",
    ),
    pytest.param(
        "post",
        "buyers:instalment-pay",
        ["buyer_id", "instalment_id"],
        {"amount": "5", "paid_date": "2030-01-01"},
        id="instalment-pay",
    ),
    pytest.param("post", "buyers:note-add", ["buyer_id"], {"body": "x"}, id="note-add"),
    pytest.param(
        "post", "buyers:document-upload", ["buyer_id"], {"title": "x"}, id="document-upload"
    ),
    pytest.param(
        "get", "buyers:document-download", ["buyer_id", "document_id"], None, id="document-download"
    ),
]
WRITE_PAGES = [param for param in BUYER_PAGES if param.id not in {"detail", "document-download"}]


def test_every_buyer_url_is_in_the_tenancy_table():
    from buyers.urls import urlpatterns

    listed = {param.values[1] for param in BUYER_PAGES}

    assert {f"buyers:{pattern.name}" for pattern in urlpatterns} - listed == {
        "buyers:list",
        "buyers:export",
        "buyers:create",
    }


def tenant_a_state(tenant_a) -> dict:
    with active(tenant_a):
        return {
            "buyers": list(Buyer.objects.values_list("erp_reference", "legal_name", "parent_id")),
            "statements": FinancialStatement.objects.count(),
            "disputes": list(Dispute.objects.values_list("erp_reference", "status")),
            "plans": PaymentPlan.objects.count(),
            "instalments": list(Instalment.objects.values_list("paid_amount", flat=True)),
            "notes": BuyerNote.objects.count(),
            "documents": BuyerDocument.objects.count(),
        }


@pytest.mark.parametrize(("method", "url_name", "kwargs", "data"), BUYER_PAGES)
def test_an_outsider_gets_404_on_every_buyer_url_and_nothing_changes(
    client, tenant_a, outsider, tenant_a_file, method, url_name, kwargs, data
):
    before = tenant_a_state(tenant_a)
    client.force_login(outsider)
    url = reverse(url_name, kwargs={key: tenant_a_file[key] for key in kwargs})

    response = getattr(client, method)(url, data)

    assert response.status_code == 404
    assert tenant_a_state(tenant_a) == before


@pytest.mark.parametrize(("method", "url_name", "kwargs", "data"), BUYER_PAGES)
def test_another_tenants_buyer_looks_exactly_like_a_missing_one(
    client, outsider, tenant_a_file, method, url_name, kwargs, data
):
    client.force_login(outsider)
    send = getattr(client, method)

    other = send(reverse(url_name, kwargs={key: tenant_a_file[key] for key in kwargs}), data)
    missing = send(reverse(url_name, kwargs=dict.fromkeys(kwargs, 2_000_000_000)), data)

    assert other.status_code == missing.status_code == 404
    assert page_without_its_url_and_csrf_token(other) == page_without_its_url_and_csrf_token(
        missing
    )


def test_the_outsiders_list_and_dashboard_show_none_of_tenant_a(client, outsider, tenant_a_file):
    client.force_login(outsider)

    for url in (reverse("buyers:list"), reverse("dashboard")):
        page = client.get(url).content.decode()
        assert "Nordlicht" not in page and "C-1" not in page


@pytest.mark.parametrize(("method", "url_name", "kwargs", "data"), WRITE_PAGES)
def test_a_viewer_may_not_use_any_write_page(
    client, tenant_a, viewer, tenant_a_file, method, url_name, kwargs, data
):
    before = tenant_a_state(tenant_a)
    client.force_login(viewer)
    url = reverse(url_name, kwargs={key: tenant_a_file[key] for key in kwargs})

    response = getattr(client, method)(url, data)

    assert response.status_code == 403
    assert tenant_a_state(tenant_a) == before


def test_a_viewer_may_download_documents(client, viewer, tenant_a_file):
    client.force_login(viewer)

    response = client.get(
        reverse(
            "buyers:document-download",
            args=[tenant_a_file["buyer_id"], tenant_a_file["document_id"]],
        )
    )

    assert b"".join(response.streaming_content) == b"tenant a only"


def test_an_anonymous_visitor_is_sent_to_sign_in(client, buyer):
    url = reverse("buyers:detail", args=[buyer.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
