"""CSV and XLSX exports of buyers and invoices: formula-safe, typed, tenant-scoped."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers import exports, imports
from buyers.models import Buyer, ImportJob
from tests.conftest import active
from tests.factories import BuyerFactory, InvoiceFactory, MembershipFactory

pytestmark = pytest.mark.django_db

FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def portfolio(tenant_a):
    with active(tenant_a):
        parent = BuyerFactory(
            tenant=tenant_a,
            erp_reference="C-1",
            legal_name=FORMULA_NAME,
            city="+49 Hamburg",
            registration_number="00123",
        )
        child = BuyerFactory(
            tenant=tenant_a,
            erp_reference="C-2",
            legal_name="Südwerk SARL",
            country_id="FR",
            status="on_hold",
            vat_number="@SUM(A1)",
            address="-1 Rue de la Paix",
            parent=parent,
        )
        InvoiceFactory(
            tenant=tenant_a,
            buyer=parent,
            erp_reference="I-1",
            number="-1",
            issue_date=date(2025, 1, 10),
            due_date=date(2025, 2, 9),
            amount=Decimal("1234.56"),
            paid_amount=Decimal("0.10"),
            status="partially_paid",
        )
        InvoiceFactory(
            tenant=tenant_a,
            buyer=child,
            erp_reference="I-2",
            amount=Decimal("99.00"),
            paid_amount=Decimal("99.00"),
            paid_date=date(2025, 3, 1),
            status="paid",
        )
    return parent, child


@pytest.fixture
def tenant_b_portfolio(tenant_b):
    with active(tenant_b):
        buyer = BuyerFactory(tenant=tenant_b, erp_reference="B-1", legal_name="Tenant B Buyer")
        InvoiceFactory(tenant=tenant_b, buyer=buyer, erp_reference="B-INV-1")


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return [tuple(cell for cell in row) for row in workbook.active.iter_rows()]


def export_url(kind: str, file_format: str) -> str:
    return reverse("imports:export", kwargs={"kind": kind, "file_format": file_format})


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 40 123", "'+49 40 123"),
        ("-5 Ltd", "'-5 Ltd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("", ""),
        (Decimal("-5.00"), Decimal("-5.00")),
        (-5, -5),
        (None, None),
        (date(2025, 1, 1), date(2025, 1, 1)),
    ],
)
def test_only_text_that_a_spreadsheet_would_evaluate_gets_an_apostrophe(value, safe):
    assert exports.formula_safe(value) == safe


def test_a_csv_export_has_a_bom_the_import_field_names_and_escaped_formula_text(
    client, owner, portfolio
):
    client.force_login(owner)

    response = client.get(export_url("buyers", "csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="buyers-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response)
    assert list(rows[0]) == [field.name for field in imports.import_fields("buyers")]
    assert [
        (row["legal_name"], row["city"], row["vat_number"], row["address"]) for row in rows
    ] == [
        ("'" + FORMULA_NAME, "'+49 Hamburg", "", ""),
        ("Südwerk SARL", "", "'@SUM(A1)", "'-1 Rue de la Paix"),
    ]
    assert (rows[0]["registration_number"], rows[1]["parent_erp_reference"]) == ("00123", "C-1")


def test_a_csv_export_writes_amounts_and_dates_unescaped(client, owner, portfolio):
    client.force_login(owner)

    rows = csv_rows(client.get(export_url("invoices", "csv")))

    assert rows[0] == {
        "erp_reference": "I-1",
        "buyer_erp_reference": "C-1",
        "number": "'-1",
        "issue_date": "2025-01-10",
        "due_date": "2025-02-09",
        "amount": "1234.56",
        "currency": "EUR",
        "paid_amount": "0.10",
        "paid_date": "",
        "status": "partially_paid",
    }


def test_an_xlsx_export_escapes_formula_text_and_keeps_numbers_and_dates_typed(
    client, owner, portfolio
):
    client.force_login(owner)

    response = client.get(export_url("invoices", "xlsx"))

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    header, first, second = xlsx_rows(response)
    assert [cell.value for cell in header][:3] == ["erp_reference", "buyer_erp_reference", "number"]
    number, issue_date, amount, paid_amount = first[2], first[3], first[5], first[7]
    assert (number.value, number.data_type) == ("'-1", "s")
    assert (issue_date.value.date(), issue_date.is_date) == (date(2025, 1, 10), True)
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("1234.56")
    assert Decimal(str(paid_amount.value)) == Decimal("0.10")
    assert second[8].value.date() == date(2025, 3, 1)


def test_an_xlsx_export_never_stores_formula_text_as_a_formula(client, owner, portfolio):
    with active(portfolio[0].tenant):
        Buyer.objects.filter(pk=portfolio[1].pk).update(legal_name="Bell\x07 GmbH")
    client.force_login(owner)

    rows = xlsx_rows(client.get(export_url("buyers", "xlsx")))

    legal_names = [row[1] for row in rows[1:]]
    assert [(cell.value, cell.data_type) for cell in legal_names] == [
        ("'" + FORMULA_NAME, "s"),
        ("Bell GmbH", "s"),
    ]


def test_exports_filter_by_status_and_country(client, owner, portfolio):
    client.force_login(owner)

    on_hold = csv_rows(client.get(export_url("buyers", "csv"), {"status": "on_hold"}))
    in_germany = csv_rows(client.get(export_url("invoices", "csv"), {"country": "de"}))
    unknown_status = csv_rows(client.get(export_url("invoices", "csv"), {"status": "nonsense"}))

    assert [row["erp_reference"] for row in on_hold] == ["C-2"]
    assert [row["erp_reference"] for row in in_germany] == ["I-1"]
    assert unknown_status == []


@pytest.mark.parametrize("kind", ["buyers", "invoices"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_outsiders_export_holds_only_its_own_tenants_rows(
    client, outsider, portfolio, tenant_b_portfolio, kind, file_format
):
    client.force_login(outsider)

    response = client.get(export_url(kind, file_format))

    if file_format == "csv":
        references = [row["erp_reference"] for row in csv_rows(response)]
    else:
        references = [row[0].value for row in xlsx_rows(response)[1:]]
    assert references == (["B-1"] if kind == "buyers" else ["B-INV-1"])


def test_an_export_over_the_row_cap_is_refused_with_a_message(
    client, owner, portfolio, monkeypatch
):
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", {"csv": 2, "xlsx": 1})
    client.force_login(owner)

    as_xlsx = client.get(export_url("buyers", "xlsx"), follow=True)
    as_csv = client.get(export_url("buyers", "csv"))

    assert as_xlsx.redirect_chain == [(reverse("imports:list"), 302)]
    assert "An Excel export holds at most 1 rows. Download CSV instead" in (
        as_xlsx.content.decode()
    )
    assert len(csv_rows(as_csv)) == 2


def test_a_viewer_may_export(client, tenant_a, portfolio):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    client.force_login(viewer)

    assert client.get(export_url("buyers", "csv")).status_code == 200


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    url = export_url("invoices", "csv")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("path", ["/imports/export/payments.csv", "/imports/export/buyers.xls"])
def test_other_export_kinds_and_formats_do_not_exist(client, owner, path):
    client.force_login(owner)

    assert client.get(path).status_code == 404


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_exported_buyers_file_imports_back_unchanged(
    client, settings, tmp_path, tenant_a, owner, portfolio, file_format
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(owner)
    exported = client.get(export_url("buyers", file_format)).content
    with active(tenant_a):
        before = list(Buyer.objects.order_by("erp_reference").values())
        job = imports.import_job_create(
            tenant=tenant_a,
            actor=owner,
            kind="buyers",
            upload=SimpleUploadedFile(f"buyers.{file_format}", exported),
        )
        imports.import_job_queue(tenant=tenant_a, job=job)

    imports.import_job_run(tenant_id=tenant_a.pk, job_id=job.pk)

    with active(tenant_a):
        job = ImportJob.objects.get(pk=job.pk)
        assert job.status == ImportJob.Status.SUCCEEDED, job.errors
        assert (job.created_count, job.updated_count) == (0, 2)
        after = list(Buyer.objects.order_by("erp_reference").values())
    unchanged = [{k: v for k, v in row.items() if k != "updated_at"} for row in after]
    assert unchanged == [{k: v for k, v in row.items() if k != "updated_at"} for row in before]
