"""A real Chromium against the live server, with a real Celery worker: an administrator records
a trade credit insurance policy and the insurer's cover on a buyer, and the dashboard's
protected share changes once the coverage sweep (run by the worker after the change) is done."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from creditguard.accounts.models import Membership
from creditguard.dates import today
from creditguard.tenancy.context import tenant_context
from tests.factories import (
    DEFAULT_PASSWORD,
    BuyerFactory,
    InvoiceFactory,
    TenantFactory,
    UserFactory,
)


@pytest.fixture
def uninsured_portfolio(transactional_db):
    """Committed rows: one German buyer owing 120,000 EUR, not yet due, and no policy."""
    tenant = TenantFactory(name="Acme Browser GmbH", base_currency="EUR")
    admin = UserFactory(email="anna@acme.example", first_name="Anna", last_name="Berger")
    with tenant_context(tenant):
        Membership.objects.create(tenant=tenant, user=admin, role="admin")
        buyer = BuyerFactory(tenant=tenant, legal_name="Hanse Stahlhandel AG", country_id="DE")
        for number, amount in (("INV-1", "80000.00"), ("INV-2", "40000.00")):
            InvoiceFactory(
                tenant=tenant,
                buyer=buyer,
                erp_reference=number,
                amount=Decimal(amount),
                currency="EUR",
                issue_date=today() - timedelta(days=10),
                due_date=today() + timedelta(days=50),
            )
    return buyer


def _protected_share_becomes(page, url: str, expected: str) -> None:
    """Reload the dashboard until the worker's sweep shows `expected` (at most ~30 s)."""
    for _attempt in range(30):
        page.goto(url)
        if page.locator("[data-kpi=protected-share]").inner_text().strip() == expected:
            return
        page.wait_for_timeout(1000)
    expect(page.locator("[data-kpi=protected-share]")).to_have_text(expected)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_recording_a_policy_and_cover_raises_the_protected_share(
    uninsured_portfolio, celery_worker, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username").fill("anna@acme.example")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page.locator(".topbar .user")).to_contain_text("Anna Berger")

    page.goto(f"{live_server.url}/")
    expect(page.locator(".insurance-summary")).to_contain_text("Credit insurance")
    assert page.locator("[data-kpi=protected-share]").inner_text().strip() in ("—", "0.0%", "0%")

    # The policy: typical terms are filled in; the policyholder adds what is its own.
    page.get_by_role("link", name="Policies", exact=True).first.click()
    page.get_by_role("link", name="New policy").click()
    page.locator("#id_insurer").fill("Allianz Trade")
    page.locator("#id_number").fill("AT-DE-2026-4711")
    page.locator("#id_max_liability").fill("2000000")
    page.locator("#id_covered_countries").fill("DE, AT")
    page.locator("#id_premium_rate_pct").fill("0.15")
    with page.expect_navigation():
        page.locator("form button[type=submit].primary").click()
    expect(page.locator(".message.success")).to_contain_text("AT-DE-2026-4711")
    expect(page.locator("main")).to_contain_text("Hanse Stahlhandel AG")

    # The insurer's decision on the buyer: 60,000 EUR of the 120,000 EUR owed.
    row = page.locator("tr", has_text="Hanse Stahlhandel AG")
    row.get_by_role("link", name="Record decision").click()
    page.locator("#id_kind").select_option("grant")
    page.locator("#id_amount").fill("60000")
    page.locator("#id_decision_date").fill(today().isoformat())
    with page.expect_navigation():
        page.locator("form button[type=submit].primary").click()
    expect(page.locator(".message.success")).to_be_visible()

    _protected_share_becomes(page, f"{live_server.url}/", "50.0%")
    expect(page.locator(".insurance-summary")).to_contain_text("60,000")
