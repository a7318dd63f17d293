"""A real Chromium against the live server: a credit manager approves a request from the queue."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from creditguard.accounts.models import Membership
from creditguard.tenancy.context import tenant_context
from tests.factories import (
    DEFAULT_PASSWORD,
    BuyerFactory,
    BuyerScoreFactory,
    FinancialStatementFactory,
    LimitRequestFactory,
    TenantFactory,
    UserFactory,
)
from tests.policies.conftest import policy_with_bands


@pytest.fixture
def pending_request(transactional_db):
    """Committed rows: the live server thread reads them through its own connection."""
    tenant = TenantFactory(name="Acme Browser GmbH")
    manager = UserFactory(email="carl@acme.example", first_name="Carl", last_name="Vogel")
    analyst = UserFactory(email="lina@acme.example")
    with tenant_context(tenant):
        Membership.objects.create(
            tenant=tenant, user=manager, role="credit_manager", approval_authority=Decimal("500000")
        )
        Membership.objects.create(tenant=tenant, user=analyst, role="analyst")
        policy_with_bands(tenant)
        buyer = BuyerFactory(tenant=tenant, legal_name="Hanse Stahlhandel AG")
        BuyerScoreFactory(buyer=buyer, grade=3, period=date(2026, 1, 1))
        # Accounts on file: 120,000 is within the credit policy (cap 1,000,000 for grade 3).
        FinancialStatementFactory(buyer=buyer, equity=Decimal("10000000"))
        return LimitRequestFactory(
            buyer=buyer,
            requested_by=analyst,
            amount=Decimal("120000"),
            justification="Framework agreement for 2027",
        )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_credit_manager_approves_a_pending_request_from_the_queue(
    pending_request, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username").fill("carl@acme.example")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("button.primary").click()
    expect(page.locator(".topbar .user")).to_contain_text("Carl Vogel")

    page.goto(f"{live_server.url}/limits/queue/")
    card = page.locator(f"#request-{pending_request.pk}")
    expect(card).to_contain_text("Hanse Stahlhandel AG")
    expect(card).to_contain_text("Framework agreement for 2027")
    expect(card.locator(".recommendation")).to_contain_text("Recommendation")
    card.get_by_label("Comment").fill("Long-standing customer, pays on time.")
    with page.expect_navigation():
        card.get_by_role("button", name="Approve 120,000").click()

    expect(page.locator(".message.success")).to_contain_text("Hanse Stahlhandel AG: Approved")
    expect(page.locator(f"#request-{pending_request.pk}")).to_have_count(0)

    page.goto(f"{live_server.url}/limits/requests/{pending_request.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Approved")
    expect(page.locator(".timeline")).to_contain_text("Long-standing customer, pays on time.")
    page.goto(f"{live_server.url}/limits/buyers/{pending_request.buyer_id}/")
    expect(page.locator(".side-by-side")).to_contain_text("120,000")
    expect(page.locator(".side-by-side")).to_contain_text("Active")
    # (No ORM here: Playwright's event loop runs in this thread; the pages are the proof.)
