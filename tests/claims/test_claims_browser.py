"""A real Chromium against the live server: a credit manager files a claim from a sent overdue
notification and follows it through the insurer's review to payment."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from creditguard.accounts.models import Membership
from creditguard.dates import today
from creditguard.tenancy.context import tenant_context
from tests.claims.claim_pages_support import sent_notification
from tests.factories import DEFAULT_PASSWORD, TenantFactory, UserFactory


@pytest.fixture
def notified_overdue(transactional_db):
    """Committed rows: a Chinese buyer's overdue invoices under a policy, notified in time."""
    tenant = TenantFactory(name="Acme Browser GmbH", base_currency="EUR")
    manager = UserFactory(email="carl@acme.example", first_name="Carl", last_name="Vogel")
    with tenant_context(tenant):
        Membership.objects.create(
            tenant=tenant,
            user=manager,
            role="credit_manager",
            approval_authority=Decimal("1000000"),
        )
        return sent_notification(tenant, manager)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_claim_is_filed_from_a_notification_and_followed_to_paid(
    notified_overdue, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username").fill("carl@acme.example")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page.locator(".topbar .user")).to_contain_text("Carl Vogel")

    page.goto(f"{live_server.url}/policies/notifications/{notified_overdue.pk}/")
    page.get_by_role("link", name="File a claim").click()
    # The notified invoices are ticked; the buyer filed for insolvency yesterday.
    expect(page.locator("main")).to_contain_text("INV-2027-0042")
    page.locator("#id_cause").select_option("insolvency")
    page.locator("#id_loss_date").fill((today() - timedelta(days=1)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Draft the claim").click()
    expect(page.locator("h1")).to_contain_text("Draft")
    expect(page.locator("main")).to_contain_text("Cover in force at delivery")
    expect(page.locator("main")).to_contain_text("Indemnity percentage")

    for button, status in (
        ("Submit to the insurer", "Submitted"),
        ("Start the review", "Under review"),
    ):
        with page.expect_navigation():
            page.get_by_role("button", name=button).click()
        expect(page.locator("h1")).to_contain_text(status)

    page.locator("#id_decision").select_option("approved")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("h1")).to_contain_text("Approved")

    page.locator("#id_paid_amount").fill("100.00")
    page.locator("#id_paid_on").fill(today().isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Mark paid").click()
    expect(page.locator("h1")).to_contain_text("Paid")
    expect(page.locator("main")).to_contain_text("Submitted")  # the timeline keeps every step
    # (No ORM here: Playwright's event loop runs in this thread; the pages are the proof.)
