"""Template files per import kind, downloadable from the imports page: the header row and one
example row, as CSV and as Excel; a downloaded template imports without a problem."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers import imports
from buyers.models import Buyer, FinancialStatement, ImportJob, Invoice, Payment
from tests.conftest import active
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

KINDS = ["buyers", "invoices", "payments", "financial_statements"]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize("kind", KINDS)
def test_the_csv_template_has_every_field_and_one_example_row(client, owner, kind):
    client.force_login(owner)

    response = client.get(reverse("imports:template", args=[kind, "csv"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == [field.name for field in imports.import_fields(kind)]
    assert len(lines) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_the_excel_template_has_every_field_and_one_example_row(client, owner, kind):
    client.force_login(owner)

    response = client.get(reverse("imports:template", args=[kind, "xlsx"]))

    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == [field.name for field in imports.import_fields(kind)]
    assert len(rows) == 2


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_downloaded_templates_upload_and_import_without_a_problem(
    client, tenant_a, owner, file_format
):
    client.force_login(owner)
    for kind in KINDS:  # in this order, each example refers to the one before
        template = client.get(reverse("imports:template", args=[kind, file_format])).content
        uploaded = client.post(
            reverse("imports:list"),
            {"kind": kind, "file": SimpleUploadedFile(f"{kind}.{file_format}", template)},
        )
        with active(tenant_a):
            job = ImportJob.objects.get(kind=kind)
        preview = client.get(reverse("imports:preview", args=[job.pk]))

        assert uploaded["Location"] == reverse("imports:map", args=[job.pk])
        assert preview.status_code == 200, kind
        assert preview.context["preview"].validation.errors == [], kind
        with active(tenant_a):
            imports.import_job_queue(tenant=tenant_a, job=job)
        imports.import_job_run(tenant_id=tenant_a.pk, job_id=job.pk)
        with active(tenant_a):
            job = ImportJob.objects.get(pk=job.pk)
        assert job.status == ImportJob.Status.SUCCEEDED, (kind, job.errors)
    with active(tenant_a):
        assert Buyer.objects.get().legal_name == "Muster Handels GmbH"
        assert Invoice.objects.get().paid_amount == 5000  # the example payment is allocated
        assert Payment.objects.count() == FinancialStatement.objects.count() == 1


def test_the_imports_page_links_every_template(client, tenant_a):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    client.force_login(viewer)

    page = client.get(reverse("imports:list")).content.decode()

    for kind in KINDS:
        for file_format in ("csv", "xlsx"):
            assert reverse("imports:template", args=[kind, file_format]) in page


def test_an_unknown_template_is_not_found(client, owner):
    client.force_login(owner)

    assert client.get("/imports/template/limits.csv").status_code == 404
    assert client.get("/imports/template/buyers.xls").status_code == 404


def test_templates_need_a_sign_in(client):
    response = client.get(reverse("imports:template", args=["buyers", "csv"]))

    assert response.status_code == 302 and "login" in response["Location"]
