"""Hostile and malformed input: a clear 4xx problem document, never a 500 or an HTML page.

A seeded corpus of inputs that once produced 500s (or HTML errors) against the running app:
deeply nested JSON, NUL bytes and lone surrogates in bodies, query strings and paths, time-zone
offsets PostgreSQL cannot store, crafted cursors, non-numeric ids, oversized bodies. Each case
is run with DEBUG off and on, because `make run` serves with DEBUG on, where Django would answer
with its technical HTML pages.
"""

import json
import threading
import time

import pytest
import requests
from django.db import connection, connections
from django.test import override_settings

from buyers.models import Buyer
from creditguard.tenancy.context import tenant_context
from monitoring.models import WebhookEndpoint
from tests.conftest import bearer
from tests.factories import ApiKeyFactory, BuyerFactory, TenantFactory

PROBLEM = "application/problem+json"

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def api(request, client, api_key_a):
    with override_settings(DEBUG=request.param):
        client.defaults.update({f"HTTP_{k.upper()}": v for k, v in bearer(api_key_a[1]).items()})
        yield client


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def post_json(client, path: str, body: str):
    return client.generic("POST", path, body.encode("utf-8", "surrogatepass"), "application/json")


BUYER_BODY = {"legal_name": "Race GmbH", "country": "DE", "nace_code": "28.41", "currency": "EUR"}
BUYER = '{"erp_reference": "C-1", "legal_name": %s, "country": "DE", "nace_code": "28.41"}'


def test_deeply_nested_json_is_a_400_problem(api):
    nested = '{"legal_name": ' + "[" * 1000 + "]" * 1000 + "}"

    body = problem_of(post_json(api, "/api/v1/buyers/", nested), 400)

    assert "JSON nested deeper" in body["detail"]


@pytest.mark.parametrize("body", ["[]", "null", "7", '"text"', "true"])
def test_a_body_that_is_not_an_object_is_a_400_problem(api, body):
    problem = problem_of(post_json(api, "/api/v1/invoices/", body), 400)

    assert problem["errors"] == [{"field": "non_field_errors", "message": "Send a JSON object."}]


def test_a_lone_surrogate_in_a_body_is_a_400_problem(api):
    problem_of(post_json(api, "/api/v1/buyers/", BUYER % '"\\ud800x"'), 400)


def test_a_nul_byte_in_a_body_names_the_field(api):
    body = problem_of(post_json(api, "/api/v1/buyers/", BUYER % '"Nord\\u0000licht"'), 400)

    assert {"field": "legal_name", "message": "Null characters are not allowed."} in body["errors"]


def test_a_nul_byte_in_a_query_string_is_a_400_problem(api):
    body = problem_of(api.get("/api/v1/invoices/?buyer_erp_reference=%00"), 400)

    assert body["errors"][0]["field"] == "buyer_erp_reference"


def test_a_nul_byte_in_a_query_name_is_a_400_problem(api):
    problem_of(api.get("/api/v1/invoices/?a%00b=1"), 400)


def test_a_nul_byte_in_a_path_is_a_400_problem(api):
    problem_of(api.get("/api/v1/buyers/by-reference/C%001/"), 400)


def test_a_nul_byte_in_a_page_query_is_a_400_page_not_a_500(client, owner):
    client.force_login(owner)

    response = client.get("/buyers/?q=%00")

    assert response.status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00-23:00",  # Python accepts it; PostgreSQL's range ends at ±15:59
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00",
    ],
)
def test_an_unstorable_date_time_filter_is_a_400_problem(api, value):
    body = problem_of(api.get("/api/v1/invoices/", {"updated_since": value}), 400)

    assert body["errors"][0]["field"] == "updated_since"


@pytest.mark.parametrize(
    "cursor",
    [
        "cD14",  # p=x: not an id
        "cD0xZTU=",  # p=1e5
        "bz0tMSZwPTE=",  # o=-1&p=1
    ],
)
def test_a_crafted_cursor_is_a_404_problem(api, cursor):
    body = problem_of(api.get("/api/v1/invoices/", {"cursor": cursor}), 404)

    assert body["detail"] == "Invalid cursor"


