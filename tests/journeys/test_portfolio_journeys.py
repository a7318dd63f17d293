"""Journeys 4, 5, 8 and 11: from the dashboard to a buyer, the grade filter and the export of
the filtered list, acknowledging an alert, filtering the audit trail."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from tests.factories import AuditEventFactory
from tests.journeys.conftest import ADMIN, MANAGER
from tests.journeys.support import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _names_in_list(page) -> list[str]:
    return [name.strip() for name in page.locator("table tbody td:first-child a").all_inner_texts()]


def test_04_dashboard_overdue_figure_drills_down_to_a_buyer(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, MANAGER)
    expect(page.locator("[data-kpi=overdue]")).to_have_text("90,000")
    top = page.locator("section", has_text="Top exposures").locator("table").first
    expect(top.locator("tbody tr").first).to_contain_text("Hanse Stahlhandel AG")

    with page.expect_navigation():
        page.locator("a.link-card", has=page.locator("[data-kpi=overdue]")).click()

    # The list behind the figure: the two buyers with overdue invoices, not the third.
    assert "overdue=1" in page.url, page.url
    expect(page.locator("h1")).to_contain_text("Buyers")
    names = _names_in_list(page)
    assert sorted(names) == ["Hanse Stahlhandel AG", "Risky Trading Ltd"], names

    with page.expect_navigation():
        page.get_by_role("link", name="Hanse Stahlhandel AG").click()

    expect(page.locator("h1")).to_contain_text("Hanse Stahlhandel AG")
    expect(page.locator("main")).to_contain_text("INV-100-1")
    screenshot(page, "04-dashboard-drill-down")


def test_05_grade_filter_and_export_of_the_filtered_list(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, MANAGER)
    page.goto(f"{live_server.url}/buyers/")
    assert len(_names_in_list(page)) == 3

    page.locator("#id_grade_min").fill("5")
    with page.expect_navigation():
        page.locator("form.buyer-filters").get_by_role("button", name="Filter").click()

    assert "grade_min=5" in page.url, page.url
    names = _names_in_list(page)
    assert sorted(names) == ["Lyon Métaux SA", "Risky Trading Ltd"], names
    expect(page.locator(".filter-chip")).to_have_count(1)
    screenshot(page, "05-grade-filter")

    # Cheap extra: the export holds the same filtered buyers.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export these buyers (CSV)").click()
    download = download_info.value
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    exported = "\n".join(",".join(row) for row in rows[1:])
    assert "Lyon Métaux SA" in exported and "Risky Trading Ltd" in exported, content
    assert "Hanse Stahlhandel AG" not in exported, content
    assert len(rows) == 3, content


def test_08_acknowledge_an_alert(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, MANAGER)
    page.goto(f"{live_server.url}/monitoring/")
    row = page.locator("tr", has_text="Hanse Stahlhandel AG: 80,000 EUR overdue")
    expect(row.locator(".badge", has_text="Open")).to_be_visible()

    with page.expect_navigation():
        row.get_by_role("button", name="Acknowledge").click()

    row = page.locator("tr", has_text="Hanse Stahlhandel AG: 80,000 EUR overdue")
    expect(row.locator(".badge", has_text="Acknowledged")).to_be_visible()
    expect(row).to_contain_text(MANAGER)
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    screenshot(page, "08-alert-acknowledged")


@pytest.fixture
def audit_entries(acme):
    """Two members' entries on two buyers (the actions are recorded by the application)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk([ADMIN, MANAGER], field_name="username")
    tenant = Tenant.objects.get(pk=acme.tenant_id)
    with tenant_context(tenant):
        for user, buyer_name, buyer_id in (
            (users[ADMIN], "Hanse Stahlhandel AG", acme.hanse),
            (users[MANAGER], "Lyon Métaux SA", acme.lyon),
            (users[MANAGER], "Risky Trading Ltd", acme.risky),
        ):
            AuditEventFactory(
                tenant=tenant,
                actor_user=user,
                actor_label=user.email,
                action="buyer.update",
                object_type="buyers.buyer",
                object_id=str(buyer_id),
                object_label=buyer_name,
                before={"payment_terms_days": 30},
                after={"payment_terms_days": 45},
            )
    return acme


def test_11_audit_trail_filtered_by_user_and_searched(audit_entries, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, ADMIN)
    page.goto(f"{live_server.url}/settings/audit/")
    table = page.locator("main section.card table")
    expect(table).to_contain_text("Hanse Stahlhandel AG")

    page.locator("#id_user").select_option(label="Carl Vogel")
    with page.expect_navigation():
        page.locator("form.audit-filters").get_by_role("button", name="Filter").click()

    expect(table).to_contain_text("Lyon Métaux SA")
    expect(table).to_contain_text("Risky Trading Ltd")
    expect(table).not_to_contain_text("Hanse Stahlhandel AG")

    page.locator("#id_q").fill("Risky")
    with page.expect_navigation():
        page.locator("form.audit-filters").get_by_role("button", name="Filter").click()

    expect(table).to_contain_text("Risky Trading Ltd")
    expect(table).not_to_contain_text("Lyon Métaux SA")
    expect(page.get_by_role("link", name="Export these entries (CSV)")).to_be_visible()
    screenshot(page, "11-audit-filter")
