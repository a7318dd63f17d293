"""Spreadsheet imports: reading and refusing files, mapping, preview, the all-or-nothing run,
the pages, and the real Celery worker end to end."""

import importlib
import io
import re
import time
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers import imports
from buyers.imports import ImportFileError, RowError, read_sheet
from buyers.models import Buyer, ImportJob, Invoice, Payment, PaymentAllocation
from creditguard.audit.models import AuditEvent
from creditguard.tenancy.context import tenant_context
from tests.conftest import active
from tests.factories import BuyerFactory, InvoiceFactory, MembershipFactory

pytestmark = pytest.mark.django_db

INVOICE_HEADER = "Invoice ID;Customer ID;Invoice No;Invoice Date;Due Date;Amount;Currency\n"


@pytest.fixture(autouse=True)
def private_media(request, settings, tmp_path):
    # The worker test shares the media folder with the worker process it cannot reconfigure.
    if request.node.get_closest_marker("worker") is None:
        settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")


def upload(name: str, content: bytes | str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


def new_job(tenant, user, kind: str, name: str, content: bytes | str) -> ImportJob:
    with active(tenant):
        return imports.import_job_create(
            tenant=tenant, actor=user, kind=kind, upload=upload(name, content)
        )


def preview_of(tenant, job: ImportJob) -> imports.Preview:
    with active(tenant):
        return imports.import_job_preview(tenant=tenant, job=job)


def run(tenant, job: ImportJob) -> ImportJob:
    """Queue (without the broker: on_commit never fires inside the test) and run in-process."""
    with active(tenant):
        imports.import_job_queue(tenant=tenant, job=job)
    imports.import_job_run(tenant_id=tenant.pk, job_id=job.pk)
    with active(tenant):
        return ImportJob.objects.get(pk=job.pk)


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_of(parts: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# A minimal workbook whose cell B2 comes from xl/sharedStrings.xml.
_SST_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_SST_NS}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
    "xl/worksheets/sheet1.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_SST_NS}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>erp_reference</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>legal_name</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>C-1</t></is></c><c r="B2" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>"
    ),
}


def workbook_with_shared_strings(shared_strings: str) -> bytes:
    return zip_of({**_WORKBOOK_PARTS, "xl/sharedStrings.xml": shared_strings})


def shared_strings(doctype: str, text: str) -> str:
    return (
        f'<?xml version="1.0"?>{doctype}<sst xmlns="{_SST_NS}" count="1" uniqueCount="1">'
        f"<si><t>{text}</t></si></sst>"
    )


# --- Reading CSV --------------------------------------------------------------------------------


def test_it_reads_a_semicolon_csv_keeping_every_value_as_typed():
    sheet = read_sheet(b"erp_reference;amount;issue_date\n00042;1,50;31.01.2025\n", "csv")

    assert sheet.columns == ("erp_reference", "amount", "issue_date")
    assert sheet.frame.to_dict("records") == [
        {"erp_reference": "00042", "amount": "1,50", "issue_date": "31.01.2025"}
    ]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b\n1,2\n", ","),
        ("a;b\n1;2\n", ";"),
        ("a\tb\n1\t2,5\n", "\t"),
        ('name,city\n"Foo; Bar, Inc",Paris\n', ","),
        ("just_one_column\nvalue\n", ","),
    ],
)
def test_it_detects_the_delimiter(text, delimiter):
    assert imports.detect_delimiter(text) == delimiter


def test_it_accepts_utf8_with_a_byte_order_mark():
    sheet = read_sheet("\ufefflegal_name\nSüdwerk GmbH\n".encode(), "csv")

    assert sheet.columns == ("legal_name",)
    assert sheet.frame.iloc[0, 0] == "Südwerk GmbH"


def test_it_refuses_a_csv_in_none_of_the_encodings_it_reads():
    # 0x81 and 0x8D are undefined in Windows-1252 and not GB18030 before a line break.
    with pytest.raises(ImportFileError, match="not UTF-8, Windows-1252 or GB18030"):
        read_sheet(b"legal_name\n\x81\n\x8d\n", "csv")


