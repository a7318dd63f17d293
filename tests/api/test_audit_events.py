"""GET /api/v1/audit-events/: cursor pagination, filters, output, query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from creditguard.audit.services import audit_record
from tests.conftest import active, bearer
from tests.factories import AuditEventFactory

pytestmark = pytest.mark.django_db

URL = reverse("api:audit-event-list")


@pytest.fixture
def five_events(tenant_a, tenant_b):
    with active(tenant_b):
        AuditEventFactory.create_batch(2, tenant=tenant_b)
    with active(tenant_a):
        return [event.pk for event in AuditEventFactory.create_batch(5, tenant=tenant_a)]


def test_it_pages_newest_first_with_a_cursor(client, api_key_a, five_events):
    headers = bearer(api_key_a[1])
    pages = [client.get(URL, {"page_size": 2}, headers=headers).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"], headers=headers).json())

    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert pages[0]["previous"] is None and pages[1]["previous"]
    assert "cursor=" in pages[0]["next"] and "page_size=2" in pages[0]["next"]
    ids = [event["id"] for page in pages for event in page["results"]]
    assert ids == sorted(five_events, reverse=True)


def test_the_default_page_holds_fifty_events(client, tenant_a, api_key_a):
    with active(tenant_a):
        AuditEventFactory.create_batch(51, tenant=tenant_a)

    body = client.get(URL, headers=bearer(api_key_a[1])).json()

    assert len(body["results"]) == 50
    assert body["next"]


def test_it_filters_by_object(client, tenant_a, owner, api_key_a):
    with active(tenant_a):
        audit_record(tenant=tenant_a, actor=owner, action="test.about_key", obj=api_key_a[0])
        audit_record(tenant=tenant_a, actor=owner, action="test.about_nothing")

    response = client.get(
        URL,
        {"object_type": "api.apikey", "object_id": api_key_a[0].pk},
        headers=bearer(api_key_a[1]),
    )

    assert [event["action"] for event in response.json()["results"]] == ["test.about_key"]


def test_an_event_shows_actor_action_object_and_the_change(client, tenant_a, owner, api_key_a):
    with active(tenant_a):
        audit_record(
            tenant=tenant_a,
            actor=owner,
            action="test.change",
            obj=api_key_a[0],
            before={"scope": "read"},
            after={"scope": "write"},
        )

    event = client.get(URL, headers=bearer(api_key_a[1])).json()["results"][0]

    assert event["actor"] == "owner@a.example"
    assert event["action"] == "test.change"
    assert (event["object_type"], event["object_id"]) == ("api.apikey", str(api_key_a[0].pk))
    assert event["object_label"] == str(api_key_a[0])
    assert (event["before"], event["after"]) == ({"scope": "read"}, {"scope": "write"})
    assert set(event) == {
        "id",
        "created_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "before",
        "after",
    }


def test_listing_takes_the_same_number_of_queries_for_more_events(client, tenant_a, api_key_a):
    def queries_for_listing() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, headers=bearer(api_key_a[1])).status_code == 200
        return len(queries)

    with active(tenant_a):
        AuditEventFactory.create_batch(2, tenant=tenant_a, actor_api_key=api_key_a[0])
    queries_for_listing()  # the first call also records the key's last use
    few = queries_for_listing()
    with active(tenant_a):
        AuditEventFactory.create_batch(20, tenant=tenant_a, actor_api_key=api_key_a[0])

    assert queries_for_listing() == few
