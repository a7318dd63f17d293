"""Journeys 6 and 7: a limit requested and approved within the credit policy, and an approval
outside it, refused without a reason and accepted as an override with one."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from buyers.models import Buyer
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant
from policies import services
from tests.journeys.conftest import ADMIN, ANALYST, MANAGER
from tests.journeys.support import screenshot, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_06_request_a_limit_and_approve_it_within_the_policy(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, ANALYST)
    page.goto(f"{live_server.url}/limits/requests/new/?buyer={acme.hanse}")
    expect(page.locator("aside")).to_contain_text("Hanse Stahlhandel AG")
    page.locator("#id_amount").fill("150000")
    page.locator("#id_payment_terms_days").fill("60")
    page.locator("#id_justification").fill("Framework agreement for 2027")
    with page.expect_navigation():
        page.get_by_role("button", name="Send for approval").click()

    expect(page.locator(".message.success")).to_contain_text("sent for approval")
    request_id = re.search(r"/limits/requests/(\d+)/", page.url).group(1)
    sign_out(page)

    sign_in(page, live_server.url, MANAGER)
    page.goto(f"{live_server.url}/limits/queue/")
    card = page.locator(f"#request-{request_id}")
    expect(card).to_contain_text("Framework agreement for 2027")
    expect(card.locator(".policy-limits")).to_contain_text("Recommended")
    expect(card.locator(".policy-breaches")).to_have_count(0)
    card.get_by_label("Comment").fill("Pays on time; within the policy.")
    with page.expect_navigation():
        card.get_by_role("button", name=re.compile(r"^Approve 150,000")).click()

    expect(page.locator(".message.success")).to_contain_text("Hanse Stahlhandel AG: Approved")
    page.goto(f"{live_server.url}/limits/buyers/{acme.hanse}/")
    expect(page.locator(".side-by-side")).to_contain_text("150,000")
    expect(page.locator(".side-by-side")).to_contain_text("Active")
    expect(page.locator("main")).not_to_contain_text("Policy override")
    screenshot(page, "06-limit-approved")


@pytest.fixture
def request_outside_policy(acme):
    """200,000 EUR for the grade-5 buyer: above the band's uninsured threshold (100,000), so
    above the recommendation."""
    tenant = Tenant.objects.get(pk=acme.tenant_id)
    analyst = get_user_model().objects.get(username=ANALYST)
    with tenant_context(tenant):
        return services.limit_request_create(
            tenant=tenant,
            actor=analyst,
            buyer=Buyer.objects.get(pk=acme.lyon),
            amount=Decimal("200000"),
            payment_terms_days=60,
            justification="Seasonal peak",
        )


def test_07_approve_outside_the_policy_only_as_an_override_with_a_reason(
    request_outside_policy, live_server, browser_page
):
    page = browser_page
    request_id = request_outside_policy.pk
    sign_in(page, live_server.url, ADMIN)
    page.goto(f"{live_server.url}/limits/queue/")
    card = page.locator(f"#request-{request_id}")
    expect(card.locator(".policy-breaches")).to_contain_text("outside the credit policy")
    override = card.get_by_role("button", name=re.compile("Override the policy: approve"))

    with page.expect_navigation():
        override.click()  # no reason given

    expect(page.locator("main")).to_contain_text("Reason for overriding the policy")
    expect(page.locator("main")).to_contain_text("give a reason")
    page.goto(f"{live_server.url}/limits/requests/{request_id}/")
    expect(page.locator("h1 .badge")).to_have_text("Pending")

    page.goto(f"{live_server.url}/limits/queue/")
    card = page.locator(f"#request-{request_id}")
    card.get_by_label("Reason for overriding the policy").fill("Parent company guarantee")
    with page.expect_navigation():
        card.get_by_role("button", name=re.compile("Override the policy: approve")).click()

    expect(page.locator("main")).to_contain_text("Recorded as an override of the credit policy")
    page.goto(f"{live_server.url}/limits/requests/{request_id}/")
    expect(page.locator("h1 .badge")).to_have_text("Approved")
    expect(page.locator("main")).to_contain_text("Policy override")
    expect(page.locator("main")).to_contain_text("Parent company guarantee")
    screenshot(page, "07-override-approved")