def test_it_refuses_binary_content_named_csv():
    with pytest.raises(ImportFileError, match="not a CSV"):
        read_sheet(b"PK\x03\x04\x00\x00binary", "csv")


def test_a_row_with_more_values_than_the_header_is_refused_naming_its_line():
    with pytest.raises(ImportFileError, match="Row 3 has 3 values but the header row has 2"):
        read_sheet(b"a,b\n1,2\n1,2,3\n", "csv")


def test_blank_lines_and_multiline_cells_keep_spreadsheet_row_numbers():
    sheet = read_sheet(b'name,city\n"Foo\nBar",Paris\n\nBaz,Rome\n', "csv")

    assert list(sheet.frame.index) == [2, 4]
    assert sheet.frame.loc[2, "name"] == "Foo\nBar"


def test_it_refuses_a_header_naming_a_column_twice():
    with pytest.raises(ImportFileError, match="“amount” appears twice"):
        read_sheet(b"amount,amount\n1,2\n", "csv")


def test_it_refuses_a_file_with_a_header_but_no_rows():
    with pytest.raises(ImportFileError, match="no data rows"):
        read_sheet(b"erp_reference,legal_name\n\n", "csv")


def test_it_refuses_more_rows_than_the_limit(monkeypatch):
    monkeypatch.setattr(imports.reading, "IMPORT_MAX_ROWS", 3)

    read_sheet(b"a\n1\n2\n3\n", "csv")
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        read_sheet(b"a\n1\n2\n3\n4\n", "csv")


@pytest.mark.parametrize("name", ["buyers.xls", "buyers.txt", "buyers", "buyers.csv.exe"])
def test_it_refuses_other_file_extensions(name):
    with pytest.raises(ImportFileError, match=r"\.csv or \.xlsx"):
        imports.upload_check(upload(name, "a,b\n1,2\n"))


def test_it_refuses_an_upload_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(imports.reading, "IMPORT_MAX_UPLOAD_BYTES", 10)

    with pytest.raises(ImportFileError, match="larger than"):
        imports.upload_check(upload("buyers.csv", "erp_reference\nC-1\n"))


# --- Reading XLSX -------------------------------------------------------------------------------


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_xlsx_cells_are_read_as_the_text_a_user_would_type():
    content = xlsx(
        [
            ["erp_reference", "issue_date", "amount", "terms", "note"],
            ["00042", date(2025, 1, 31), 1500.0, 30, "ok"],
            [],
            ["C-2", date(2025, 2, 1), 12.5, None, "=1+1 as text"],
        ]
    )

    sheet = read_sheet(content, "xlsx")

    assert list(sheet.frame.index) == [2, 4]
    assert sheet.frame.to_dict("records")[0] == {
        "erp_reference": "00042",
        "issue_date": "2025-01-31",
        "amount": "1500",
        "terms": "30",
        "note": "ok",
    }
    assert sheet.frame.loc[4, "amount"] == "12.5"


def test_empty_worksheet_rows_do_not_count_towards_the_row_limit(monkeypatch):
    monkeypatch.setattr(imports.reading, "IMPORT_MAX_ROWS", 2)
    gaps = [[None]] * 5

    sheet = read_sheet(xlsx([["erp_reference"], ["C-1"], *gaps, ["C-2"], *gaps]), "xlsx")
    assert list(sheet.frame.index) == [2, 8]
    with pytest.raises(ImportFileError, match="more than 2 rows"):
        read_sheet(xlsx([["erp_reference"], ["C-1"], *gaps, ["C-2"], ["C-3"]]), "xlsx")


def test_a_file_named_xlsx_that_is_not_a_zip_is_refused():
    with pytest.raises(ImportFileError, match="not a valid Excel workbook"):
        read_sheet(b"erp_reference,legal_name\nC-1,Foo\n", "xlsx")


def test_a_zip_without_the_workbook_parts_is_refused():
    with pytest.raises(ImportFileError, match="not a valid Excel workbook"):
        read_sheet(zip_of({"word/document.xml": "<w/>", "[Content_Types].xml": "<Types/>"}), "xlsx")


