"""The alert feed narrowed to the dashboard's scope: the buyer's covering policy, country,
sector and current grade (the dashboard's open-alerts figure links here with its filters)."""

import pytest
from django.urls import reverse

from tests.buyers.test_buyer_list import risks  # noqa: F401  (four buyers, differing figures)
from tests.conftest import active
from tests.factories import AlertFactory, BuyerFactory, InsurancePolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(tenant_a, risks):  # noqa: F811
    """One alert per buyer, titled after it; Beta's in France and construction (F)."""
    with active(tenant_a):
        beta = risks["beta"]
        beta.country_id, beta.nace_code, beta.nace_section = "FR", "41.20", "F"
        beta.save()
        for name in ("alpha", "beta", "gamma", "delta"):
            AlertFactory(buyer=risks[name], title=f"{name} alert")
    return risks


def titles(response) -> list[str]:
    return sorted(alert.title for alert in response.context["page"].object_list)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, ["alpha", "beta", "delta", "gamma"], id="all"),
        pytest.param({"country": "FR"}, ["beta"], id="country"),
        pytest.param({"sector": "G"}, ["alpha", "delta", "gamma"], id="sector"),
        pytest.param({"grade_min": "5"}, ["beta", "gamma"], id="grade-from"),
        pytest.param({"grade_min": "5", "grade_max": "8"}, ["beta"], id="grade-band"),
        pytest.param({"grade_max": "5", "country": "DE"}, ["alpha"], id="grade-and-country"),
        pytest.param({"country": "DE", "status": "open"}, ["alpha", "delta", "gamma"], id="status"),
        # Values that are no choice (a country without buyers, a grade of 11) filter nothing.
        pytest.param(
            {"country": "JP", "grade_min": "11"}, ["alpha", "beta", "delta", "gamma"], id="bad"
        ),
    ],
)
def test_the_feed_narrows_to_the_buyers_in_scope(client, teammate, alerts, filters, expected):
    client.force_login(teammate)

    response = client.get(reverse("monitoring:alerts"), filters)

    assert response.status_code == 200
    assert titles(response) == [f"{name} alert" for name in expected]


def test_the_feed_narrows_to_the_covering_policy_and_offers_the_tenants_own(
    client, teammate, tenant_b, alerts
):
    with active(tenant_b):
        foreign = InsurancePolicyFactory(tenant=tenant_b)
    client.force_login(teammate)
    first, second = alerts["first_policy"], alerts["second_policy"]

    response = client.get(reverse("monitoring:alerts"), {"policy": first.pk})

    assert titles(response) == ["alpha alert"]
    choices = [value for value, _label in response.context["form"].fields["policy"].choices]
    assert choices == ["", first.pk, second.pk]
    assert titles(client.get(reverse("monitoring:alerts"), {"policy": second.pk})) == [
        "gamma alert"
    ]
    # Another tenant's policy is no choice: it filters nothing.
    assert len(titles(client.get(reverse("monitoring:alerts"), {"policy": foreign.pk}))) == 4


def test_the_country_and_sector_choices_are_the_tenants_own(client, teammate, tenant_b, alerts):
    with active(tenant_b):
        AlertFactory(buyer=BuyerFactory(tenant=tenant_b, country_id="JP"))
    client.force_login(teammate)

    form = client.get(reverse("monitoring:alerts")).context["form"]

    assert [value for value, _label in form.fields["country"].choices] == ["", "FR", "DE"]
    assert [label for _value, label in form.fields["sector"].choices][1:] == [
        "F · Construction",
        "G · Wholesale and retail trade; repair of motor vehicles",
    ]


# --- The same scope through the API -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"country": "FR"}, ["beta"], id="country"),
        pytest.param({"sector": "G", "grade_min": "5"}, ["gamma"], id="sector-and-grade"),
        pytest.param({"grade_max": "5"}, ["alpha"], id="grade-to"),
    ],
)
def test_the_api_narrows_alerts_to_the_buyers_in_scope(api, alerts, query, expected):
    response = api.get("/api/v1/alerts/", query)

    assert response.status_code == 200
    assert sorted(row["title"] for row in response.json()["results"]) == [
        f"{name} alert" for name in expected
    ]


def test_the_api_narrows_alerts_to_the_covering_policy(api, alerts):
    response = api.get("/api/v1/alerts/", {"policy": alerts["second_policy"].pk})

    assert [row["title"] for row in response.json()["results"]] == ["gamma alert"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"country": "XX"}, "country", id="unknown-country"),
        pytest.param({"sector": "Z"}, "sector", id="unknown-sector"),
        pytest.param({"grade_min": "11"}, "grade_min", id="grade-out-of-range"),
    ],
)
def test_an_unknown_scope_value_is_a_problem_naming_the_filter(api, alerts, query, field):
    response = api.get("/api/v1/alerts/", query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in str(response.json())
