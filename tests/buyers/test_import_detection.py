"""Imports read the files Excel writes around the world: the encoding, delimiter, number format
and date order are detected, shown on the mapping and preview pages and can be changed there;
when the values could be read two ways the user is asked instead of a guess."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers import imports
from buyers.imports import ImportFileError, ReadOptions, read_sheet
from buyers.imports.formats import (
    amount_reading,
    date_reading,
    detect_encoding,
    guess_date_order,
    guess_number_format,
)
from buyers.models import Buyer, ImportJob, Invoice
from tests.conftest import active
from tests.factories import BuyerFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def new_job(tenant, user, kind: str, name: str, content: bytes) -> ImportJob:
    with active(tenant):
        return imports.import_job_create(
            tenant=tenant, actor=user, kind=kind, upload=SimpleUploadedFile(name, content)
        )


def preview_of(tenant, job: ImportJob) -> imports.Preview:
    with active(tenant):
        return imports.import_job_preview(tenant=tenant, job=ImportJob.objects.get(pk=job.pk))


def choose(tenant, job: ImportJob, **options: str) -> ImportJob:
    with active(tenant):
        job = ImportJob.objects.get(pk=job.pk)
        return imports.import_job_read_options(job=job, options=ReadOptions(**options))


def run(tenant, job: ImportJob) -> ImportJob:
    with active(tenant):
        imports.import_job_queue(tenant=tenant, job=ImportJob.objects.get(pk=job.pk))
    imports.import_job_run(tenant_id=tenant.pk, job_id=job.pk)
    with active(tenant):
        return ImportJob.objects.get(pk=job.pk)


# --- Every encoding with every delimiter ----------------------------------------------------------

NAMES = {
    "utf-8": ("Müller Präzisionsteile GmbH", "上海华东贸易有限公司"),
    "utf-8-sig": ("Bäckerei Groß KG", "深圳市腾达电子有限公司"),
    "cp1252": ("Müller Präzisionsteile GmbH", "Société Générale de Négoce"),
    "gb18030": ("上海华东贸易有限公司", "北京中关村科技股份有限公司"),
}
DETECTED = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252", "gb18030": "gb18030"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
@pytest.mark.parametrize("encoding", list(NAMES))
def test_every_encoding_and_delimiter_is_detected_and_read(encoding, delimiter):
    first, second = NAMES[encoding]
    text = delimiter.join(["erp_reference", "legal_name", "city"]) + "\r\n"
    text += delimiter.join(["C-1", first, "Köln" if encoding != "gb18030" else "上海"]) + "\r\n"
    text += delimiter.join(["C-2", second, "Paris" if encoding != "gb18030" else "北京"]) + "\r\n"

    sheet = read_sheet(text.encode(encoding), "csv")

    assert (sheet.encoding, sheet.delimiter) == (DETECTED[encoding], delimiter)
    assert sheet.columns == ("erp_reference", "legal_name", "city")  # no byte-order mark left
    assert list(sheet.frame["legal_name"]) == [first, second]


def test_plain_ascii_is_read_as_utf8():
    assert detect_encoding(b"erp_reference,legal_name\nC-1,Foo SA\n") == "utf-8"


def test_a_short_windows_1252_file_that_gb18030_could_also_decode_is_read_as_windows_1252():
    content = "legal_name\nSüdwerk GmbH\n".encode("cp1252")
    content.decode("gb18030")  # decodes without error, into Chinese characters

    assert read_sheet(content, "csv").frame.iloc[0, 0] == "Südwerk GmbH"


def test_a_chosen_encoding_that_cannot_read_the_file_is_refused_by_name():
    content = "legal_name\nGroß\n".encode("cp1252")  # ß before a line break is no GB18030

    with pytest.raises(ImportFileError, match="cannot be read as GB18030"):
        read_sheet(content, "csv", ReadOptions(encoding="gb18030"))


# --- Numbers and dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number_format", "reading"),
    [
        ("1.234,56", "comma", "1234.56"),
        ("-1 234,5", "comma", "-1234.5"),
        ("1.234.567", "comma", "1234567"),
        ("99,50", "comma", "99.50"),
        ("1,234.56", "point", "1234.56"),
        ("1'234.56", "point", "1234.56"),
        ("1500", "point", "1500"),
        ("1500", "comma", "1500"),
        ("1,50", "point", None),
        ("1.50", "comma", None),
        ("١٢٣", "point", None),  # Arabic-Indic digits are not read as numbers
    ],
)
def test_amounts_are_read_in_the_files_number_format(text, number_format, reading):
    assert amount_reading(text, number_format) == reading


@pytest.mark.parametrize(
    ("text", "date_order", "reading"),
    [
        ("31.01.2025", "dmy", "2025-01-31"),
        ("31/01/2025", "dmy", "2025-01-31"),
        ("1.2.2025", "dmy", "2025-02-01"),
        ("01/31/2025", "mdy", "2025-01-31"),
        ("2025-01-31", "mdy", "2025-01-31"),
        ("2025/01/31", "dmy", "2025-01-31"),
        ("31/01/2025", "mdy", None),
        ("30.02.2025", "dmy", None),
        ("31.01.25", "dmy", None),
    ],
)
def test_dates_are_read_in_the_files_date_order(text, date_order, reading):
    assert date_reading(text, date_order) == reading


def test_values_that_only_one_number_format_reads_decide_it():
    guess = guess_number_format([(2, "1500"), (3, "1.234,56"), (4, "99,50")])

    assert (guess.value, guess.decided, guess.conflict) == ("comma", True, False)
    assert guess.examples == ((3, "1.234,56"),)


def test_without_deciding_values_the_delimiter_hints_the_number_format_which_changes_nothing():
    guess = guess_number_format([(2, "1500"), (3, "12")], hint="comma")

    assert (guess.value, guess.decided, guess.conflict) == ("comma", False, False)


def test_values_of_both_number_formats_are_a_conflict_for_the_user():
    guess = guess_number_format([(2, "1.50"), (3, "1,50")])

    assert guess.conflict
    assert guess.examples == ((2, "1.50"), (3, "1,50"))


def test_dotted_dates_are_day_first_and_a_day_above_12_decides():
    assert guess_date_order([(2, "01.02.2025")]).value == "dmy"
    assert guess_date_order([(2, "01.02.2025")]).decided
    assert guess_date_order([(2, "02/01/2025"), (3, "01/31/2025")]).value == "mdy"


def test_slashed_dates_that_read_both_ways_are_not_guessed():
    guess = guess_date_order([(2, "01/02/2025"), (3, "05/05/2025"), (4, "2025-03-01")])

    assert (guess.conflict, guess.ambiguous, guess.examples) == (True, True, ((2, "01/02/2025"),))


# --- Whole files ------------------------------------------------------------------------------

GERMAN_BUYERS = (
    "erp_reference;legal_name;country;city;address;nace_code;currency\r\n"
    "K-1001;Müller Präzisionsteile GmbH;DE;München;Äußere Straße 5;25.62;EUR\r\n"
    "K-1002;Bäckerei Groß & Söhne KG;AT;Graz;Hauptplatz 1;10.71;EUR\r\n"
)
GERMAN_INVOICES = (
    "Rechnungs-ID;Kundennr;Belegnr;Rechnungsdatum;Fällig am;Betrag;Währung;Bezahlt\r\n"
    "R-1;K-1001;2025-001;31.01.2025;02.03.2025;1.234,56;EUR;0,00\r\n"
    "R-2;K-1002;2025-002;15.02.2025;17.03.2025;99,50;EUR;99,50\r\n"
    "R-3;K-1001;2025-003;01.03.2025;31.03.2025;12.000,00;EUR;\r\n"
)
GERMAN_INVOICE_MAPPING = {
    "erp_reference": "Rechnungs-ID",
    "buyer_erp_reference": "Kundennr",
    "number": "Belegnr",
    "issue_date": "Rechnungsdatum",
    "due_date": "Fällig am",
    "amount": "Betrag",
    "currency": "Währung",
    "paid_amount": "Bezahlt",
}


def test_a_german_excel_csv_imports_with_umlauts_decimal_commas_and_dotted_dates(tenant_a, owner):
    buyers = new_job(tenant_a, owner, "buyers", "Kunden.csv", GERMAN_BUYERS.encode("cp1252"))
    assert run(tenant_a, buyers).status == ImportJob.Status.SUCCEEDED
    invoices = new_job(tenant_a, owner, "invoices", "OP.csv", GERMAN_INVOICES.encode("cp1252"))
    with active(tenant_a):
        imports.import_job_map(job=invoices, mapping=GERMAN_INVOICE_MAPPING)

    preview = preview_of(tenant_a, invoices)
    job = run(tenant_a, invoices)

    reading = preview.reading
    assert (reading.encoding, reading.delimiter) == ("cp1252", ";")
    assert (reading.formats.number.value, reading.formats.number.decided) == ("comma", True)
    assert (reading.formats.date.value, reading.formats.date.decided) == ("dmy", True)
    assert preview.validation.errors == []
    first = preview.rows[0].cells
    assert [(cell.value, cell.original) for cell in first[3:6]] == [
        ("2025-01-31", "31.01.2025"),
        ("2025-03-02", "02.03.2025"),
        ("1234.56", "1.234,56"),
    ]
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="K-1002").legal_name == "Bäckerei Groß & Söhne KG"
        assert Buyer.objects.get(erp_reference="K-1001").address == "Äußere Straße 5"
        invoice = Invoice.objects.get(erp_reference="R-1")
        assert (invoice.amount, invoice.issue_date) == (Decimal("1234.56"), date(2025, 1, 31))
        assert Invoice.objects.get(erp_reference="R-3").amount == Decimal("12000.00")
        assert Invoice.objects.get(erp_reference="R-2").paid_amount == Decimal("99.50")


def test_a_gb18030_csv_imports_chinese_names(tenant_a, owner):
    content = (
        "客户编号,客户名称,国家,城市,行业代码,币种\r\n"
        "CN-1,上海华东贸易有限公司,CN,上海,46.69,CNY\r\n"
        "CN-2,深圳市腾达电子有限公司,CN,深圳,26.11,CNY\r\n"
    ).encode("gb18030")
    job = new_job(tenant_a, owner, "buyers", "客户.csv", content)

    job = run(tenant_a, job)

    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="CN-1").legal_name == "上海华东贸易有限公司"
        assert Buyer.objects.get(erp_reference="CN-2").city == "深圳"


def test_a_utf8_csv_with_a_byte_order_mark_and_tabs_imports(tenant_a, owner):
    content = (
        "\ufefferp_reference\tlegal_name\tcountry\tnace_code\tcurrency\r\n"
        "T-1\tÉtablissements Dupont SA\tFR\t46.69\tEUR\r\n"
    ).encode()
    job = new_job(tenant_a, owner, "buyers", "tabs.csv", content)

    assert preview_of(tenant_a, job).reading.encoding == "utf-8"
    assert run(tenant_a, job).status == ImportJob.Status.SUCCEEDED
    with active(tenant_a):
        assert Buyer.objects.get(erp_reference="T-1").legal_name == "Établissements Dupont SA"


def test_a_wrong_delimiter_guess_is_changed_and_the_columns_are_mapped_again(tenant_a, owner):
    # Commas and semicolons are equally regular on every line; the sniffer takes the comma.
    content = b"erp_reference;legal_name,short\nC-1;Foo SA,Foo\nC-2;Bar AG,Bar\n"
    job = new_job(tenant_a, owner, "buyers", "odd.csv", content)
    with active(tenant_a):
        sheet = imports.read_job_sheet(ImportJob.objects.get(pk=job.pk))
    assert (sheet.delimiter, sheet.columns) == (",", ("erp_reference;legal_name", "short"))
    assert imports.job_field_columns(job)["erp_reference"] == ""

    job = choose(tenant_a, job, delimiter=";")

    with active(tenant_a):
        sheet = imports.read_job_sheet(job)
    assert (sheet.delimiter, sheet.columns) == (";", ("erp_reference", "legal_name,short"))
    assert imports.job_field_columns(job)["erp_reference"] == "erp_reference"
    assert list(sheet.frame["legal_name,short"]) == ["Foo SA,Foo", "Bar AG,Bar"]


def test_a_wrong_encoding_is_changed_back_and_forth(tenant_a, owner):
    content = "erp_reference,legal_name\nC-1,华东\n".encode("gb18030")
    job = new_job(tenant_a, owner, "buyers", "b.csv", content)

    job = choose(tenant_a, job, encoding="cp1252")
    garbled = preview_of(tenant_a, job).rows[0].cells[1].value
    job = choose(tenant_a, job, encoding="")

    assert garbled != "华东"
    assert preview_of(tenant_a, job).rows[0].cells[1].value == "华东"


def test_amounts_written_both_ways_are_not_guessed_until_the_user_chooses(tenant_a, owner):
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, erp_reference="C-1")
    content = (
        b"erp_reference,buyer_erp_reference,issue_date,due_date,amount,currency\n"
        b"I-1,C-1,2025-01-10,2025-02-09,1.50,EUR\n"
        b'I-2,C-1,2025-01-10,2025-02-09,"1,50",EUR\n'
    )
    job = new_job(tenant_a, owner, "invoices", "i.csv", content)

    asked = preview_of(tenant_a, job)
    job = choose(tenant_a, job, number_format="comma")
    answered = preview_of(tenant_a, job)

    assert asked.validation.errors[0].row is None
    assert "Amounts are written in two ways" in asked.validation.errors[0].message
    assert [error.row for error in answered.validation.errors] == [2]  # 1.50 is no comma amount
    assert answered.validation.errors[0].message == "Enter an amount written like 1.234,56."
    assert answered.rows[1].cells[4].value == "1.50"


def test_dates_that_read_both_ways_ask_and_the_import_fails_until_the_user_chooses(tenant_a, owner):
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, erp_reference="C-1")
    content = (
        b"erp_reference,buyer_erp_reference,issue_date,due_date,amount,currency\n"
        b"I-1,C-1,01/02/2025,03/04/2025,100,USD\n"
    )
    job = new_job(tenant_a, owner, "invoices", "us.csv", content)

    failed = run(tenant_a, new_job(tenant_a, owner, "invoices", "us.csv", content))
    job = choose(tenant_a, job, date_order="mdy")
    imported = run(tenant_a, job)

    assert failed.status == ImportJob.Status.FAILED
    assert "can be read day first or month first" in failed.errors[0]["message"]
    assert imported.status == ImportJob.Status.SUCCEEDED, imported.errors
    with active(tenant_a):
        assert Invoice.objects.get(erp_reference="I-1").issue_date == date(2025, 1, 2)


def test_a_workbook_is_not_given_number_or_date_choices(tenant_a, owner):
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["erp_reference", "legal_name"])
    workbook.active.append(["C-1", "Foo"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = new_job(tenant_a, owner, "buyers", "b.xlsx", buffer.getvalue())

    reading = preview_of(tenant_a, job).reading

    assert not reading.is_csv and reading.encoding == ""


# --- Pages --------------------------------------------------------------------------------------


def test_the_preview_shows_the_detected_reading_and_the_values_as_in_the_file(
    client, tenant_a, owner
):
    new = new_job(tenant_a, owner, "buyers", "Kunden.csv", GERMAN_BUYERS.encode("cp1252"))
    assert run(tenant_a, new).status == ImportJob.Status.SUCCEEDED
    job = new_job(tenant_a, owner, "invoices", "OP.csv", GERMAN_INVOICES.encode("cp1252"))
    with active(tenant_a):
        imports.import_job_map(job=job, mapping=GERMAN_INVOICE_MAPPING)
    client.force_login(owner)

    page = client.get(reverse("imports:preview", args=[job.pk])).content.decode()

    assert "How the file is read" in page
    assert "Windows-1252 (detected)" in page
    assert "Semicolon (detected)" in page
    assert "1.234,56 (detected)" in page
    assert "Detected from “1.234,56” in row 2." in page
    assert "Day first (detected)" in page
    assert "Detected from “31.01.2025” in row 2." in page
    assert "1234.56" in page and "“1.234,56” in the file" in page


def test_the_mapping_page_changes_the_delimiter_and_reads_the_file_again(client, tenant_a, owner):
    content = b"erp_reference;legal_name;country;nace_code;currency\nC-1;Foo SA;FR;46.69;EUR\n"
    job = new_job(tenant_a, owner, "buyers", "b.csv", content)
    client.force_login(owner)
    url = reverse("imports:map", args=[job.pk])

    response = client.post(url, {"read_options": "1", "delimiter": ",", "encoding": ""})
    page = client.get(url).content.decode()

    assert response.status_code == 302 and response["Location"] == url
    with active(tenant_a):
        job = ImportJob.objects.get(pk=job.pk)
    assert imports.read_options_of(job.column_mapping).delimiter == ","
    assert "erp_reference;legal_name;country;nace_code;currency" in page  # one column now


def test_an_encoding_that_cannot_read_the_file_is_an_error_on_its_field(client, tenant_a, owner):
    content = "erp_reference,legal_name\nC-1,Groß\n".encode("cp1252")
    job = new_job(tenant_a, owner, "buyers", "b.csv", content)
    client.force_login(owner)

    response = client.post(
        reverse("imports:map", args=[job.pk]), {"read_options": "1", "encoding": "gb18030"}
    )

    assert response.status_code == 200
    assert "The file cannot be read as GB18030" in response.content.decode()
    assert response.context["options_form"].errors.keys() == {"encoding"}
    with active(tenant_a):
        options = imports.read_options_of(ImportJob.objects.get(pk=job.pk).column_mapping)
    assert options.encoding == ""


def test_an_unknown_choice_is_a_form_error_not_a_failure(client, tenant_a, owner):
    job = new_job(tenant_a, owner, "buyers", "b.csv", b"erp_reference,legal_name\nC-1,Foo\n")
    client.force_login(owner)

    response = client.post(
        reverse("imports:map", args=[job.pk]), {"read_options": "1", "delimiter": "|"}
    )

    assert response.status_code == 200
    assert response.context["options_form"].errors.keys() == {"delimiter"}


def test_a_viewer_cannot_change_how_a_file_is_read(client, tenant_a, owner):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    job = new_job(tenant_a, owner, "buyers", "b.csv", b"erp_reference,legal_name\nC-1,Foo\n")
    client.force_login(viewer)

    response = client.post(
        reverse("imports:preview", args=[job.pk]), {"read_options": "1", "delimiter": ";"}
    )

    assert response.status_code == 403
    with active(tenant_a):
        options = imports.read_options_of(ImportJob.objects.get(pk=job.pk).column_mapping)
    assert options.delimiter == ""


def test_an_outsider_cannot_change_how_another_tenants_file_is_read(
    client, tenant_a, owner, outsider
):
    job = new_job(tenant_a, owner, "buyers", "b.csv", b"erp_reference,legal_name\nC-1,Foo\n")
    client.force_login(outsider)

    response = client.post(
        reverse("imports:map", args=[job.pk]), {"read_options": "1", "delimiter": ";"}
    )

    assert response.status_code == 404
    with active(tenant_a):
        options = imports.read_options_of(ImportJob.objects.get(pk=job.pk).column_mapping)
    assert options.delimiter == ""


def test_the_demo_draft_is_a_german_excel_csv_that_previews_without_a_problem(tenant_a, owner):
    from buyers.imports.demo import seed_demo_import_drafts

    with active(tenant_a):
        for number in range(3):
            BuyerFactory(tenant=tenant_a, erp_reference=f"D-{number}")

    assert seed_demo_import_drafts(tenant=tenant_a, as_of=date(2026, 12, 7))
    assert not seed_demo_import_drafts(tenant=tenant_a, as_of=date(2026, 12, 7))
    with active(tenant_a):
        job = ImportJob.objects.get()
    preview = preview_of(tenant_a, job)
    assert (preview.reading.encoding, preview.reading.delimiter) == ("cp1252", ";")
    assert preview.reading.formats.number.value == "comma"
    assert preview.validation.errors == []


def test_the_preview_asks_which_date_format_when_the_dates_read_both_ways(client, tenant_a, owner):
    with active(tenant_a):
        BuyerFactory(tenant=tenant_a, erp_reference="C-1")
    content = (
        b"erp_reference,buyer_erp_reference,issue_date,due_date,amount,currency\n"
        b"I-1,C-1,01/02/2025,03/04/2025,100,USD\n"
    )
    job = new_job(tenant_a, owner, "invoices", "us.csv", content)
    client.force_login(owner)

    page = client.get(reverse("imports:preview", args=[job.pk])).content.decode()

    assert "Cannot tell: choose one" in page
    assert "The values can be read both ways: choose one." in page
    assert "can be read day first or month first" in page
    assert 'disabled aria-disabled="true"' in page  # nothing is imported on a guess
