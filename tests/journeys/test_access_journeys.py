"""Journeys 1–3 and 12: signing in, the language, the tenant and the phone navigation."""

import re

import pytest
from playwright.sync_api import expect

from tests.journeys.conftest import ADMIN
from tests.journeys.support import PHONE, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_01_sign_in_after_a_wrong_password(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, ADMIN, password="not-the-password")

    # (Django's wording says "username" although the field is the email.)
    expect(page.locator(".form-errors")).to_contain_text(re.compile(r"correct \w+ and password"))
    expect(page.locator("#id_username")).to_have_value(ADMIN)
    expect(page.locator(".topbar")).to_have_count(0)

    sign_in(page, live_server.url, ADMIN)

    expect(page.locator(".topbar .user")).to_contain_text("Anna Berger")
    expect(page.locator("#tenant-select option:checked")).to_have_text("Acme Journeys GmbH")
    screenshot(page, "01-sign-in")


def test_02_switch_language_to_chinese_and_back(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, ADMIN)
    page.goto(f"{live_server.url}/buyers/")
    nav = page.locator("#sidenav")
    expect(nav.get_by_role("link", name="Buyers", exact=True)).to_be_visible()

    with page.expect_navigation():
        page.locator(".topbar").get_by_role("button", name="简体中文").click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(nav.get_by_role("link", name="买方", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="仪表板", exact=True)).to_be_visible()
    expect(page.locator(".topbar").get_by_role("button", name="退出登录")).to_be_visible()
    assert page.url.endswith("/buyers/")  # the same page, now in Chinese
    screenshot(page, "02-language-chinese")

    with page.expect_navigation():
        page.locator(".topbar").get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(nav.get_by_role("link", name="Buyers", exact=True)).to_be_visible()
    expect(page.locator(".topbar").get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "02-language-english")


def test_03_switch_tenant_on_a_buyer_lands_on_the_buyer_list(acme, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server.url, ADMIN)
    page.goto(f"{live_server.url}/buyers/{acme.hanse}/")
    expect(page.locator("h1")).to_contain_text("Hanse Stahlhandel AG")

    with page.expect_navigation():
        page.locator("#tenant-select").select_option(label=acme.other_tenant_name)

    # The buyer belongs to the tenant just left: the section's landing page, not a 404.
    assert page.url == f"{live_server.url}/buyers/", page.url
    expect(page.locator("#tenant-select option:checked")).to_have_text(acme.other_tenant_name)
    expect(page.locator("h1")).to_contain_text("Buyers")
    expect(page.locator("main")).not_to_contain_text("Hanse Stahlhandel AG")
    screenshot(page, "03-tenant-switch")


def test_12_mobile_navigation_opens_behind_the_menu_button(acme, live_server, browser_page):
    page = browser_page
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, ADMIN)
    menu = page.locator("[data-menu-toggle]")
    nav = page.locator("#sidenav")

    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Buyers", exact=True)).to_be_hidden()

    menu.click()

    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Buyers", exact=True)).to_be_visible()
    screenshot(page, "12-mobile-menu-open")
    with page.expect_navigation():
        nav.get_by_role("link", name="Buyers", exact=True).click()

    expect(page.locator("h1")).to_contain_text("Buyers")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Buyers", exact=True)).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the buyer list is {width} px wide at 390 px"
    screenshot(page, "12-mobile-buyers")
