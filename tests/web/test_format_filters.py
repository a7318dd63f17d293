"""The one set of display filters ({% load money %}): amounts with their currency, numbers,
dates and times, in English and in Simplified Chinese."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from creditguard.web.templatetags.money import amount, count, day, moment, month


def render(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load money %}" + source).render(Context(context))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_amounts_carry_two_decimals_comma_groups_and_the_currency(language):
    assert render("{{ x|amount:'EUR' }}", language, x=Decimal("225000")) == "225,000.00 EUR"
    assert render("{{ x|amount:c }}", language, x="179502.175", c="CNY") == "179,502.18 CNY"
    assert render("{{ x|amount:'EUR' }}", language, x=Decimal("-1234.5")) == "-1,234.50 EUR"


@pytest.mark.parametrize("value", [None, "", "n/a"])
def test_a_missing_amount_is_a_dash(value):
    assert amount(value, "EUR") == "—"
    assert count(value) == "—"


def test_counts_are_whole_numbers_grouped_in_both_languages():
    for language in ("en", "zh-hans"):
        assert render("{{ n|count }}", language, n=24898) == "24,898"
        assert render("{{ n|count }}", language, n=7) == "7"


@pytest.mark.parametrize(
    ("language", "expected_day", "expected_month"),
    [("en", "7 Dec 2026", "Dec 2026"), ("zh-hans", "2026年12月7日", "2026年12月")],
)
def test_dates_and_months_in_the_users_language(language, expected_day, expected_month):
    assert render("{{ d|day }}", language, d=date(2026, 12, 7)) == expected_day
    assert render("{{ d|day }}", language, d="2026-12-07") == expected_day
    assert render("{{ d|month }}", language, d=date(2026, 12, 1)) == expected_month


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "7 Dec 2026, 14:05"), ("zh-hans", "2026年12月7日 14:05")]
)
def test_moments_are_shown_in_the_site_time_zone(language, expected, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    moment_utc = datetime(2026, 12, 7, 6, 5, tzinfo=UTC)

    assert render("{{ t|moment }}", language, t=moment_utc) == expected


def test_a_datetime_given_to_day_is_the_day_it_falls_on_locally(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    late_evening_utc = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)

    with translation.override("en"):
        assert day(late_evening_utc) == "7 Dec 2026"
        assert moment(date(2026, 12, 7)) == "7 Dec 2026"


@pytest.mark.parametrize("value", [None, "", "not a date", "2026-13-45"])
def test_a_missing_or_unreadable_date_is_a_dash(value):
    assert day(value) == "—" and moment(value) == "—" and month(value) == "—"
