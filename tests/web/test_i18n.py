"""English and Simplified Chinese."""

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_is_english_by_default(client):
    page = client.get(reverse("login")).content.decode()

    assert '<html lang="en">' in page and "Sign in" in page


def test_the_sign_in_page_follows_a_chinese_browser(client):
    response = client.get(reverse("login"), headers={"Accept-Language": "zh-CN,zh;q=0.9"})

    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page


def test_the_language_cookie_wins_over_the_browser(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = client.get(reverse("login"), headers={"Accept-Language": "en"}).content.decode()

    assert "登录" in page


def test_choosing_a_language_sets_the_cookie_and_returns_to_the_page(client):
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/login/"})

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "登录" in client.get("/login/").content.decode()
