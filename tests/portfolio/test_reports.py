"""Reports: each kind rendered by WeasyPrint and read back (pypdf), in English and Chinese;
the first working day; progress, archive, idempotence of the generation and of the monthly
run; tenant isolation of the figures."""

from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from creditguard.dates import today
from portfolio.models import Report
from portfolio.reports import selectors, services
from portfolio.tasks import monthly_reports
from tests.conftest import active
from tests.insurance.pdf_text import pdf_text
from tests.portfolio.report_support import CHINESE_NAME, make_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def book(tenant_a, media_root):
    with active(tenant_a):
        return make_book(tenant_a)


def generated(tenant, **request) -> tuple[Report, str]:
    """Request and generate a report of `tenant`; (the report, its PDF's text)."""
    with active(tenant):
        report = services.report_request(tenant=tenant, actor=None, **request)
    report = services.report_generate(tenant=tenant, report_id=report.pk)
    assert report.status == Report.Status.DONE, report.error
    with active(tenant):
        report.file.open("rb")
        pdf = report.file.read()
        report.file.close()
    assert pdf.startswith(b"%PDF") and report.size == len(pdf)
    return report, pdf_text(pdf)


def font_names(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(BytesIO(pdf)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object().get("/BaseFont")))
    return names


# --- First working day -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 12, date(2026, 12, 1)),  # a Tuesday
        (2026, 11, date(2026, 11, 2)),  # the 1st is a Sunday
        (2026, 8, date(2026, 8, 3)),  # the 1st is a Saturday
        (2027, 5, date(2027, 5, 3)),  # the 1st is a Saturday
    ],
)
def test_the_first_working_day_skips_the_weekend(year, month, expected):
    assert services.first_working_day(year, month) == expected


def test_the_first_working_day_skips_holidays_too():
    new_year = frozenset({date(2027, 1, 1)})  # a Friday
    assert services.first_working_day(2027, 1, new_year) == date(2027, 1, 4)
    assert services.is_first_working_day(date(2027, 1, 4), new_year)
    assert not services.is_first_working_day(date(2027, 1, 1), new_year)
    assert not services.is_first_working_day(date(2026, 12, 2))


def test_the_monthly_report_covers_the_month_before():
    assert services.previous_month(date(2026, 12, 1)) == "2026-11"
    assert services.previous_month(date(2027, 1, 4)) == "2026-12"


# --- The three reports -------------------------------------------------------------------------


def test_the_credit_report_reads_in_english(tenant_a, book):
    report, text = generated(tenant_a, kind="credit_report", language="en", buyer=book.german)

    assert "Credit report: Elbe Maschinenbau GmbH" in text
    assert "Prepared for Tenant A Ltd" in text
    assert "C-DE-1" in text and "Germany" in text
    # The NACE code with its official title (Eurostat), then the section.
    assert "46.69 · Wholesale of other machinery and equipment" in text
    assert "Financial statements" in text and "10,000,000" in text  # revenue
    assert "Score history" in text and "48.50" in text and "66.00" in text
    assert "+3" in text  # grade 4 → 7
    assert "60.0% of the exposure is overdue." in text  # the factor in words
    assert "Payment behaviour" in text and "Days beyond terms" in text
    assert "40,000.00 EUR" in text  # own limit
    assert "over the limit" in text
    assert "Allianz Trade TCI-REPORT-1" in text  # the covering policy
    assert "30,000.00 EUR" in text  # cover in force
    assert "Payment 40 days late" in text  # open alert
    assert report.file.name.startswith(f"tenants/{tenant_a.pk}/reports/credit-report-C-DE-1-en-")


def test_the_credit_report_in_chinese_has_chinese_glyphs(tenant_a, book):
    report, text = generated(tenant_a, kind="credit_report", language="zh-hans", buyer=book.chinese)

    assert CHINESE_NAME in text and "上海" in text
    assert "风险敞口" in text  # "Exposure", translated
    with active(tenant_a):
        pdf = report.file.open("rb").read()
        report.file.close()
    assert any("CJK" in name for name in font_names(pdf)), font_names(pdf)


