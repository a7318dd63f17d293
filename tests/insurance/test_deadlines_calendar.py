"""The deadline calendar: the selector's order and keyset pages, the pages (a policy's and the
portfolio's) and the API (deadlines and invoice coverage), with outsider and permission tests."""

from datetime import date
from decimal import Decimal

import pytest

from creditguard.dates import today
from policies.insurance.calendar import CalendarCursor, CalendarFilter, deadline_calendar
from policies.services.coverage import coverage_sweep
from tests.conftest import active, bearer
from tests.factories import BuyerFactory, MembershipFactory
from tests.insurance.test_coverage_sweep import _cover, _invoice, _policy

D = Decimal
AS_OF = date(2026, 6, 30)


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="viewer", user__email="viewer@a.example"
        ).user


@pytest.fixture
def book(tenant_a):
    """Two policies; notify_by = due + 90, claim_by = due + 270, extension_end = due + 60."""
    with active(tenant_a):
        first = _policy(tenant_a)
        second = _policy(tenant_a, covered_countries=["FR"])
        de = BuyerFactory(tenant=tenant_a, country_id="DE", legal_name="Deutsche Kunde GmbH")
        fr = BuyerFactory(tenant=tenant_a, country_id="FR", legal_name="Client Français SA")
        _cover(de, first, "100000")
        invoices = [
            _invoice(de, date(2026, 3, 1), "1000"),  # notify_by 2026-05-30: passed, cover lost
            _invoice(de, date(2026, 4, 10), "2000"),  # notify_by 2026-07-09
            _invoice(fr, date(2026, 4, 10), "3000"),  # same day, other policy
        ]
        coverage_sweep(tenant=tenant_a, as_of=AS_OF)
        yield {"first": first, "second": second, "de": de, "fr": fr, "invoices": invoices}


def _calendar(tenant, **filters):
    return deadline_calendar(tenant=tenant, as_of=AS_OF, filters=CalendarFilter(**filters))


def test_entries_are_ordered_by_date_kind_and_invoice(tenant_a, book):
    with active(tenant_a):
        page = _calendar(tenant_a)
    keys = [(e.deadline, e.kind, e.invoice_id) for e in page.entries]
    assert keys == sorted(
        keys, key=lambda k: (k[0], ["extension_end", "notify_by", "claim_by"].index(k[1]), k[2])
    )
    assert len(page.entries) == 9 and page.next_cursor is None
    lost = [e for e in page.entries if e.invoice_id == book["invoices"][0].pk]
    assert all(e.cover_lost for e in lost)
    notify = next(e for e in lost if e.kind == "notify_by")
    assert (notify.deadline, notify.days_left) == (date(2026, 5, 30), -31)


def test_filters_and_keyset_pages(tenant_a, book):
    with active(tenant_a):
        only_notify = _calendar(tenant_a, kinds=["notify_by"], date_from=AS_OF)
        assert [(e.deadline, e.buyer_id) for e in only_notify.entries] == [
            (date(2026, 7, 9), book["de"].pk),
            (date(2026, 7, 9), book["fr"].pk),
        ]
        assert [e.policy_id for e in _calendar(tenant_a, policy_id=book["second"].pk).entries] == [
            book["second"].pk
        ] * 3
        seen, after = [], None
        while True:
            page = deadline_calendar(
                tenant=tenant_a, as_of=AS_OF, filters=CalendarFilter(), after=after, page_size=2
            )
            seen += [(e.deadline, e.kind, e.invoice_id) for e in page.entries]
            if page.next_cursor is None:
                break
            after = CalendarCursor.decode(page.next_cursor.encode())
        everything = [(e.deadline, e.kind, e.invoice_id) for e in _calendar(tenant_a).entries]
    assert seen == everything