def test_a_zip_bomb_is_refused_by_its_compression_ratio_before_it_is_unpacked():
    bomb = zip_of(
        {
            **_WORKBOOK_PARTS,
            "xl/worksheets/sheet2.xml": b"\0" * (8 * 1024 * 1024),  # ~8 KB compressed
        }
    )
    assert len(bomb) < 100_000

    with pytest.raises(ImportFileError, match="unpacks to far more data"):
        read_sheet(bomb, "xlsx")


def test_a_workbook_unpacking_beyond_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(imports.reading, "XLSX_MAX_UNCOMPRESSED_BYTES", 1000)

    with pytest.raises(ImportFileError, match="unpacks to far more data"):
        read_sheet(xlsx([["erp_reference"], ["C-1"]]), "xlsx")


def test_a_zip_with_too_many_entries_is_refused(monkeypatch):
    monkeypatch.setattr(imports.reading, "XLSX_MAX_ENTRIES", 10)
    parts = {**_WORKBOOK_PARTS, **{f"xl/media/image{n}.png": b"x" for n in range(10)}}

    with pytest.raises(ImportFileError, match="too many parts"):
        read_sheet(zip_of(parts), "xlsx")


def test_a_workbook_with_ordinary_shared_strings_is_read():
    content = workbook_with_shared_strings(shared_strings("", "Nordlicht GmbH"))

    sheet = read_sheet(content, "xlsx")

    assert sheet.frame.to_dict("records") == [
        {"erp_reference": "C-1", "legal_name": "Nordlicht GmbH"}
    ]


def test_a_billion_laughs_payload_in_shared_strings_is_refused():
    doctype = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    content = workbook_with_shared_strings(shared_strings(doctype, "&lol3;"))

    with pytest.raises(ImportFileError, match="not a valid Excel workbook") as refused:
        read_sheet(content, "xlsx")

    assert "EntitiesForbidden" in repr(refused.value.__cause__.__context__)


def test_an_external_entity_in_shared_strings_is_refused_without_reading_the_file():
    doctype = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    content = workbook_with_shared_strings(shared_strings(doctype, "&xxe;"))

    with pytest.raises(ImportFileError, match="not a valid Excel workbook") as refused:
        read_sheet(content, "xlsx")

    assert "root:" not in repr(refused.value.__cause__)


# --- Mapping ------------------------------------------------------------------------------------


def test_columns_are_matched_by_normalised_name_and_synonyms():
    columns = ["Invoice ID", "Customer ID", "Invoice No.", "Invoice Date", "DUE_DATE", "Amount"]

    mapping = imports.auto_mapping("invoices", columns)

    assert mapping == {
        "erp_reference": "Invoice ID",
        "buyer_erp_reference": "Customer ID",
        "number": "Invoice No.",
        "issue_date": "Invoice Date",
        "due_date": "DUE_DATE",
        "amount": "Amount",
        "currency": "",
        "paid_amount": "",
        "paid_date": "",
        "status": "",
    }
    assert [field.name for field in imports.missing_required_fields("invoices", mapping)] == [
        "currency"
    ]


def test_an_exact_field_name_wins_over_a_synonym():
    mapping = imports.auto_mapping("buyers", ["customer id", "erp_reference"])

    assert mapping["erp_reference"] == "erp_reference"


def test_the_apostrophe_that_exports_add_before_formula_characters_is_dropped_on_import():
    sheet = read_sheet(b"legal_name,city\n'=Acme,'Paris\n'-5 Ltd,Rome\n", "csv")

    rows = imports.mapped_rows(sheet, {"legal_name": "legal_name", "city": "city"})

    assert rows == [
        {"legal_name": "=Acme", "city": "'Paris"},
        {"legal_name": "-5 Ltd", "city": "Rome"},
    ]


# --- Validation: rows and columns of the user's file --------------------------------------------


