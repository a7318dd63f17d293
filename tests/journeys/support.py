"""Helpers for the browser journeys: sign in, take the final screenshot.

Screenshots go to `test-artifacts/journeys/` (git-ignored), one PNG per journey, so a reviewer
can look at the state each journey ends in.
"""

from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from tests.factories import DEFAULT_PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "journeys"
PHONE = {"width": 390, "height": 844}

# How long a page waits for the Celery worker (report, import); everything else keeps the
# browser_page default of 15 s.
WORKER_TIMEOUT_MS = 90_000


def sign_in(page: Page, base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.locator(".topbar").get_by_role("button", name="Sign out").click()


def screenshot(page: Page, name: str) -> Path:
    """Save the journey's final state as `test-artifacts/journeys/<name>.png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def expect_h1(page: Page, text: str) -> None:
    expect(page.locator("h1").first).to_contain_text(text)