def test_the_portfolio_risk_report(tenant_a, book):
    _report, text = generated(tenant_a, kind="portfolio_risk", language="en", period=book.period)

    assert f"Portfolio risk report {book.period}" in text
    assert "100,000" in text  # total exposure 50,000 + 20,000 + 30,000
    assert "Aging of open invoices" in text and "31-60 days" in text
    assert "Grades" in text
    assert "1 buyer was downgraded and 0 upgraded." in text
    assert "Elbe Maschinenbau GmbH" in text
    assert "Exposure by country" in text and "Germany" in text and "United States" in text
    assert "Exposure by sector" in text
    assert "Buyers over their limit" in text
    assert "Insurance and claims" in text


def test_the_portfolio_risk_report_in_chinese(tenant_a, book):
    _report, text = generated(
        tenant_a, kind="portfolio_risk", language="zh-hans", period=book.period
    )

    assert CHINESE_NAME in text and "风险敞口" in text


def test_the_health_check_finds_the_gaps_and_suggests_a_review(tenant_a, book):
    _report, text = generated(tenant_a, kind="health_check", language="en", period="2026")

    assert "Credit-protection health check 2026" in text
    assert "Coverage gaps" in text
    assert "Buyers above their cover" in text  # Elbe: 50,000 against 30,000
    assert "1 buyer owes 20,000.00 EUR more than its cover in force" in text
    assert "Buyers without cover" in text and "Great Lakes Tools Inc." in text
    assert "Countries outside the policy" in text and "United States (US)" in text
    assert "Weak spots by country" in text and "Weak spots by sector" in text
    assert "Allianz Trade" in text and "TCI-REPORT-1" in text


def test_the_health_check_figures_come_from_the_owning_selectors(tenant_a, book):
    with active(tenant_a):
        check = selectors.health_check(tenant=tenant_a, year="2026", as_of=today())
    rows = {row.name: row for row in check.rows}
    assert rows["Elbe Maschinenbau GmbH"].exposure == 50000
    assert rows["Elbe Maschinenbau GmbH"].limit == 40000
    assert rows["Elbe Maschinenbau GmbH"].cover == 30000
    assert rows["Elbe Maschinenbau GmbH"].grade == 7
    assert [row.name for row in check.uninsured_buyers] == ["Great Lakes Tools Inc."]
    assert [row.name for row in check.no_limit_buyers] == [CHINESE_NAME]
    assert [group.code for group in check.outside_cover] == ["US"]
    assert check.insurance.insured > 0  # from the coverage sweep


# --- Progress, archive, idempotence ------------------------------------------------------------


def test_generation_reports_its_progress_and_archives_the_file(tenant_a, book):
    with active(tenant_a):
        report = services.report_request(
            tenant=tenant_a, actor=None, kind="health_check", language="en", period="2026"
        )
        assert (report.status, report.progress) == ("queued", 0)
    seen = []

    def write_pdf(html: str) -> bytes:
        with active(tenant_a):
            seen.append(Report.objects.values_list("status", "progress").get(pk=report.pk))
        return b"%PDF-1.7 stub"

    done = services.report_generate(tenant=tenant_a, report_id=report.pk, write_pdf=write_pdf)

    assert seen == [("running", services.RENDERED)]
    assert (done.status, done.progress, done.size) == ("done", 100, len(b"%PDF-1.7 stub"))
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at
    assert done.file.name == f"tenants/{tenant_a.pk}/reports/health-check-2026-en-{done.pk}.pdf"


def test_a_done_report_is_not_generated_again(tenant_a, book):
    report, _text = generated(tenant_a, kind="credit_report", language="en", buyer=book.german)

    def must_not_run(html: str) -> bytes:
        raise AssertionError("generated twice")

    again = services.report_generate(tenant=tenant_a, report_id=report.pk, write_pdf=must_not_run)
    assert (again.status, again.file.name, again.finished_at) == (
        "done",
        report.file.name,
        report.finished_at,
    )


