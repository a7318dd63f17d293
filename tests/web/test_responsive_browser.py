"""A real Chromium at phone width (390 px): no page is wider than the screen, in English and
in Chinese; the navigation folds behind a keyboard-operable menu button; a skip link leads to
the content. At 1440 px the navigation is a sidebar again."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from creditguard.accounts.models import Membership
from creditguard.dates import today
from creditguard.tenancy.context import tenant_context
from tests.factories import (
    DEFAULT_PASSWORD,
    AlertFactory,
    BuyerFactory,
    BuyerScoreFactory,
    CreditLimitFactory,
    InsurancePolicyFactory,
    InvoiceFactory,
    LimitRequestFactory,
    TenantFactory,
    UserFactory,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def portfolio(transactional_db):
    """Committed rows with long names and large amounts, the things that widen pages."""
    tenant = TenantFactory(name="Acme Industrial Supplies GmbH & Co. KG", base_currency="EUR")
    other = TenantFactory(name="华东精密机械有限公司 Huadong Precision Machinery")
    admin = UserFactory(
        email="maximiliane.mustermann-schulze@acme.example",
        first_name="Maximiliane",
        last_name="Mustermann-Schulze",
    )
    with tenant_context(other):
        Membership.objects.create(tenant=other, user=admin, role="viewer")
    with tenant_context(tenant):
        Membership.objects.create(tenant=tenant, user=admin, role="admin")
        buyers = [
            BuyerFactory(
                tenant=tenant,
                legal_name=name,
                country_id=country,
                erp_reference=f"C-{10200 + number}",
            )
            for number, (name, country) in enumerate(
                [
                    ("Thames Electric Motors and Drives Holdings Ltd", "GB"),
                    ("上海东方化工股份有限公司", "CN"),
                    ("Hanse Stahlhandel Aktiengesellschaft", "DE"),
                ]
            )
        ]
        for number, buyer in enumerate(buyers):
            for invoice in range(3):
                InvoiceFactory(
                    tenant=tenant,
                    buyer=buyer,
                    erp_reference=f"INV-2026-{number}{invoice:04d}",
                    amount=Decimal("1234567.89"),
                    currency="EUR",
                    issue_date=today() - timedelta(days=120),
                    due_date=today() - timedelta(days=60 - 30 * invoice),
                )
            BuyerScoreFactory(buyer=buyer)
            CreditLimitFactory(buyer=buyer, amount=Decimal("2500000.00"))
            AlertFactory(
                buyer=buyer,
                severity="high",
                title="Exposure of 3,703,703.67 EUR is over the credit limit of 2,500,000 EUR",
            )
        request = LimitRequestFactory(buyer=buyers[0], amount=Decimal("12500000.00"))
        InsurancePolicyFactory(tenant=tenant, number="TCI-DE-2026-000471142")
    return {"admin": admin, "buyer": buyers[0], "request": request}


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill("maximiliane.mustermann-schulze@acme.example")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()


def _main_pages(portfolio) -> list[str]:
    return [
        "/",
        "/buyers/",
        f"/buyers/{portfolio['buyer'].pk}/",
        "/limits/",
        "/limits/queue/",
        f"/limits/requests/{portfolio['request'].pk}/",
        "/policies/",
        "/claims/",
        "/monitoring/",
        "/monitoring/rules/",
        "/imports/",
        "/settings/audit/",
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_main_page_is_wider_than_a_phone_in_either_language(
    portfolio, live_server, browser_page
):
    page = browser_page
    page.set_viewport_size(PHONE)
    _sign_in(page, live_server.url)

    too_wide = {}
    for language in ("en", "zh-hans"):
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for path in _main_pages(portfolio):
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (language, path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[(language, path)] = width

    assert too_wide == {}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_phone_menu_opens_with_the_keyboard_and_closes_with_escape(
    portfolio, live_server, browser_page
):
    page = browser_page
    page.set_viewport_size(PHONE)
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/buyers/")
    menu = page.get_by_role("button", name="Menu")
    navigation = page.get_by_role("navigation", name="Main navigation")

    expect(navigation).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")

    # The first Tab stop is the skip link; the next one is the menu button.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")

    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link", name="Limits")).to_be_visible()

    page.keyboard.press("Escape")

    expect(navigation).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()

    menu.click()
    with page.expect_navigation():
        navigation.get_by_role("link", name="Limits").click()
    assert page.url.endswith("/limits/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_skip_link_moves_the_focus_to_the_content(portfolio, live_server, browser_page):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/buyers/")
    skip = page.get_by_role("link", name="Skip to main content")

    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip).to_be_in_viewport()
    # Focused elements show an outline (visible focus).
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")

    expect(page.locator("main#main")).to_be_focused()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_at_desktop_width_the_navigation_is_a_sidebar_without_menu_button(
    portfolio, live_server, browser_page
):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/buyers/")

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= DESKTOP["width"]
