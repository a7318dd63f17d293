"""The audit trail can be filtered by user, API key, object, action and date, searched, paged and
exported as CSV of the filtered rows; only members with `view_audit` see it, and only their own
tenant's entries."""

import csv
import io
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from creditguard.audit.services import audit_record
from tests.conftest import active
from tests.factories import ApiKeyFactory, AuditEventFactory, BuyerFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def at(day: str):
    """Record the events inside the block as if made at noon on `day` (YYYY-MM-DD)."""
    moment = timezone.make_aware(datetime.fromisoformat(f"{day}T12:00"))
    return mock.patch("django.utils.timezone.now", return_value=moment)


@pytest.fixture
def trail(tenant_a, owner, teammate):
    """Events of two users, one API key and two buyers on three days."""
    with active(tenant_a):
        key = ApiKeyFactory(tenant=tenant_a, name="Nightly ERP")
        mueller = BuyerFactory(tenant=tenant_a, legal_name="Müller GmbH", erp_reference="C-1")
        dupont = BuyerFactory(tenant=tenant_a, legal_name="Dupont SA", erp_reference="C-2")
        with at("2026-11-02"):
            audit_record(tenant=tenant_a, actor=owner, action="buyer.create", obj=mueller)
        with at("2026-11-15"):
            audit_record(
                tenant=tenant_a,
                actor=teammate,
                action="buyer.note",
                obj=dupont,
                after={"note": "Promised to pay by Friday"},
            )
            audit_record(
                tenant=tenant_a, actor=key, action="invoices.bulk_upsert", after={"count": 7}
            )
        with at("2026-12-01"):
            audit_record(
                tenant=tenant_a,
                actor=owner,
                action="buyer.update",
                obj=mueller,
                before={"city": "Köln"},
                after={"city": '=HYPERLINK("http://evil")'},
            )
    return {"key": key, "mueller": mueller, "dupont": dupont}


def listed_actions(client, **params) -> list[str]:
    response = client.get(reverse("audit-log"), params)
    assert response.status_code == 200
    return [event.action for event, _item in response.context["rows"]]


def test_the_trail_lists_every_entry_newest_first(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client) == [
        "buyer.update",
        "invoices.bulk_upsert",
        "buyer.note",
        "buyer.create",
    ]


def test_it_filters_by_user(client, owner, teammate, trail):
    client.force_login(owner)

    assert listed_actions(client, user=teammate.pk) == ["buyer.note"]
    assert listed_actions(client, user=owner.pk) == ["buyer.update", "buyer.create"]


def test_it_filters_by_api_key(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, api_key=trail["key"].pk) == ["invoices.bulk_upsert"]


def test_it_filters_by_object_type_and_id(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, object_type="buyers.buyer", object=str(trail["mueller"].pk)) == [
        "buyer.update",
        "buyer.create",
    ]


def test_it_filters_by_part_of_the_objects_name(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, object="dupont") == ["buyer.note"]


def test_it_filters_by_action(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, action="buyer.create") == ["buyer.create"]


def test_it_filters_by_date_range_including_both_days(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, date_from="2026-11-15", date_to="2026-11-15") == [
        "invoices.bulk_upsert",
        "buyer.note",
    ]
    assert listed_actions(client, date_from="2026-11-16") == ["buyer.update"]
    assert listed_actions(client, date_to="2026-11-02") == ["buyer.create"]


def test_the_search_looks_at_action_object_and_recorded_values(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, q="by friday") == ["buyer.note"]  # the note's text
    assert listed_actions(client, q="Müller") == ["buyer.update", "buyer.create"]
    assert listed_actions(client, q="bulk_upsert") == ["invoices.bulk_upsert"]
    assert listed_actions(client, q="Köln") == ["buyer.update"]  # a value before the change


def test_filters_combine(client, owner, trail):
    client.force_login(owner)

    assert listed_actions(client, user=owner.pk, q="Müller", date_from="2026-11-20") == [
        "buyer.update"
    ]


def test_the_page_tells_each_entry_in_words(client, owner, teammate, trail):
    client.force_login(owner)

    page = client.get(reverse("audit-log"), {"user": teammate.pk}).content.decode()

    assert f"{teammate.get_full_name()} added a note to Dupont SA" in page
    assert reverse("buyers:detail", args=[trail["dupont"].pk]) in page


def test_a_wrong_date_range_is_an_error_naming_the_field(client, owner, trail):
    client.force_login(owner)

    response = client.get(
        reverse("audit-log"), {"date_from": "2026-12-01", "date_to": "2026-11-01"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"date_to": ["“To” must be on or after “From”."]}
    assert "To: “To” must be on or after “From”." in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"user": "not-a-number"},
        {"action": "no.such_action"},
        {"before": "abc"},
        {"q": "x" * 500},
    ],
)
def test_bad_input_is_never_a_server_error(client, owner, trail, params):
    client.force_login(owner)

    assert client.get(reverse("audit-log"), params).status_code == 200
    assert client.get(reverse("audit-export"), params).status_code in (200, 400)


def test_it_pages_backwards_by_id_without_counting(client, owner, tenant_a):
    with active(tenant_a):
        events = [AuditEventFactory(tenant=tenant_a, action="buyer.note") for _ in range(55)]
    client.force_login(owner)

    first = client.get(reverse("audit-log"), {"action": "buyer.note"})
    rows = first.context["rows"]
    second = client.get(
        reverse("audit-log"), {"action": "buyer.note", "before": first.context["next_before"]}
    )

    assert [event.pk for event, _item in rows] == [event.pk for event in events[::-1][:50]]
    assert [event.pk for event, _item in second.context["rows"]] == [
        event.pk for event in events[::-1][50:]
    ]
    assert second.context["next_before"] is None
    assert f"before={rows[-1][0].pk}" in first.content.decode()