def test_errors_name_the_spreadsheet_row_and_the_users_column(tenant_a, owner, buyer):
    content = (
        INVOICE_HEADER + "I-1;C-1;0001;2025-01-10;2025-02-09;1200.50;EUR\n"
        "I-2;C-1;0002;2025-13-10;2025-02-09;1.2.3;EUR\n"
        "\n"
        "I-3;C-404;0003;2025-01-10;2025-01-01;100;EUR\n"
    )
    job = new_job(tenant_a, owner, "invoices", "invoices.csv", content)

    validation = preview_of(tenant_a, job).validation

    # The messages name the formats the file is read in (its amounts have a decimal point).
    assert validation.errors == [
        RowError(
            3, "Invoice Date", "2025-13-10", "Enter a date written like 31.01.2025 or 2025-01-31."
        ),
        RowError(3, "Amount", "1.2.3", "Enter an amount written like 1,234.56."),
        RowError(5, "Customer ID", "C-404", "Unknown buyer."),
        RowError(5, "Due Date", "2025-01-01", "The due date cannot be before the issue date."),
    ]
    assert (validation.row_count, validation.valid_row_count) == (3, 1)


def test_a_repeated_reference_names_the_earlier_spreadsheet_row(tenant_a, owner, buyer):
    content = (
        INVOICE_HEADER
        + "I-1;C-1;1;2025-01-10;2025-02-09;10;EUR\n"
        + "I-2;C-1;2;2025-01-10;2025-02-09;10;EUR\n"
        + "I-1;C-1;3;2025-01-10;2025-02-09;10;EUR\n"
    )
    job = new_job(tenant_a, owner, "invoices", "invoices.csv", content)

    errors = preview_of(tenant_a, job).validation.errors

    assert errors == [RowError(4, "Invoice ID", "I-1", "Duplicate of row 2.")]


def test_a_missing_required_value_is_reported_on_its_cell(tenant_a, owner, buyer):
    content = INVOICE_HEADER + "I-1;C-1;1;2025-01-10;2025-02-09;;EUR\n"
    job = new_job(tenant_a, owner, "invoices", "invoices.csv", content)

    errors = preview_of(tenant_a, job).validation.errors

    assert errors == [RowError(2, "Amount", "", "This field is required.")]


def test_a_file_missing_a_required_column_cannot_be_queued(tenant_a, owner, buyer):
    content = (
        "Invoice ID;Customer ID;Invoice Date;Due Date;Currency\nI-1;C-1;2025-01-10;2025-02-09;EUR\n"
    )
    job = new_job(tenant_a, owner, "invoices", "invoices.csv", content)

    with active(tenant_a), pytest.raises(ImportFileError, match="Choose a column for: Amount"):
        imports.import_job_queue(tenant=tenant_a, job=job)
    with active(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.UPLOADED


def test_a_csv_with_an_unsupported_delimiter_reads_as_one_column_that_maps_nothing(tenant_a, owner):
    content = "erp_reference|legal_name|country\nC-1|Foo|DE\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)

    assert job.total_rows == 1
    assert [
        field.name for field in imports.missing_required_fields("buyers", job.column_mapping)
    ] == [
        "erp_reference",
        "legal_name",
        "country",
        "nace_code",
        "currency",
    ]


# --- The run ------------------------------------------------------------------------------------


def test_a_valid_file_is_imported_with_counts_progress_and_one_audit_event(tenant_a, owner, buyer):
    with active(tenant_a):
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="I-1", amount=Decimal("5"))
    content = (
        INVOICE_HEADER
        + "I-1;C-1;0001;2025-01-10;2025-02-09;1200.50;EUR\n"
        + "I-2;C-1;0002;2025-01-11;2025-02-10;99;EUR\n"
    )
    job = new_job(
        tenant_a,
        owner,
        "invoices",
        "invoices.xlsx",
        xlsx([row.split(";") for row in content.splitlines()]),
    )

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.created_count, job.updated_count) == (1, 1)
    assert imports.import_progress(job) | {"status_label": ""} == {
        "status": "succeeded",
        "status_label": "",
        "processed_rows": 2,
        "total_rows": 2,
        "percent": 100,
        "created": 1,
        "updated": 1,
        "error_count": 0,
        "done": True,
    }
    with active(tenant_a):
        invoice = Invoice.objects.get(erp_reference="I-1")
        assert (invoice.number, invoice.amount, invoice.issue_date) == (
            "0001",
            Decimal("1200.50"),
            date(2025, 1, 10),
        )
        event = AuditEvent.objects.get(action="import.run")
        assert event.after == {"kind": "invoices", "created": 1, "updated": 1, "rows": 2}
        assert event.object_id == str(job.pk)


