"""A statement's publication date (`published_on`) through every entry point.

Optional; on or after the period end (a 400 naming the field, the record's index, or the row
and column otherwise). As-of scoring uses a statement from that day on
(`buyers.ledger.statement_known_on`).
"""

from datetime import date

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers import imports
from buyers.imports.mapping import import_fields
from buyers.imports.samples import template_file
from buyers.models import FinancialStatement, ImportJob
from tests.buyers.statements import FIGURES
from tests.buyers.test_views import page_text
from tests.conftest import active
from tests.factories import ApiKeyFactory, BuyerFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
MESSAGE = "The publication date cannot be before the period end."


@pytest.fixture
def api(client, api_key_a):
    _key, raw_key = api_key_a
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
    return client


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1", legal_name="Nordlicht GmbH")


def statement(**fields):
    return {
        "buyer_erp_reference": "C-1",
        "period_end": "2025-12-31",
        "currency": "EUR",
        **FIGURES,
        **fields,
    }


def stored(tenant):
    with active(tenant):
        return FinancialStatement.objects.get()


def nothing_stored(tenant):
    with active(tenant):
        return not FinancialStatement.objects.exists()


# --- API ------------------------------------------------------------------------------------------


def test_the_api_takes_and_returns_the_publication_date(api, tenant_a, buyer):
    response = api.post(
        "/api/v1/financial-statements/",
        statement(published_on="2026-04-30"),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["published_on"] == "2026-04-30"
    assert stored(tenant_a).published_on == date(2026, 4, 30)
    fetched = api.get(f"/api/v1/financial-statements/{response.json()['id']}/").json()
    assert fetched["published_on"] == "2026-04-30"


def test_without_a_publication_date_it_is_null(api, tenant_a, buyer):
    response = api.post(
        "/api/v1/financial-statements/", statement(), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["published_on"] is None


def test_the_api_refuses_a_publication_before_the_period_end(api, tenant_a, buyer):
    response = api.post(
        "/api/v1/financial-statements/",
        statement(published_on="2025-12-30"),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert {"field": "published_on", "message": MESSAGE} in [
        {"field": e["field"], "message": e["message"]} for e in response.json()["errors"]
    ]
    assert nothing_stored(tenant_a)


def test_a_publication_on_the_period_end_is_accepted(api, tenant_a, buyer):
    response = api.post(
        "/api/v1/financial-statements/",
        statement(published_on="2025-12-31"),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_a_patch_sets_the_publication_date(api, tenant_a, buyer):
    created = api.post(
        "/api/v1/financial-statements/", statement(), content_type="application/json"
    ).json()

    response = api.patch(
        f"/api/v1/financial-statements/{created['id']}/",
        {"published_on": "2026-03-01"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert stored(tenant_a).published_on == date(2026, 3, 1)


def test_a_read_key_cannot_write_a_publication_date(client, tenant_a, buyer):
    with active(tenant_a):
        _key, raw_key = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")
    response = client.post(
        "/api/v1/financial-statements/",
        statement(published_on="2026-04-30"),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )
    assert response.status_code == 403
    assert nothing_stored(tenant_a)


def test_another_tenants_statement_is_not_found(api, tenant_b):
    with active(tenant_b):
        theirs = BuyerFactory(tenant=tenant_b, erp_reference="C-1")
        their_statement = FinancialStatement.objects.create(
            tenant=tenant_b,
            buyer=theirs,
            period_end=date(2025, 12, 31),
            **{name: value for name, value in statement().items() if name in FIGURES},
            currency="EUR",
        )
    response = api.patch(
        f"/api/v1/financial-statements/{their_statement.pk}/",
        {"published_on": "2026-03-01"},
        content_type="application/json",
    )
    assert response.status_code == 404
    with active(tenant_b):
        assert FinancialStatement.objects.get(pk=their_statement.pk).published_on is None


# --- Bulk -------------------------------------------------------------------------------------


def post_bulk(api, records):
    return api.post(
        "/api/v1/financial-statements/bulk",
        orjson.dumps({"records": records}),
        content_type="application/json",
    )


def test_bulk_stores_the_publication_date(api, tenant_a, buyer):
    response = post_bulk(
        api,
        [
            statement(published_on="2026-04-30"),
            statement(period_end="2024-12-31"),
        ],
    )

    assert response.status_code == 200, response.content
    with active(tenant_a):
        dates = dict(FinancialStatement.objects.values_list("period_end", "published_on"))
    assert dates == {date(2025, 12, 31): date(2026, 4, 30), date(2024, 12, 31): None}


def test_bulk_refuses_a_publication_before_the_period_end_naming_the_record(api, tenant_a, buyer):
    response = post_bulk(
        api, [statement(period_end="2024-12-31"), statement(published_on="2025-06-30")]
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert [(e["index"], e["field"], e["message"]) for e in response.json()["errors"]] == [
        (1, "published_on", MESSAGE)
    ]
    assert nothing_stored(tenant_a)


# --- Imports ------------------------------------------------------------------------------------


def test_the_import_template_has_the_column():
    assert "published_on" in [field.name for field in import_fields("financial_statements")]
    assert b"published_on" in template_file(kind="financial_statements", file_format="csv")


def _import(tenant, owner, content):
    with active(tenant):
        job = imports.import_job_create(
            tenant=tenant,
            actor=owner,
            kind="financial_statements",
            upload=SimpleUploadedFile("statements.csv", content.encode()),
        )
        imports.import_job_preview(tenant=tenant, job=job)
        imports.import_job_queue(tenant=tenant, job=job)
    imports.import_job_run(tenant_id=tenant.pk, job_id=job.pk)
    with active(tenant):
        return ImportJob.objects.get(pk=job.pk)


HEADER = ["Buyer ERP reference", "Period end", "Currency", *FIGURES, "Publication date"]


def _csv(*rows):
    lines = [HEADER] + [
        ["C-1", period_end, "EUR", *FIGURES.values(), published] for period_end, published in rows
    ]
    return "".join(";".join(line) + "\n" for line in lines)


def test_an_import_maps_the_publication_date(tenant_a, owner, buyer):
    job = _import(tenant_a, owner, _csv(("2025-12-31", "2026-04-30")))

    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    assert stored(tenant_a).published_on == date(2026, 4, 30)


def test_an_import_refuses_a_publication_before_the_period_end_naming_row_and_column(
    tenant_a, owner, buyer
):
    job = _import(tenant_a, owner, _csv(("2024-12-31", ""), ("2025-12-31", "2025-11-30")))

    assert job.status == ImportJob.Status.FAILED
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (3, "Publication date", MESSAGE)
    ]
    assert nothing_stored(tenant_a)


# --- The form and the credit file ---------------------------------------------------------------


def _form(**fields):
    return {
        "period_end": "2025-12-31",
        "period_months": "12",
        "currency": "EUR",
        **FIGURES,
        **fields,
    }


def test_the_form_takes_the_publication_date_and_the_credit_file_shows_it(
    client, teammate, tenant_a, buyer
):
    client.force_login(teammate)
    url = reverse("buyers:statement-create", args=[buyer.pk])
    assert 'name="published_on"' in client.get(url).content.decode()

    response = client.post(url, _form(published_on="2026-04-30"))

    assert response.status_code == 302
    assert stored(tenant_a).published_on == date(2026, 4, 30)
    page = page_text(client.get(reverse("buyers:detail", args=[buyer.pk])))
    assert "published 30 Apr 2026" in page


def test_the_form_refuses_a_publication_before_the_period_end_on_the_field(
    client, teammate, tenant_a, buyer
):
    client.force_login(teammate)

    response = client.post(
        reverse("buyers:statement-create", args=[buyer.pk]), _form(published_on="2025-01-01")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["published_on"] == [MESSAGE]
    assert nothing_stored(tenant_a)


def test_the_form_of_another_tenants_buyer_is_not_found(client, outsider, buyer):
    client.force_login(outsider)
    response = client.post(
        reverse("buyers:statement-create", args=[buyer.pk]), _form(published_on="2026-04-30")
    )
    assert response.status_code == 404