def exported_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_holds_the_filtered_rows(client, owner, trail):
    client.force_login(owner)

    rows = exported_rows(client.get(reverse("audit-export"), {"object": str(trail["mueller"].pk)}))

    assert [row["action"] for row in rows] == ["buyer.update", "buyer.create"]
    assert rows[1]["object_type"] == "buyers.buyer"
    assert rows[1]["actor"] == "owner@a.example"
    assert rows[1]["object_id"] == str(trail["mueller"].pk)


def test_the_export_escapes_a_cell_that_starts_like_a_formula(client, owner, tenant_a):
    with active(tenant_a):
        AuditEventFactory(tenant=tenant_a, action="buyer.note", object_label="=cmd|' /C calc'!A0")
        AuditEventFactory(tenant=tenant_a, action="buyer.note", object_label="@SUM(1+1)")
    client.force_login(owner)

    rows = exported_rows(client.get(reverse("audit-export")))

    assert [row["object"] for row in rows] == ["'@SUM(1+1)", "'=cmd|' /C calc'!A0"]


def test_a_wrong_filter_on_the_export_is_a_400_naming_the_field(client, owner, trail):
    client.force_login(owner)

    response = client.get(reverse("audit-export"), {"date_from": "someday"})

    assert response.status_code == 400
    assert "From: Enter a valid date." in response.content.decode()


def test_the_page_links_the_export_with_the_same_filters(client, owner, teammate, trail):
    client.force_login(owner)

    page = client.get(reverse("audit-log"), {"user": teammate.pk, "q": "x"}).content.decode()

    assert f"{reverse('audit-export')}?user={teammate.pk}&amp;q=x" in page


@pytest.mark.parametrize("role", ["viewer", "analyst"])
@pytest.mark.parametrize("url_name", ["audit-log", "audit-export"])
def test_members_without_view_audit_are_refused(client, tenant_a, role, url_name):
    with active(tenant_a):
        user = MembershipFactory(tenant=tenant_a, role=role).user
    client.force_login(user)

    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize("url_name", ["audit-log", "audit-export"])
def test_a_credit_manager_may_read_and_export_the_trail(client, tenant_a, trail, url_name):
    with active(tenant_a):
        user = MembershipFactory(tenant=tenant_a, role="credit_manager").user
    client.force_login(user)

    assert client.get(reverse(url_name)).status_code == 200


# --- Outsiders -------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["audit-log", "audit-export"])
@pytest.mark.parametrize(
    "params",
    [
        lambda trail, owner: {},
        lambda trail, owner: {"user": owner.pk},
        lambda trail, owner: {"api_key": trail["key"].pk},
        lambda trail, owner: {"object_type": "buyers.buyer", "object": trail["mueller"].pk},
        lambda trail, owner: {"q": "GmbH"},
        lambda trail, owner: {"action": "buyer.create"},
    ],
    ids=["all", "user", "api-key", "object", "search", "action"],
)
def test_an_outsider_finds_none_of_another_tenants_entries(
    client, tenant_b, outsider, owner, trail, url_name, params
):
    with active(tenant_b):
        AuditEventFactory(tenant=tenant_b, action="buyer.note", object_label="tenant-b-entry")
    client.force_login(outsider)

    response = client.get(reverse(url_name), params(trail, owner))

    body = response.content.decode("utf-8-sig")
    assert response.status_code in (200, 400)  # an unknown user or key id is a field error
    for marker in ("Müller", "Dupont", "owner@a.example", "teammate@a.example", "Nightly ERP"):
        assert marker not in body
    if not params(trail, owner):
        assert "tenant-b-entry" in body


def test_an_outsider_cannot_pick_another_tenants_user_or_key(client, outsider, owner, trail):
    client.force_login(outsider)

    response = client.get(reverse("audit-log"), {"user": owner.pk, "api_key": trail["key"].pk})

    assert set(response.context["form"].errors) == {"user", "api_key"}
    assert response.context["rows"] == []


def test_the_indexes_serve_the_filters(tenant_a):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent'"
        )
        indexes = dict(cursor.fetchall())

    assert "(tenant_id, actor_user_id, id DESC)" in indexes["audit_user_idx"]
    assert "(tenant_id, actor_api_key_id, id DESC)" in indexes["audit_api_key_idx"]
    assert "(tenant_id, action, id DESC)" in indexes["audit_action_idx"]
    assert "(tenant_id, created_at)" in indexes["audit_time_idx"]
    assert "(tenant_id, object_type, object_id)" in indexes["audit_object_idx"]


def test_the_export_is_capped(client, owner, tenant_a, monkeypatch):
    from creditguard.web import views

    monkeypatch.setattr(views, "AUDIT_EXPORT_MAX_ROWS", 2)
    with active(tenant_a):
        for _ in range(3):
            AuditEventFactory(tenant=tenant_a, action="buyer.note")
    client.force_login(owner)

    response = client.get(reverse("audit-export"), {"action": "buyer.note"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('audit-log')}?action=buyer.note"


def test_an_old_entry_outside_the_range_is_left_out(client, owner, tenant_a):
    with active(tenant_a):
        with at("2025-01-01"):
            AuditEventFactory(tenant=tenant_a, action="buyer.note", object_label="old")
        AuditEventFactory(tenant=tenant_a, action="buyer.note", object_label="new")
    client.force_login(owner)
    today = timezone.localdate()

    response = client.get(
        reverse("audit-log"),
        {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()},
    )

    assert [event.object_label for event, _item in response.context["rows"]] == ["new"]