def test_one_bad_row_fails_the_job_and_writes_nothing(tenant_a, owner, buyer):
    content = (
        INVOICE_HEADER
        + "I-1;C-1;1;2025-01-10;2025-02-09;10;EUR\n"
        + "I-2;C-1;2;2025-01-10;2025-02-09;ten;EUR\n"
        + "I-3;C-1;3;2025-01-10;2025-02-09;10;EUR\n"
    )
    job = new_job(tenant_a, owner, "invoices", "invoices.csv", content)

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [
        {"row": 3, "column": "Amount", "value": "ten", "message": "Enter a number."}
    ]
    with active(tenant_a):
        assert not Invoice.objects.exists()
        assert not AuditEvent.objects.filter(action="import.run").exists()


def test_a_problem_only_the_write_finds_is_reported_on_its_row_and_nothing_is_written(
    tenant_a, owner, buyer
):
    with active(tenant_a):
        other_buyer = BuyerFactory(tenant=tenant_a, erp_reference="C-2")
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="I-1", amount=Decimal("100"))
        InvoiceFactory(tenant=tenant_a, buyer=other_buyer, erp_reference="I-9")
    # Payment P-1 is C-1's, but its second allocation row names C-2's invoice: bulk_upsert's
    # own check (inside the write transaction) refuses that.
    content = (
        "payment;customer;date;amount;currency;invoice;allocated\n"
        "P-1;C-1;2025-03-01;150;EUR;I-1;100\n"
        "P-1;C-1;2025-03-01;150;EUR;I-9;50\n"
    )
    job = new_job(tenant_a, owner, "payments", "payments.csv", content)
    job.column_mapping = {
        "erp_reference": "payment",
        "buyer_erp_reference": "customer",
        "received_date": "date",
        "amount": "amount",
        "currency": "currency",
        "invoice_erp_reference": "invoice",
        "allocated_amount": "allocated",
    }
    with active(tenant_a):
        job.save()

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.FAILED
    assert [(error["row"], error["column"], error["value"]) for error in job.errors] == [
        (3, "invoice", "I-9")
    ]
    with active(tenant_a):
        assert not Payment.objects.exists()
        assert Invoice.objects.get(erp_reference="I-1").paid_amount == 0


def test_payment_rows_sharing_a_reference_become_one_payment_with_an_allocation_each(
    tenant_a, owner, buyer
):
    with active(tenant_a):
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="I-1", amount=Decimal("100"))
        InvoiceFactory(tenant=tenant_a, buyer=buyer, erp_reference="I-2", amount=Decimal("80"))
    content = (
        "erp_reference,buyer_erp_reference,received_date,amount,currency,invoice_erp_reference,allocated_amount\n"
        "P-1,C-1,2025-03-01,150,EUR,I-1,100\n"
        "P-1,C-1,2025-03-01,150,EUR,I-2,50\n"
        "P-2,C-1,2025-03-05,30,EUR,,\n"
    )
    job = new_job(tenant_a, owner, "payments", "payments.csv", content)

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    assert job.created_count == 2
    with active(tenant_a):
        allocations = PaymentAllocation.objects.filter(payment__erp_reference="P-1")
        assert sorted((a.invoice.erp_reference, a.amount) for a in allocations) == [
            ("I-1", Decimal("100.00")),
            ("I-2", Decimal("50.00")),
        ]
        assert Payment.objects.get(erp_reference="P-2").allocations.count() == 0


