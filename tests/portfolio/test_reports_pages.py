"""Report pages and API: the archive with progress and download, the "new report" form (errors
name their field), the buyer page's button, who may request, the API's 202 and schema."""

import re

import pytest
from django.urls import reverse

from portfolio.models import Report
from portfolio.reports import services
from tests.conftest import active, bearer
from tests.factories import ApiKeyFactory, MembershipFactory
from tests.insurance.pdf_text import pdf_text
from tests.portfolio.report_support import make_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def book(tenant_a, media_root):
    with active(tenant_a):
        return make_book(tenant_a)


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="viewer", user__email="viewer@a.example"
        ).user


def member(tenant, role: str):
    with active(tenant):
        return MembershipFactory(tenant=tenant, role=role).user


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def done_report(tenant, book) -> Report:
    with active(tenant):
        report = services.report_request(
            tenant=tenant, actor=None, kind="credit_report", language="en", buyer=book.german
        )
    return services.report_generate(tenant=tenant, report_id=report.pk)


def queued_report(tenant) -> Report:
    with active(tenant):
        report = services.report_request(
            tenant=tenant, actor=None, kind="health_check", language="en", period="2026"
        )
        Report.objects.filter(pk=report.pk).update(status="running", progress=50)
        report.refresh_from_db()
        return report


# --- Pages -------------------------------------------------------------------------------------


def test_the_archive_shows_progress_and_download_links(client, viewer, tenant_a, book):
    done = done_report(tenant_a, book)
    running = queued_report(tenant_a)
    client.force_login(viewer)

    response = client.get(reverse("reports:list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("reports:download", args=[done.pk]) in html
    assert reverse("reports:download", args=[running.pk]) not in html
    assert f'data-report-progress-url="{reverse("reports:progress", args=[running.pk])}"' in html
    assert 'value="50"' in html and "report_progress.js" in html
    text = page_text(response)
    assert "Buyer credit report" in text and "Elbe Maschinenbau GmbH" in text
    assert "Annual credit-protection health check" in text and "Running" in text
    assert "New report" not in text  # a viewer may not request


def test_the_archive_filters_by_kind(client, owner, tenant_a, book):
    done_report(tenant_a, book)
    queued_report(tenant_a)
    client.force_login(owner)

    text = page_text(client.get(reverse("reports:list"), {"kind": "health_check"}))

    assert "Annual credit-protection health check" in text
    assert "Elbe Maschinenbau GmbH" not in text


def test_the_progress_endpoint(client, viewer, tenant_a, book):
    running = queued_report(tenant_a)
    done = done_report(tenant_a, book)
    client.force_login(viewer)

    assert client.get(reverse("reports:progress", args=[running.pk])).json() == {
        "id": running.pk,
        "status": "running",
        "status_label": "Running",
        "progress": 50,
        "done": False,
        "download_url": None,
    }
    finished = client.get(reverse("reports:progress", args=[done.pk])).json()
    assert finished["done"] and finished["progress"] == 100
    assert finished["download_url"] == reverse("reports:download", args=[done.pk])


def test_a_viewer_downloads_a_done_report(client, viewer, tenant_a, book):
    done = done_report(tenant_a, book)
    client.force_login(viewer)

    response = client.get(reverse("reports:download", args=[done.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f"credit-report-C-DE-1-en-{done.pk}.pdf" in response["Content-Disposition"]
    assert "Elbe Maschinenbau GmbH" in pdf_text(b"".join(response.streaming_content))


def test_a_report_not_done_is_not_downloadable(client, viewer, tenant_a, book):
    running = queued_report(tenant_a)
    client.force_login(viewer)
    assert client.get(reverse("reports:download", args=[running.pk])).status_code == 404


@pytest.mark.parametrize("role", ["analyst", "credit_manager", "admin"])
def test_who_may_request_a_report(client, tenant_a, book, role, sent_tasks):
    client.force_login(member(tenant_a, role))

    response = client.post(
        reverse("reports:create"),
        {"kind": "portfolio_risk", "month": "2026-11", "language": "zh-hans"},
    )

    assert response.status_code == 302 and response["Location"] == reverse("reports:list")
    with active(tenant_a):
        report = Report.objects.get()
    assert (report.kind, report.period, report.language, report.status) == (
        "portfolio_risk",
        "2026-11",
        "zh-hans",
        "queued",
    )


def test_a_viewer_may_not_request_a_report(client, viewer, tenant_a, book):
    client.force_login(viewer)

    assert client.get(reverse("reports:create")).status_code == 403
    assert (
        client.post(
            reverse("reports:create"), {"kind": "health_check", "year": "2026", "language": "en"}
        ).status_code
        == 403
    )
    assert client.post(reverse("reports:buyer", args=[book.german.pk])).status_code == 403
    with active(tenant_a):
        assert not Report.objects.exists()


def test_the_form_starts_in_the_users_language_and_from_the_buyer(client, owner, tenant_a, book):
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"

    response = client.get(reverse("reports:create"), {"buyer": book.german.pk})

    form = response.context["form"]
    assert form.initial["language"] == "zh-hans"
    assert (form.initial["kind"], form.initial["buyer"]) == ("credit_report", "C-DE-1")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "credit_report", "language": "en"}, "buyer", "Choose the buyer"),
        (
            {"kind": "credit_report", "language": "en", "buyer": "NO-SUCH"},
            "buyer",
            "No buyer has this ERP reference.",
        ),
        ({"kind": "portfolio_risk", "language": "en", "month": "11/2026"}, "month", "YYYY-MM"),
        ({"kind": "health_check", "language": "en", "year": ""}, "year", "YYYY"),
        ({"kind": "health_check", "language": "de", "year": "2026"}, "language", "valid choice"),
    ],
)
def test_form_errors_name_their_field(client, owner, tenant_a, book, data, field, message):
    client.force_login(owner)

    response = client.post(reverse("reports:create"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field])
    with active(tenant_a):
        assert not Report.objects.exists()


def test_the_buyer_page_button_requests_a_credit_report(client, owner, tenant_a, book, sent_tasks):
    client.force_login(owner)
    page = client.get(reverse("buyers:detail", args=[book.german.pk]))
    assert reverse("reports:buyer", args=[book.german.pk]) in page.content.decode()
    assert "Credit report (PDF)" in page_text(page)

    response = client.post(reverse("reports:buyer", args=[book.german.pk]))

    assert response["Location"] == reverse("reports:list")
    with active(tenant_a):
        report = Report.objects.get()
    assert (report.kind, report.buyer_id, report.requested_by_id) == (
        "credit_report",
        book.german.pk,
        owner.pk,
    )


def test_the_buyer_page_shows_no_button_to_a_viewer(client, viewer, book):
    client.force_login(viewer)
    page = client.get(reverse("buyers:detail", args=[book.german.pk]))
    assert reverse("reports:buyer", args=[book.german.pk]) not in page.content.decode()


def test_the_navigation_links_the_reports(client, viewer, book):
    client.force_login(viewer)
    assert f'href="{reverse("reports:list")}"' in client.get(reverse("dashboard")).content.decode()


# --- API ---------------------------------------------------------------------------------------


def test_the_api_accepts_a_request_with_202_and_a_status_url(
    client, tenant_a, book, api_key_a, sent_tasks, django_capture_on_commit_callbacks
):
    _key, raw = api_key_a
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:report-list"),
            {"kind": "credit_report", "buyer": book.chinese.pk, "language": "zh-hans"},
            content_type="application/json",
            headers=bearer(raw),
        )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (
        response["Location"]
        == body["status_url"]
        == reverse("api:report-detail", args=[body["id"]])
    )
    assert (body["status"], body["progress"], body["download_url"]) == ("queued", 0, None)
    assert body["buyer_erp_reference"] == "C-CN-1"
    assert [task.name for task in sent_tasks] == ["portfolio.report_generate"]

    status = client.get(body["status_url"], headers=bearer(raw))
    assert status.status_code == 200 and status.json()["status"] == "queued"
    not_ready = client.get(reverse("api:report-download", args=[body["id"]]), headers=bearer(raw))
    assert not_ready.status_code == 409
    assert not_ready["Content-Type"].startswith("application/problem+json")

    services.report_generate(tenant=tenant_a, report_id=body["id"])
    status = client.get(body["status_url"], headers=bearer(raw)).json()
    assert (status["status"], status["progress"]) == ("done", 100)
    download = client.get(status["download_url"], headers=bearer(raw))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "上海华东贸易有限公司" in pdf_text(b"".join(download.streaming_content))