@pytest.mark.parametrize(
    "token", ["", "x", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMXw5fDE", "OTk5OS0wMS0wMXwxfDE"]
)
def test_a_cursor_not_made_here_is_refused(token):
    with pytest.raises(ValueError):
        CalendarCursor.decode(token)


# --- Pages ---------------------------------------------------------------------------------------


def test_the_policy_page_lists_its_deadlines_with_lost_cover(client, viewer, book):
    client.force_login(viewer)
    response = client.get(f"/policies/{book['first'].pk}/deadlines/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Deutsche Kunde GmbH" in html and "Client Français SA" not in html
    assert "Cover lost" in html and "30 Jun 2026" in html  # as of the sweep


def test_the_calendar_filters_by_kind_and_range(client, viewer, book):
    client.force_login(viewer)
    response = client.get(
        "/policies/deadlines/?kind=claim_by&date_from=2026-12-01&date_to=2027-01-31"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "5 Jan 2027" in html  # claim_by of the invoices due 2026-04-10
    assert "2026-07-09" not in html
    assert "Client Français SA" in html and "Deutsche Kunde GmbH" in html


def test_bad_filters_are_form_errors_not_failures(client, viewer, book):
    client.force_login(viewer)
    for query in (
        "kind=tomorrow",
        "date_from=2026-13-45",
        "date_from=0001-01-01",
        "date_from=2026-07-01&date_to=2026-06-01",
        "after=garbage",
    ):
        response = client.get(f"/policies/deadlines/?{query}")
        assert response.status_code == 200, query
        assert "errorlist" in response.content.decode(), query


def test_the_calendar_pages_forward(client, viewer, book, monkeypatch):
    monkeypatch.setattr("policies.insurance_web.deadlines.PAGE_SIZE", 2)
    client.force_login(viewer)
    first = client.get("/policies/deadlines/?date_from=2026-01-01")
    next_url = first.context["next_url"]
    assert next_url and "after=" in next_url
    second = client.get("/policies/deadlines/" + next_url)
    assert second.status_code == 200 and second.context["first_url"]
    assert second.context["entries"][0]["entry"] != first.context["entries"][0]["entry"]


def test_another_tenants_policy_is_not_found(client, outsider, book):
    client.force_login(outsider)
    assert client.get(f"/policies/{book['first'].pk}/deadlines/").status_code == 404
    response = client.get("/policies/deadlines/?date_from=2026-01-01")
    assert response.status_code == 200 and "Deutsche Kunde GmbH" not in response.content.decode()


def test_the_pages_need_a_signed_in_member(client, book):
    response = client.get("/policies/deadlines/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- API -----------------------------------------------------------------------------------------


def test_the_deadline_api_filters_and_pages(client, api_key_a, book):
    _key, raw = api_key_a
    response = client.get(
        f"/api/v1/insurance-deadlines/?kind=notify_by&kind=claim_by&buyer={book['de'].pk}"
        "&from=2026-07-01&page_size=1",
        headers=bearer(raw),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    [entry] = body["results"]
    assert (entry["kind"], entry["deadline"]) == ("notify_by", "2026-07-09")
    assert entry["days_left"] == (date(2026, 7, 9) - today()).days
    assert entry["invoice"]["id"] == book["invoices"][1].pk
    assert entry["buyer"]["legal_name"] == "Deutsche Kunde GmbH"
    assert (entry["outstanding"], entry["insured"], entry["cover_lost"]) == (
        "2000.00",
        "2000.00",
        False,
    )
    follow = client.get(body["next"], headers=bearer(raw)).json()
    assert [e["kind"] for e in follow["results"]] == ["claim_by"]
    assert follow["previous"] is not None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=tomorrow", "kind"),
        ("from=2026-02-30", "from"),
        ("to=9999-01-01", "to"),
        ("from=2026-07-01&to=2026-06-01", "to"),
        ("policy=abc", "policy"),
        ("buyer=-1", "buyer"),
        ("page_size=100000", "page_size"),
        ("cursor=garbage", "cursor"),
    ],
)
def test_the_deadline_api_refuses_bad_filters(client, api_key_a, book, query, field):
    _key, raw = api_key_a
    response = client.get(f"/api/v1/insurance-deadlines/?{query}", headers=bearer(raw))
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.content.decode()


def test_the_invoice_coverage_api(client, api_key_a, book):
    _key, raw = api_key_a
    response = client.get(
        f"/api/v1/invoice-coverage/?policy={book['first'].pk}&cover_lost=true", headers=bearer(raw)
    )
    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert row["invoice"]["id"] == book["invoices"][0].pk
    assert (row["insured"], row["uninsured"], row["notify_by"]) == ("0.00", "1000.00", "2026-05-30")
    everything = client.get("/api/v1/invoice-coverage/", headers=bearer(raw)).json()["results"]
    assert len(everything) == 3
    assert (
        client.get("/api/v1/invoice-coverage/?cover_lost=maybe", headers=bearer(raw)).status_code
        == 400
    )


def test_the_apis_show_nothing_of_another_tenant(client, api_key_b, book):
    _key, raw = api_key_b
    assert client.get("/api/v1/insurance-deadlines/", headers=bearer(raw)).json()["results"] == []
    assert client.get("/api/v1/invoice-coverage/", headers=bearer(raw)).json()["results"] == []
    assert (
        client.get(
            f"/api/v1/insurance-deadlines/?policy={book['first'].pk}", headers=bearer(raw)
        ).json()["results"]
        == []
    )


def test_a_viewer_reads_but_cannot_write(client, viewer, book):
    client.force_login(viewer)
    for url in (
        "/api/v1/insurance-deadlines/",
        "/api/v1/invoice-coverage/",
        "/api/v1/insurance-kpis/",
    ):
        assert client.get(url).status_code == 200, url
        assert client.post(url, {}, content_type="application/json").status_code == 403, url
    assert client.post("/policies/deadlines/").status_code == 405


def test_the_apis_need_authentication(client, book):
    for url in (
        "/api/v1/insurance-deadlines/",
        "/api/v1/invoice-coverage/",
        "/api/v1/insurance-kpis/",
    ):
        assert client.get(url).status_code in (401, 403), url
