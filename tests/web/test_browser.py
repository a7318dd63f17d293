"""A real Chromium against the live server: sign in, switch tenant, switch language."""

import pytest
from playwright.sync_api import expect

from creditguard.accounts.models import Membership
from creditguard.tenancy.context import tenant_context
from tests.factories import DEFAULT_PASSWORD, TenantFactory, UserFactory


@pytest.fixture
def member_of_two_tenants(transactional_db):
    """Committed rows: the live server thread reads them through its own connection."""
    first, second = TenantFactory(name="Alpha Trading AG"), TenantFactory(name="Beta Supplies Ltd")
    user = UserFactory(email="both@group.example")
    for tenant, role in ((first, "admin"), (second, "viewer")):
        with tenant_context(tenant):
            Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_user_signs_in_switches_tenant_and_language(
    member_of_two_tenants, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("both@group.example")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("h1")).to_have_text("Alpha Trading AG")
    expect(page.get_by_role("link", name="Users and roles")).to_be_visible()

    with page.expect_navigation():
        page.locator("#tenant-select").select_option(label="Beta Supplies Ltd")

    expect(page.locator("h1")).to_have_text("Beta Supplies Ltd")
    expect(page.get_by_role("status").first).to_contain_text("Beta Supplies Ltd")
    expect(page.get_by_role("link", name="Users and roles")).to_have_count(0)

    with page.expect_navigation():
        page.get_by_role("button", name="简体中文").click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-current", "true")
    expect(page.locator("h1")).to_have_text("Beta Supplies Ltd")
