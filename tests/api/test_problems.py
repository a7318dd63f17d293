"""RFC 9457 problem documents for every API error, and throttling per key."""

import pytest
from django.urls import reverse

from creditguard.api.problems import flatten_errors
from creditguard.api.throttling import ApiKeyRateThrottle
from tests.conftest import bearer

PROBLEM = "application/problem+json"


def problem_of(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://docs.creditguard.app/problems/")
    assert body["title"]
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("with_key", [True, False])
def test_an_unknown_api_url_is_a_404_problem(client, api_key_a, with_key):
    headers = bearer(api_key_a[1]) if with_key else {}

    response = client.get("/api/v1/no-such-resource/", headers=headers)

    body = problem_of(response, 404)
    assert body["type"].endswith("/not-found")


@pytest.mark.django_db
def test_an_unknown_page_outside_the_api_is_an_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_method_the_endpoint_lacks_is_a_405_problem(client, api_key_a):
    response = client.delete(reverse("api:audit-event-list"), headers=bearer(api_key_a[1]))

    body = problem_of(response, 405)
    assert body["type"].endswith("/method-not-allowed")
    assert "DELETE" in body["detail"]


@pytest.fixture
def three_calls_a_minute(monkeypatch):
    # Counters live in this test run's own Redis key space (settings.test CACHES KEY_PREFIX),
    # and key ids are never reused within a run, so every test starts from zero.
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "3/min", raising=False)


@pytest.mark.django_db
def test_a_key_over_its_rate_gets_a_429_problem_with_retry_after(
    client, api_key_a, three_calls_a_minute
):
    headers = bearer(api_key_a[1])
    statuses = [client.get(reverse("api:root"), headers=headers).status_code for _ in range(3)]

    response = client.get(reverse("api:root"), headers=headers)

    assert statuses == [200, 200, 200]
    body = problem_of(response, 429)
    assert body["type"].endswith("/throttled")
    assert 0 < body["retry_after"] <= 60
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.django_db
def test_the_rate_is_counted_per_key(client, api_key_a, api_key_b, three_calls_a_minute):
    for _ in range(4):
        client.get(reverse("api:root"), headers=bearer(api_key_a[1]))

    response = client.get(reverse("api:root"), headers=bearer(api_key_b[1]))

    assert response.status_code == 200


def test_nested_validation_errors_are_flattened_to_field_paths():
    detail = {
        "name": ["This field is required."],
        "invoices": [{}, {"amount": ["Must be positive.", "Too many digits."]}],
        "non_field_errors": ["Dates overlap."],
    }

    assert flatten_errors(detail) == [
        {"field": "name", "message": "This field is required."},
        {"field": "invoices[1].amount", "message": "Must be positive."},
        {"field": "invoices[1].amount", "message": "Too many digits."},
        {"field": "non_field_errors", "message": "Dates overlap."},
    ]


def test_errors_of_a_bulk_list_are_indexed_from_the_top():
    detail = [{"erp_reference": ["Duplicate."]}, {}, {"country": ["Unknown code."]}]

    assert flatten_errors(detail) == [
        {"field": "[0].erp_reference", "message": "Duplicate."},
        {"field": "[2].country", "message": "Unknown code."},
    ]
