"""Rule descriptions are sentences with the tenant's thresholds in words, never setting names;
alert titles take the plural their count needs and show dates in the user's format."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags

from monitoring.alerts.rules import title_text
from monitoring.alerts.selectors import alert_title
from monitoring.rules import RULES, rule_update
from tests.conftest import active
from tests.factories import AlertFactory

SETTING_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b|%\(")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("kind", sorted(RULES))
def test_every_rule_describes_itself_without_setting_names(kind, language):
    definition = RULES[kind]
    with translation.override(language):
        description, severity = definition.describe(definition.defaults())

    assert description and severity
    assert not SETTING_NAME.search(description), description
    assert not SETTING_NAME.search(severity), severity


def test_the_defaults_read_as_sentences():
    with translation.override("en"):
        assert RULES["grade_downgrade"].describe(RULES["grade_downgrade"].defaults()) == (
            "The grade worsened by at least 2 grades since the previous score, "
            "or reached grade 8 or worse.",
            "Medium; high when the new grade is 8 or worse.",
        )
        assert RULES["overdue"].describe(RULES["overdue"].defaults())[0] == (
            "At least 1,000 (base currency) is more than 31, 61 and 91 days past due; "
            "one alert for the highest of these buckets reached."
        )
        assert RULES["dispute_spike"].describe(RULES["dispute_spike"].defaults())[0] == (
            "At least 3 disputes opened in the last 30 days, or disputed amounts above 20% "
            "of the buyer's exposure."
        )


def test_one_is_singular():
    with translation.override("en"):
        description, _severity = RULES["country_downgrade"].describe(
            {"min_steps": 1, "lookback_days": 1, "high_risk_rating": 8}
        )
        disputes, _severity = RULES["dispute_spike"].describe(
            {"min_disputes": 1, "lookback_days": 30, "share_percent": Decimal("12.5")}
        )

    assert "by at least 1 step at" in description and "within the last 1 day." in description
    assert disputes.startswith("At least 1 dispute opened") and "above 12.5% of" in disputes


@pytest.mark.django_db
def test_the_rules_page_and_the_api_show_the_tenants_own_thresholds(
    client, owner, tenant_a, api_key_a
):
    with active(tenant_a):
        rule_update(
            tenant=tenant_a, actor=owner, kind="grade_downgrade", thresholds={"min_steps": 3}
        )
    client.force_login(owner)

    page = strip_tags(client.get(reverse("monitoring:rules")).content.decode())
    api_rules = client.get(
        "/api/v1/alert-rules/", HTTP_AUTHORIZATION=f"Bearer {api_key_a[1]}"
    ).json()

    assert "The grade worsened by at least 3 grades since the previous score" in page
    assert not SETTING_NAME.search(page.replace("csrfmiddlewaretoken", ""))
    [grade_rule] = [rule for rule in api_rules if rule["kind"] == "grade_downgrade"]
    assert grade_rule["description"].startswith("The grade worsened by at least 3 grades")


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 dispute for 9,000 EUR opened in the last 30 days"),
        (3, "3 disputes for 9,000 EUR opened in the last 30 days"),
    ],
)
def test_alert_titles_with_a_count_take_its_plural(count, expected):
    params = {"count": str(count), "amount": "9,000", "currency": "EUR", "days": "30"}
    with translation.override("en"):
        assert title_text("disputes", params) == expected


@pytest.mark.django_db
def test_a_stored_alert_title_shows_its_date_in_the_users_format(tenant_a):
    with active(tenant_a):
        alert = AlertFactory(
            buyer__tenant=tenant_a,
            title="Insolvency filing on 2026-12-07",
            evidence={
                "i18n_title": {
                    "key": "insolvency_filing",
                    "msgid": "Insolvency filing on %(date)s",
                    "params": {"date": "2026-12-07"},
                }
            },
        )
        old_style = AlertFactory(
            buyer__tenant=tenant_a,
            title="Tax lien on 2026-12-07",
            evidence={
                "i18n_title": {"msgid": "Tax lien on %(date)s", "params": {"date": "2026-12-07"}}
            },
        )

    with translation.override("en"):
        assert alert_title(alert) == "Insolvency filing on 7 Dec 2026"
        assert alert_title(old_style) == "Tax lien on 7 Dec 2026"
    with translation.override("zh-hans"):
        assert "2026年12月7日" in alert_title(alert)
