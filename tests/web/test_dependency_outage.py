"""While PostgreSQL or Redis is down: 503 with Retry-After — a problem document for the API, a
friendly page for people, 503 from /healthz — and everything works again once it is back.

Real refusals: nothing listens on port 1, so connecting there fails like a stopped server.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from creditguard.tenancy.context import tenant_context
from tests.conftest import bearer
from tests.factories import ApiKeyFactory, TenantFactory

PROBLEM = "application/problem+json"
UNREACHABLE_PORT = "1"


@pytest.fixture
def database_down(transactional_db):
    """The app's connection points at a port nobody listens on until the test ends."""
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = UNREACHABLE_PORT
    yield
    connection.close()
    connection.settings_dict["PORT"] = port


@pytest.fixture
def committed_key(transactional_db):
    """A committed tenant and key (the connection is closed and reopened in these tests)."""
    tenant = TenantFactory()
    with tenant_context(tenant):
        return ApiKeyFactory.create_with_raw_key(tenant=tenant, scope="read")[1]


@pytest.fixture
def redis_down():
    location = settings.CACHES["default"]["LOCATION"].rsplit(":", 1)[0] + f":{UNREACHABLE_PORT}/0"
    caches = {"default": {**settings.CACHES["default"], "LOCATION": location}}
    with override_settings(CACHES=caches):
        yield


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_503_problem_with_retry_after_while_the_database_is_down(
    client, committed_key, database_down
):
    client.raise_request_exception = False

    response = client.get("/api/v1/buyers/", headers=bearer(committed_key))

    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == "30"
    assert response.json()["type"].endswith("/service-unavailable")


@pytest.mark.django_db(transaction=True)
def test_a_page_is_a_friendly_503_while_the_database_is_down(client, database_down):
    client.raise_request_exception = False

    response = client.get("/login/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "briefly unavailable" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_while_the_database_is_down(client, database_down):
    client.raise_request_exception = False

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False


@pytest.mark.django_db(transaction=True)
def test_requests_succeed_again_once_the_database_is_back(client, committed_key):
    client.raise_request_exception = False
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = UNREACHABLE_PORT
    assert client.get("/api/v1/buyers/", headers=bearer(committed_key)).status_code == 503

    connection.close()
    connection.settings_dict["PORT"] = port

    assert client.get("/api/v1/buyers/", headers=bearer(committed_key)).status_code == 200


@pytest.mark.django_db
def test_the_api_answers_503_problem_while_redis_is_down(client, api_key_a, redis_down):
    client.raise_request_exception = False

    response = client.get("/api/v1/buyers/", headers=bearer(api_key_a[1]))

    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == "30"