def test_payment_rows_of_one_reference_must_agree_on_the_payment(tenant_a, owner, buyer):
    content = (
        "erp_reference,buyer_erp_reference,received_date,amount,currency,invoice_erp_reference,allocated_amount\n"
        "P-1,C-1,2025-03-01,150,EUR,I-1,100\n"
        "P-1,C-1,2025-03-02,150,EUR,I-2,50\n"
    )
    job = new_job(tenant_a, owner, "payments", "payments.csv", content)

    errors = preview_of(tenant_a, job).validation.errors

    assert (
        RowError(
            3,
            "received_date",
            "2025-03-02",
            "Row 2 has the same payment reference with a different value.",
        )
        in errors
    )


def test_buyers_import_with_a_parent_in_the_same_file(tenant_a, owner):
    content = (
        "erp_reference,legal_name,country,nace_code,currency,parent_erp_reference\n"
        "G-1,Holding AG,DE,64.20,EUR,\n"
        "G-2,Tochter GmbH,AT,46.69,EUR,G-1\n"
    )
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="G-2").parent.erp_reference == "G-1"


def test_nace_codes_missing_from_the_official_table_are_reported_on_their_cell(tenant_a, owner):
    content = (
        "Customer ID,Name,Country,Sector,Currency\n"
        "C-1,Eins GmbH,DE,99.99,EUR\n"
        "C-2,Zwei GmbH,DE,46.99,EUR\n"
        "C-3,Drei GmbH,DE,04,EUR\n"
        "C-4,Vier GmbH,DE,46.69,EUR\n"
        "C-5,Fünf GmbH,DE,46.6,EUR\n"
        "C-6,Sechs GmbH,DE,46,EUR\n"
    )
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)

    validation = preview_of(tenant_a, job).validation

    message = "Enter a NACE Rev. 2 code such as 46 or 46.69."
    assert validation.errors == [
        RowError(2, "Sector", "99.99", message),
        RowError(3, "Sector", "46.99", message),
        RowError(4, "Sector", "04", message),
    ]
    assert (validation.row_count, validation.valid_row_count) == (6, 3)


def test_a_redelivered_task_leaves_a_finished_job_alone(tenant_a, owner):
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"
    job = run(tenant_a, new_job(tenant_a, owner, "buyers", "buyers.csv", content))

    imports.import_job_run(tenant_id=tenant_a.pk, job_id=job.pk)

    with active(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.SUCCEEDED
        assert AuditEvent.objects.filter(action="import.run").count() == 1
        assert AuditEvent.objects.filter(action="buyers.bulk_upsert").count() == 1


def test_a_job_another_worker_is_running_is_not_started_again(tenant_a, owner):
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)
    with active(tenant_a):
        ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=job.created_at)

    imports.import_job_run(tenant_id=tenant_a.pk, job_id=job.pk)

    with active(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.RUNNING
        assert not Buyer.objects.exists()


def test_a_job_whose_file_is_gone_fails_with_a_message_for_the_whole_file(tenant_a, owner):
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)
    job.file.storage.delete(job.file.name)

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [
        {
            "row": None,
            "column": "",
            "value": "",
            "message": "The uploaded file is no longer available; upload it again.",
        }
    ]


def test_the_mapping_page_of_a_lost_file_explains_instead_of_failing(client, tenant_a, owner):
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", "erp_reference\nC-1\n")
    job.file.storage.delete(job.file.name)
    client.force_login(owner)

    response = client.get(reverse("imports:map", args=[job.pk]), follow=True)

    assert response.redirect_chain == [(reverse("imports:detail", args=[job.pk]), 302)]
    assert "no longer available" in response.content.decode()


def test_queueing_twice_sends_one_task(tenant_a, owner, django_capture_on_commit_callbacks):
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)

    with active(tenant_a), django_capture_on_commit_callbacks() as callbacks:
        first = imports.import_job_queue(tenant=tenant_a, job=job)
        second = imports.import_job_queue(tenant=tenant_a, job=job)

    assert (first, second, len(callbacks)) == (True, False, 1)


# --- Pages --------------------------------------------------------------------------------------