def test_a_cursor_that_is_not_base64_starts_from_the_beginning(api):
    response = api.get("/api/v1/invoices/", {"cursor": "%%%"})

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "path", ["/api/v1/buyers/abc/", "/api/v1/invoices/1e3/", "/api/v1/alerts/-1/"]
)
def test_a_non_numeric_id_is_a_404_problem(api, path):
    problem_of(api.get(path), 404)


def test_an_oversized_body_is_a_413_problem(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({"erp_reference": "C-1", "legal_name": "x" * 5000})

    problem_of(api.generic("POST", "/api/v1/buyers/", payload, "application/json"), 413)


def test_a_body_that_is_not_utf8_is_a_400_problem(api):
    problem_of(
        api.generic("POST", "/api/v1/buyers/", b'{"legal_name": "\xff"}', "application/json"), 400
    )


@pytest.fixture
def committed_tenant_and_key(transactional_db):
    """Committed rows: the live server thread reads them on its own connection."""
    tenant = TenantFactory()
    with tenant_context(tenant):
        return tenant, ApiKeyFactory.create_with_raw_key(tenant=tenant, scope="write")[1]


@pytest.mark.django_db(transaction=True)
def test_a_create_that_loses_a_race_on_the_unique_key_is_a_409_problem(
    live_server, committed_tenant_and_key
):
    """Two creates of one erp_reference without an Idempotency-Key: the second passes
    validation (the first is not committed yet), waits on the unique index, and when the first
    commits it is answered 409 problem+json — not a 500 — and writes nothing."""
    tenant, raw_key = committed_tenant_and_key
    first_inserted, first_may_commit = threading.Event(), threading.Event()

    def first_writer() -> None:
        try:
            with tenant_context(tenant):
                BuyerFactory(tenant=tenant, erp_reference="C-RACE")
                first_inserted.set()
                first_may_commit.wait(30)
        finally:
            connections.close_all()

    answer: dict[str, requests.Response] = {}

    def second_writer() -> None:
        answer["response"] = requests.post(
            f"{live_server.url}/api/v1/buyers/",
            json={**BUYER_BODY, "erp_reference": "C-RACE"},
            headers=bearer(raw_key),
            timeout=60,
        )

    first = threading.Thread(target=first_writer)
    first.start()
    assert first_inserted.wait(30)
    second = threading.Thread(target=second_writer)
    second.start()
    with connection.cursor() as cursor:  # until the second insert waits on the first's lock
        for _ in range(300):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the second create never waited on the unique index")
    first_may_commit.set()
    first.join()
    second.join()

    response = answer["response"]
    assert response.status_code == 409, response.text
    assert response.headers["Content-Type"] == PROBLEM
    with tenant_context(tenant):
        assert Buyer.objects.filter(erp_reference="C-RACE").count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/buyers/?status=bogus",
        "/api/v1/invoices/?status=bogus",
        "/api/v1/invoices/?currency=ZZZ",
        "/api/v1/alerts/?status=bogus",
        "/api/v1/alerts/?severity=bogus",
        "/api/v1/alerts/?rule=bogus",
        "/api/v1/limits/?status=bogus",
        "/api/v1/limit-requests/?status=bogus",
        "/api/v1/insurer-covers/?status=bogus",
        "/api/v1/scores/?grade_min=11",
        "/api/v1/payments/?received_after=0001-01-01",
    ],
)
def test_an_unknown_filter_value_is_a_400_problem_naming_the_filter(api, path):
    body = problem_of(api.get(path), 400)

    assert body["errors"][0]["field"] == path.split("?")[1].split("=")[0]


@pytest.mark.parametrize("query", ["status=bogus", "event_type=bogus"])
def test_an_unknown_webhook_delivery_filter_value_is_a_400_problem(api, tenant_a, query):
    with tenant_context(tenant_a):
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant_a, url="https://erp.example/hooks", event_types=["alert.created"]
        )
    path = f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/?{query}"

    body = problem_of(api.get(path), 400)

    assert body["errors"][0]["field"] == path.split("?")[1].split("=")[0]
