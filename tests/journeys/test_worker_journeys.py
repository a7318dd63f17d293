"""Journeys 9 and 10, with a real Celery worker: importing a CSV (one with an error, then a
good one in a German Excel dialect) and downloading a buyer's credit report as a PDF."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.journeys.conftest import ADMIN
from tests.journeys.support import WORKER_TIMEOUT_MS, screenshot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

HEADER = "erp_reference,legal_name,country,nace_code,currency\n"
WITH_AN_ERROR = (
    HEADER + "C-900,Nordwind Logistik GmbH,DE,46.69,EUR\nC-901,Atlantis Trading,XX,46.69,EUR\n"
)
# A German Excel export: semicolons, Windows-1252.
GOOD = (
    "erp_reference;legal_name;country;nace_code;currency\n"
    "C-900;Nordwind Logistik GmbH;DE;46.69;EUR\n"
    "C-901;Müller Maschinenbau KG;AT;28.41;EUR\n"
).encode("cp1252")


def _upload(page, base_url: str, name: str, content: bytes) -> None:
    page.goto(f"{base_url}/imports/")
    page.locator("#id_kind").select_option("buyers")
    page.locator("#id_file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and map columns").click()
    expect(page.locator("h1")).to_contain_text("Map columns")


def _check_and_preview(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Check and preview").click()


def test_09_import_a_csv_with_an_error_then_a_good_one(
    acme, celery_worker, live_server, browser_page
):
    page = browser_page
    sign_in(page, live_server.url, ADMIN)

    _upload(page, live_server.url, "buyers.csv", WITH_AN_ERROR.encode())
    _check_and_preview(page)
    problem = page.locator("table tbody tr", has=page.locator("code.cell-value", has_text="XX"))
    expect(problem.locator("td").nth(0)).to_have_text("3")  # the spreadsheet's row
    expect(problem.locator("td").nth(1)).to_contain_text("country")  # the column
    expect(page.get_by_role("button", name="Import 2 rows")).to_be_disabled()
    screenshot(page, "09-import-error")

    _upload(page, live_server.url, "kunden.csv", GOOD)
    expect(page.locator("#id_delimiter option:checked")).to_contain_text("Semicolon (detected)")
    _check_and_preview(page)
    expect(page.locator("main")).to_contain_text("Müller Maschinenbau KG")  # read as cp1252
    with page.expect_navigation():
        page.get_by_role("button", name="Import 2 rows").click()

    expect(page.locator("main")).to_contain_text("Imported on", timeout=WORKER_TIMEOUT_MS)
    page.goto(f"{live_server.url}/buyers/?q=M%C3%BCller")
    expect(page.locator("main")).to_contain_text("Müller Maschinenbau KG")
    screenshot(page, "09-import-done")


def test_10_download_a_credit_report_pdf(acme, celery_worker, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, ADMIN)
    page.goto(f"{live_server.url}/buyers/{acme.hanse}/")

    with page.expect_navigation():
        page.get_by_role("button", name="Credit report (PDF)").click()

    expect(page.locator(".message.success")).to_contain_text("Hanse Stahlhandel AG")
    row = page.locator("table.reports tbody tr", has_text="Hanse Stahlhandel AG")
    # The page polls the progress and reloads once the worker has finished.
    download_link = row.get_by_role("link", name="Download PDF")
    expect(download_link).to_be_visible(timeout=WORKER_TIMEOUT_MS)
    expect(row.locator(".badge")).to_have_text("Done")

    with page.expect_download() as download_info:
        download_link.click()
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF"), pdf[:40]
    assert len(pdf) > 2000
    screenshot(page, "10-credit-report")