def test_uploading_leads_to_the_mapping_page_with_columns_chosen(client, tenant_a, owner, buyer):
    client.force_login(owner)

    response = client.post(
        reverse("imports:list"),
        {
            "kind": "invoices",
            "file": upload(
                "invoices.csv", INVOICE_HEADER + "I-1;C-1;1;2025-01-10;2025-02-09;10;EUR\n"
            ),
        },
    )

    with active(tenant_a):
        job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:map", args=[job.pk])
    assert (job.kind, job.original_filename, job.total_rows, job.created_by) == (
        "invoices",
        "invoices.csv",
        1,
        owner,
    )
    page = client.get(response["Location"]).content.decode()
    assert '<option value="Customer ID" selected>' in page


def test_an_unreadable_upload_is_refused_on_the_form_and_no_job_is_created(client, tenant_a, owner):
    client.force_login(owner)

    response = client.post(
        reverse("imports:list"), {"kind": "buyers", "file": upload("buyers.xlsx", b"not a zip")}
    )

    assert response.status_code == 200
    assert "not a valid Excel workbook" in response.content.decode()
    with active(tenant_a):
        assert not ImportJob.objects.exists()


def test_the_mapping_page_requires_every_required_field(client, tenant_a, owner, buyer):
    job = new_job(
        tenant_a,
        owner,
        "invoices",
        "i.csv",
        INVOICE_HEADER + "I-1;C-1;1;2025-01-10;2025-02-09;10;EUR\n",
    )
    client.force_login(owner)
    mapping = {name: column for name, column in job.column_mapping.items() if name != "amount"}

    response = client.post(reverse("imports:map", args=[job.pk]), mapping)

    assert response.status_code == 200
    assert "Choose the column that holds this field." in response.content.decode()
    mapping["amount"] = "Amount"
    response = client.post(reverse("imports:map", args=[job.pk]), mapping)
    assert response["Location"] == reverse("imports:preview", args=[job.pk])


def test_the_preview_disables_import_while_the_file_has_problems(client, tenant_a, owner, buyer):
    job = new_job(
        tenant_a,
        owner,
        "invoices",
        "i.csv",
        INVOICE_HEADER + "I-1;C-1;1;2025-01-10;2025-02-09;-3;EUR\n",
    )
    client.force_login(owner)

    page = client.get(reverse("imports:preview", args=[job.pk])).content.decode()

    assert "Ensure this value is greater than 0." in page
    assert "disabled" in page.split('action="/imports/')[1].split("</form>")[0]
    assert reverse("imports:errors", args=[job.pk]) in page


def test_the_error_report_lists_row_column_value_and_message_with_formulas_escaped(
    client, tenant_a, owner, buyer
):
    content = INVOICE_HEADER + "I-1;C-1;1;2025-01-10;2025-02-09;=1+1;EUR\n"
    job = new_job(tenant_a, owner, "invoices", "i.csv", content)
    client.force_login(owner)

    response = client.get(reverse("imports:errors", args=[job.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode("utf-8-sig").splitlines() == [
        "row,column,value,message",
        "2,Amount,'=1+1,Enter a number.",
    ]


def test_starting_an_import_queues_it_and_shows_the_progress_page(client, tenant_a, owner):
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)
    client.force_login(owner)

    response = client.post(reverse("imports:run", args=[job.pk]))
    page = client.get(response["Location"]).content.decode()

    assert response["Location"] == reverse("imports:detail", args=[job.pk])
    assert f'data-progress-url="{reverse("imports:progress", args=[job.pk])}"' in page
    assert client.get(reverse("imports:progress", args=[job.pk])).json()["status"] == "queued"


def test_a_viewer_sees_imports_but_cannot_upload_or_start_one(client, tenant_a, owner):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)
    client.force_login(viewer)

    page = client.get(reverse("imports:list"))
    posted = client.post(
        reverse("imports:list"), {"kind": "buyers", "file": upload("b.csv", content)}
    )
    started = client.post(reverse("imports:run", args=[job.pk]))

    assert page.status_code == 200 and "New import" not in page.content.decode()
    assert (posted.status_code, started.status_code) == (403, 403)
    with active(tenant_a):
        assert ImportJob.objects.get().status == ImportJob.Status.UPLOADED


def page_without_request_details(response) -> str:
    """The page minus what differs per request anyway: CSRF tokens and the current path."""
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'value="/imports/\d+/[^"]*"', "", page)