def test_a_failure_is_kept_on_the_report(tenant_a, book):
    with active(tenant_a):
        report = services.report_request(
            tenant=tenant_a, actor=None, kind="portfolio_risk", language="en", period="2026-11"
        )

    def broken(html: str) -> bytes:
        raise OSError("disk full")

    failed = services.report_generate(tenant=tenant_a, report_id=report.pk, write_pdf=broken)
    assert failed.status == "failed" and "disk full" in failed.error and not failed.file


def test_a_request_is_checked_field_by_field(tenant_a, book):
    from django.core.exceptions import ValidationError

    with active(tenant_a), pytest.raises(ValidationError) as error:
        services.report_request(tenant=tenant_a, actor=None, kind="credit_report", language="fr")
    assert set(error.value.message_dict) == {"buyer", "language"}
    with active(tenant_a), pytest.raises(ValidationError) as error:
        services.report_request(
            tenant=tenant_a, actor=None, kind="portfolio_risk", language="en", period="2026-13"
        )
    assert set(error.value.message_dict) == {"period"}


def test_a_request_is_queued_by_name_after_commit(
    tenant_a, book, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), active(tenant_a):
        report = services.report_request(
            tenant=tenant_a, actor=None, kind="health_check", language="zh-hans", period="2026"
        )
    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("portfolio.report_generate", (report.pk,), {"tenant_id": tenant_a.pk})
    ]


def test_the_monthly_report_is_made_once_per_tenant_and_month(
    tenant_a, book, sent_tasks, django_capture_on_commit_callbacks
):
    first_day = date(2026, 12, 1)
    with django_capture_on_commit_callbacks(execute=True), active(tenant_a):
        report = services.monthly_report_ensure(tenant=tenant_a, as_of=first_day)
        again = services.monthly_report_ensure(tenant=tenant_a, as_of=first_day)
        assert Report.objects.filter(kind="portfolio_risk", scheduled=True).count() == 1
    assert report is not None and again is None
    assert (report.period, report.scheduled, report.language) == ("2026-11", True, "en")
    assert [task.args for task in sent_tasks] == [(report.pk,)]

    # A failed one is queued again, once.
    with active(tenant_a):
        Report.objects.filter(pk=report.pk).update(status="failed", error="boom")
    with django_capture_on_commit_callbacks(execute=True), active(tenant_a):
        retried = services.monthly_report_ensure(tenant=tenant_a, as_of=first_day)
        services.monthly_report_ensure(tenant=tenant_a, as_of=first_day)
        assert Report.objects.get(pk=report.pk).status == "queued"
    assert retried is not None and retried.pk == report.pk
    assert [task.args for task in sent_tasks] == [(report.pk,), (report.pk,)]


@pytest.mark.parametrize(
    ("day", "fanned_out"), [(date(2026, 12, 1), True), (date(2026, 12, 2), False)]
)
def test_the_beat_job_fans_out_on_the_first_working_day_only(
    monkeypatch, tenant_a, tenant_b, sent_tasks, day, fanned_out
):
    monkeypatch.setattr("portfolio.tasks.today", lambda: day)

    monthly_reports()

    expected = [("portfolio.monthly_report_run", (day.isoformat(),)) for _ in (tenant_a, tenant_b)]
    assert [(task.name, task.args) for task in sent_tasks] == (expected if fanned_out else [])
    assert {task.kwargs["tenant_id"] for task in sent_tasks} == (
        {tenant_a.pk, tenant_b.pk} if fanned_out else set()
    )


def test_the_beat_schedule_runs_the_monthly_job_daily():
    from creditguard.settings import base

    assert base.CELERY_BEAT_SCHEDULE["portfolio-monthly-reports"]["task"] == (
        "portfolio.monthly_reports"
    )


# --- Tenant isolation --------------------------------------------------------------------------


def test_a_report_shows_only_its_own_tenants_buyers(tenant_a, tenant_b, book):
    with active(tenant_b):
        make_book(tenant_b, prefix="Tenant B ")

    _report, text = generated(tenant_a, kind="portfolio_risk", language="en", period=book.period)
    _check, check_text = generated(tenant_a, kind="health_check", language="en", period="2026")

    assert "Tenant B" not in text and "Tenant B" not in check_text
    with active(tenant_b):
        assert not Report.objects.exists()