def test_the_api_lists_reports(client, tenant_a, book, api_key_a):
    done = done_report(tenant_a, book)
    _key, raw = api_key_a
    body = client.get(reverse("api:report-list"), headers=bearer(raw)).json()
    assert [row["id"] for row in body["results"]] == [done.pk]
    assert body["results"][0]["download_url"] == reverse("api:report-download", args=[done.pk])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "credit_report", "language": "en"}, "buyer"),
        ({"kind": "credit_report", "buyer": 2_000_000_000}, "buyer"),
        ({"kind": "portfolio_risk", "period": "2026"}, "period"),
        ({"kind": "annual"}, "kind"),
        ({"kind": "health_check", "period": "2026", "language": "fr"}, "language"),
    ],
)
def test_the_api_names_the_bad_field(client, tenant_a, book, api_key_a, body, field):
    _key, raw = api_key_a
    response = client.post(
        reverse("api:report-list"), body, content_type="application/json", headers=bearer(raw)
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_a_read_key_and_a_viewer_may_not_request_through_the_api(client, tenant_a, viewer, book):
    with active(tenant_a):
        _key, raw = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")
    body = {"kind": "health_check", "period": "2026"}
    assert (
        client.post(
            reverse("api:report-list"), body, content_type="application/json", headers=bearer(raw)
        ).status_code
        == 403
    )
    client.force_login(viewer)
    assert (
        client.post(reverse("api:report-list"), body, content_type="application/json").status_code
        == 403
    )
    assert client.get(reverse("api:report-list")).status_code == 200


def test_the_reports_api_is_in_the_schema(client):
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    paths = schema["paths"]
    assert {"/api/v1/reports/", "/api/v1/reports/{id}/", "/api/v1/reports/{id}/download/"} <= set(
        paths
    )
    assert "202" in paths["/api/v1/reports/"]["post"]["responses"]