JOB_PAGES = [
    ("get", "imports:detail"),
    ("get", "imports:map"),
    ("post", "imports:map"),
    ("get", "imports:preview"),
    ("post", "imports:run"),
    ("get", "imports:progress"),
    ("get", "imports:errors"),
]


@pytest.mark.parametrize(("method", "url_name"), JOB_PAGES)
def test_an_outsider_gets_404_for_another_tenants_job_like_a_missing_one(
    client, tenant_a, owner, outsider, method, url_name
):
    content = "erp_reference,legal_name,country,nace_code,currency\nC-7,Secret SA,FR,46.69,EUR\n"
    job = new_job(tenant_a, owner, "buyers", "buyers.csv", content)
    client.force_login(outsider)
    send = getattr(client, method)

    other_tenants = send(reverse(url_name, args=[job.pk]))
    missing = send(reverse(url_name, args=[2_000_000_000]))

    assert other_tenants.status_code == missing.status_code == 404
    assert page_without_request_details(other_tenants) == page_without_request_details(missing)
    with active(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.UPLOADED


def test_the_import_list_shows_only_the_tenants_own_jobs(
    client, tenant_a, owner, outsider, tenant_b
):
    new_job(tenant_a, owner, "buyers", "tenant-a-buyers.csv", "erp_reference\nC-1\n")
    new_job(tenant_b, outsider, "buyers", "tenant-b-buyers.csv", "erp_reference\nC-1\n")
    client.force_login(outsider)

    page = client.get(reverse("imports:list")).content.decode()

    assert "tenant-b-buyers.csv" in page
    assert "tenant-a-buyers.csv" not in page


# --- The real worker ----------------------------------------------------------------------------


@pytest.fixture
def reference_countries(transactional_db):
    """Countries come from a data migration; an earlier transactional test's flush empties them."""
    from django.apps import apps

    importlib.import_module("creditguard.reference.migrations.0001_initial").load_countries(
        apps, None
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_imported_by_the_celery_worker_while_the_page_polls_progress(
    client, celery_worker, reference_countries, tenant_a
):
    with tenant_context(tenant_a):
        user = MembershipFactory(tenant=tenant_a, role="analyst").user
        BuyerFactory(tenant=tenant_a, erp_reference="C-1")
    lines = [f"I-{n};C-1;{n:04d};2025-01-10;2025-02-09;{n}.25;EUR" for n in range(1, 1201)]
    client.force_login(user)

    uploaded = client.post(
        reverse("imports:list"),
        {"kind": "invoices", "file": upload("invoices.csv", INVOICE_HEADER + "\n".join(lines))},
    )
    job_id = int(uploaded["Location"].split("/")[-2])
    assert client.get(reverse("imports:preview", args=[job_id])).status_code == 200
    started = client.post(reverse("imports:run", args=[job_id]))
    assert started["Location"] == reverse("imports:detail", args=[job_id])

    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progress = client.get(reverse("imports:progress", args=[job_id])).json()
        seen.append((progress["status"], progress["percent"]))
        if progress["done"]:
            break
        time.sleep(0.2)

    assert progress["status"] == "succeeded", progress
    assert (progress["percent"], progress["processed_rows"], progress["total_rows"]) == (
        100,
        1200,
        1200,
    )
    assert (progress["created"], progress["updated"], progress["error_count"]) == (1200, 0, 0)
    assert all(percent <= 100 for _status, percent in seen)
    with tenant_context(tenant_a):
        assert Invoice.objects.count() == 1200
        assert Invoice.objects.get(erp_reference="I-7").amount == Decimal("7.25")
        ImportJob.objects.get(pk=job_id).file.delete(save=False)
