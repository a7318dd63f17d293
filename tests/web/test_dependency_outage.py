"""While PostgreSQL or Redis is down: 503 with Retry-After — a problem document for the API, a
friendly page for people, 503 from /healthz — and everything works again once it is back.

Real refusals: nothing listens on port 1, so connecting there fails like a stopped server.
"""

import threading
import time

import pytest
import requests
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings

from buyers.models import Buyer
from creditguard.tenancy.context import tenant_context
from tests.conftest import bearer
from tests.factories import ApiKeyFactory, BuyerFactory, TenantFactory

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


@pytest.fixture
def committed_buyer_and_key(transactional_db):
    tenant = TenantFactory()
    with tenant_context(tenant):
        buyer = BuyerFactory(tenant=tenant, legal_name="Before GmbH")
        key = ApiKeyFactory.create_with_raw_key(tenant=tenant, scope="write")[1]
    return tenant, buyer, key


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_request_is_a_503_and_writes_nothing_and_the_retry_works(
    live_server, committed_buyer_and_key
):
    """The request's database connection is terminated while it waits on a row lock: the
    client gets 503 problem+json with Retry-After, nothing of the request is written, and the
    same request sent again succeeds on a fresh connection."""
    tenant, buyer, key = committed_buyer_and_key
    url = f"{live_server.url}/api/v1/buyers/{buyer.pk}/"
    holding, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with tenant_context(tenant):
                Buyer.objects.select_for_update().get(pk=buyer.pk)
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    answer: dict[str, requests.Response] = {}

    def patch() -> None:
        answer["response"] = requests.patch(
            url, json={"legal_name": "After GmbH"}, headers=bearer(key), timeout=60
        )

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert holding.wait(30)
    client = threading.Thread(target=patch)
    client.start()
    with connection.cursor() as cursor:  # the request's backend, waiting on the lock
        for _ in range(300):
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()
            if waiting:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the request never waited on the row lock")
        cursor.execute("SELECT pg_terminate_backend(%s)", [waiting[0]])
    client.join(60)
    release.set()
    holder.join()

    dropped = answer["response"]
    assert dropped.status_code == 503, dropped.text
    assert dropped.headers["Content-Type"] == PROBLEM
    assert dropped.headers["Retry-After"] == "30"
    with tenant_context(tenant):
        assert Buyer.objects.get(pk=buyer.pk).legal_name == "Before GmbH"

    retried = requests.patch(
        url, json={"legal_name": "After GmbH"}, headers=bearer(key), timeout=60
    )

    assert retried.status_code == 200, retried.text
    with tenant_context(tenant):
        assert Buyer.objects.get(pk=buyer.pk).legal_name == "After GmbH"
