"""The buyer credit file REST API (single-object operations; bulk is in test_bulk_api.py)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from buyers.models import Buyer, Dispute, Invoice, PaymentPlan
from creditguard.audit.models import AuditEvent
from tests.conftest import active
from tests.factories import BuyerFactory, FinancialStatementFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, api_key_a):
    _key, raw_key = api_key_a
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
    return client


@pytest.fixture
def outsider_api(client, api_key_b):
    _key, raw_key = api_key_b
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
    return client


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")


BUYER = {
    "erp_reference": "C-77",
    "legal_name": "Atlantique SAS",
    "country": "FR",
    "nace_code": "28.41",
    "currency": "EUR",
    "payment_terms_days": 60,
}


def test_it_creates_a_buyer_and_audits_it(api, tenant_a):
    response = api.post("/api/v1/buyers/", BUYER, content_type="application/json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["erp_reference"], body["nace_section"], body["payment_terms_days"]) == (
        "C-77",
        "C",
        60,
    )
    with active(tenant_a):
        assert AuditEvent.objects.filter(action="buyer.create", object_id=str(body["id"])).exists()


def test_it_rejects_a_buyer_with_every_invalid_field_listed_and_writes_nothing(api, tenant_a):
    response = api.post(
        "/api/v1/buyers/",
        {**BUYER, "country": "XX", "nace_code": "04", "currency": "euro", "legal_name": ""},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"country", "nace_code", "currency", "legal_name"} <= fields
    with active(tenant_a):
        assert not Buyer.objects.exists()


@pytest.mark.parametrize("code", ["99.99", "46.99", "04"])
def test_it_refuses_a_nace_code_missing_from_the_official_table(api, tenant_a, code):
    response = api.post(
        "/api/v1/buyers/", {**BUYER, "nace_code": code}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("nace_code", "Enter a NACE Rev. 2 code such as 46 or 46.69.")
    ]
    with active(tenant_a):
        assert not Buyer.objects.exists()


@pytest.mark.parametrize("code", ["46.69", "46.6", "46"])
def test_it_accepts_a_nace_class_group_or_division(api, code):
    response = api.post(
        "/api/v1/buyers/",
        {**BUYER, "nace_code": code, "erp_reference": f"C-{code}"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["nace_code"], response.json()["nace_section"]) == (code, "G")


def test_it_refuses_a_duplicate_erp_reference(api, buyer):
    response = api.post(
        "/api/v1/buyers/", {**BUYER, "erp_reference": "C-1"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "erp_reference"


def test_put_by_reference_creates_then_updates(api, tenant_a):
    url = "/api/v1/buyers/by-reference/C-900/"
    created = api.put(url, BUYER, content_type="application/json")
    updated = api.put(
        url, {**BUYER, "legal_name": "Atlantique SA"}, content_type="application/json"
    )

    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["erp_reference"] == "C-900"
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="C-900").legal_name == "Atlantique SA"


def test_patch_changes_only_the_given_fields(api, buyer):
    response = api.patch(
        f"/api/v1/buyers/{buyer.pk}/", {"payment_terms_days": 45}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["payment_terms_days"] == 45
    assert response.json()["legal_name"] == "Nordlicht GmbH"


def test_a_buyer_cannot_become_its_own_parent(api, buyer, tenant_a):
    with active(tenant_a):
        child = BuyerFactory(tenant=tenant_a, erp_reference="C-2", parent=buyer)

    response = api.patch(
        f"/api/v1/buyers/{buyer.pk}/",
        {"parent_erp_reference": child.erp_reference},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "parent_erp_reference"


def test_list_filters_by_country_and_sector(api, tenant_a):
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, country_id="FR", nace_code="28.41", nace_section="C")
        BuyerFactory(tenant=tenant_a, country_id="DE")

    response = api.get("/api/v1/buyers/?country=FR&sector=C")

    assert [b["country"] for b in response.json()["results"]] == ["FR"]


def test_payment_allocation_settles_invoices_and_dispute_marks_them(api, buyer, tenant_a):
    with active(tenant_a):
        invoice = InvoiceFactory(
            buyer=buyer, tenant=tenant_a, erp_reference="I-1", amount=Decimal("1000")
        )

    paid = api.post(
        "/api/v1/payments/",
        {
            "erp_reference": "P-1",
            "buyer_erp_reference": "C-1",
            "received_date": date.today().isoformat(),
            "amount": "400",
            "currency": "EUR",
            "allocations": [{"invoice_erp_reference": "I-1", "amount": "400"}],
        },
        content_type="application/json",
    )
    disputed = api.post(
        "/api/v1/disputes/",
        {
            "erp_reference": "D-1",
            "buyer_erp_reference": "C-1",
            "invoice_erp_reference": "I-1",
            "reason": "quality",
            "amount": "100",
            "currency": "EUR",
            "opened_date": date.today().isoformat(),
        },
        content_type="application/json",
    )

    assert (paid.status_code, disputed.status_code) == (201, 201)
    with active(tenant_a):
        invoice.refresh_from_db()
        assert (invoice.paid_amount, invoice.status) == (Decimal("400"), Invoice.Status.DISPUTED)
        dispute = Dispute.objects.get()
    resolved = api.post(
        f"/api/v1/disputes/{dispute.pk}/resolve/",
        {"resolved_date": date.today().isoformat(), "resolution": "Credit note"},
        content_type="application/json",
    )
    assert resolved.status_code == 200
    with active(tenant_a):
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PARTIALLY_PAID


def test_an_allocation_above_the_outstanding_amount_is_refused(api, buyer, tenant_a):
    with active(tenant_a):
        InvoiceFactory(buyer=buyer, tenant=tenant_a, erp_reference="I-1", amount=Decimal("100"))

    response = api.post(
        "/api/v1/payments/",
        {
            "erp_reference": "P-1",
            "buyer_erp_reference": "C-1",
            "received_date": date.today().isoformat(),
            "amount": "500",
            "currency": "EUR",
            "allocations": [{"invoice_erp_reference": "I-1", "amount": "500"}],
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "allocations[0].amount"


def test_payment_plan_goes_broken_when_an_instalment_is_missed(api, buyer, tenant_a):
    today = date.today()
    response = api.post(
        "/api/v1/payment-plans/",
        {
            "erp_reference": "PP-1",
            "buyer_erp_reference": "C-1",
            "currency": "EUR",
            "agreed_date": (today - timedelta(days=60)).isoformat(),
            "instalments": [
                {"due_date": (today - timedelta(days=30)).isoformat(), "amount": "500"},
                {"due_date": (today + timedelta(days=30)).isoformat(), "amount": "500"},
            ],
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == PaymentPlan.Status.BROKEN


def test_credit_file_reports_aging_in_base_currency(api, buyer, tenant_a):
    today = date.today()
    with active(tenant_a):
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            issue_date=today - timedelta(days=70),
            due_date=today - timedelta(days=40),
            amount=Decimal("300"),
        )
        InvoiceFactory(
            buyer=buyer,
            tenant=tenant_a,
            issue_date=today - timedelta(days=5),
            due_date=today + timedelta(days=25),
            amount=Decimal("700"),
        )

    body = api.get(f"/api/v1/buyers/{buyer.pk}/credit-file/").json()

    assert body["currency"] == "EUR"
    assert body["exposure"] == "1000.00"
    assert body["overdue"] == "300.00"
    assert body["aging"]["31_60"] == "300.00" and body["aging"]["current"] == "700.00"


def test_statement_with_an_unbalanced_balance_sheet_is_kept_with_a_warning(api, buyer):
    response = api.post(
        "/api/v1/financial-statements/",
        {
            "buyer_erp_reference": "C-1",
            "period_end": "2025-12-31",
            "currency": "EUR",
            "revenue": "100",
            "ebit": "10",
            "net_income": "5",
            "total_assets": "1000",
            "current_assets": "400",
            "current_liabilities": "200",
            "total_liabilities": "600",
            "retained_earnings": "100",
            "equity": "100",
        },
        content_type="application/json",
    )

    # Issue 13: was refused with 400; now kept, the gap (30 %) shown as a warning.
    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert warning["code"] == "balance_gap"
    assert warning["values"] == {"gap": "300.00", "percent": "30.0"}
    assert "liabilities plus equity by 300.00" in warning["message"]


def test_a_read_scope_key_cannot_write(client, tenant_a):
    from tests.factories import ApiKeyFactory

    with active(tenant_a):
        _key, raw_key = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")
    response = client.post(
        "/api/v1/buyers/",
        BUYER,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/buyers/{buyer}/",
        "/api/v1/buyers/{buyer}/credit-file/",
        "/api/v1/buyers/by-reference/C-1/",
        "/api/v1/invoices/{invoice}/",
        "/api/v1/financial-statements/{statement}/",
    ],
)
def test_outsider_gets_404_for_another_tenants_objects(outsider_api, buyer, tenant_a, url):
    with active(tenant_a):
        invoice = InvoiceFactory(buyer=buyer, tenant=tenant_a)
        statement = FinancialStatementFactory(buyer=buyer, tenant=tenant_a)
    url = url.format(buyer=buyer.pk, invoice=invoice.pk, statement=statement.pk)

    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(
        url, {"legal_name": "x"}, content_type="application/json"
    ).status_code in (404, 405)


def test_outsider_lists_are_empty_and_cannot_reference_another_tenants_buyer(
    outsider_api, buyer, tenant_a
):
    with active(tenant_a):
        InvoiceFactory(buyer=buyer, tenant=tenant_a)
    for url in [
        "/api/v1/buyers/",
        "/api/v1/invoices/",
        "/api/v1/payments/",
        "/api/v1/disputes/",
        "/api/v1/payment-plans/",
        "/api/v1/financial-statements/",
    ]:
        assert outsider_api.get(url).json()["results"] == [], url

    response = outsider_api.post(
        "/api/v1/invoices/",
        {
            "erp_reference": "X",
            "buyer_erp_reference": "C-1",
            "issue_date": "2026-01-01",
            "due_date": "2026-02-01",
            "amount": "10",
            "currency": "EUR",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "buyer_erp_reference"
