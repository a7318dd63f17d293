"""Claims through the API: create, list with filters, detail, every step (409 when refused),
comments, recoveries, write-offs, KPIs, CSV export; outsiders get 404, viewers 403."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from claims import services
from tests.claims.test_workflow import book  # noqa: F401  (fixture)
from tests.conftest import active, bearer
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

TODAY = date.today()
PROBLEM = "application/problem+json"


def post(client, url, body=None, headers=None):
    return client.post(url, body or {}, content_type="application/json", headers=headers or {})


def fields_of(response):
    return sorted(error["field"] for error in response.json()["errors"])


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="viewer@a.ex").user


def _create(client, book):  # noqa: F811
    return post(
        client,
        "/api/v1/claims/",
        {
            "policy": book["policy"].pk,
            "buyer": book["buyer"].pk,
            "cause": "insolvency",
            "loss_date": (TODAY - timedelta(days=10)).isoformat(),
            "invoice_ids": [book["covered"].pk, book["disputed"].pk],
        },
    )


def test_create_and_read_a_claim_with_checks_breakdown_and_timeline(client, owner, book):  # noqa: F811
    client.force_login(owner)
    response = _create(client, book)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["indemnity_amount"] == "5400.00"
    assert {line["invoice"]: line["eligible"] for line in body["invoices"]} == {
        book["covered"].pk: True,
        book["disputed"].pk: False,
    }
    check = body["invoices"][0]["checks"][0]
    assert set(check) >= {"check", "passed", "reason", "params", "label"}
    assert body["breakdown"]["steps"][0]["label"]
    assert body["timeline"][0]["to_status"] == "draft"
    detail = client.get(f"/api/v1/claims/{body['id']}/")
    assert detail.status_code == 200
    listed = client.get("/api/v1/claims/", {"status": "draft", "cause": "insolvency"}).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert client.get("/api/v1/claims/", {"status": "paid"}).json()["results"] == []
    by_ref = client.get("/api/v1/claims/", {"buyer_erp_reference": book["buyer"].erp_reference})
    assert len(by_ref.json()["results"]) == 1
    bad = client.get("/api/v1/claims/", {"status": "nonsense"})
    assert bad.status_code == 400 and bad["Content-Type"].startswith(PROBLEM)


def test_bad_input_is_a_400_with_the_fields(client, owner, book):  # noqa: F811
    client.force_login(owner)
    response = post(client, "/api/v1/claims/", {"cause": "fire", "loss_date": "x"})
    assert response.status_code == 400 and response["Content-Type"].startswith(PROBLEM)
    assert fields_of(response) == ["cause", "loss_date"]
    response = post(
        client,
        "/api/v1/claims/",
        {"cause": "insolvency", "loss_date": TODAY.isoformat(), "policy": 999999, "buyer": 1,
         "invoice_ids": [1]},
    )  # fmt: skip
    assert response.status_code == 400
    response = post(
        client,
        "/api/v1/claims/",
        {"cause": "insolvency", "loss_date": TODAY.isoformat(), "notification": 999999},
    )
    assert response.status_code == 400 and fields_of(response) == ["notification"]


def test_the_workflow_through_the_api(client, owner, book):  # noqa: F811
    client.force_login(owner)
    pk = _create(client, book).json()["id"]
    base = f"/api/v1/claims/{pk}"
    refused = post(client, f"{base}/payment/", {"paid_amount": "1", "paid_on": TODAY.isoformat()})
    assert refused.status_code == 409 and refused["Content-Type"].startswith(PROBLEM)
    assert post(client, f"{base}/submit/").json()["status"] == "submitted"
    assert post(client, f"{base}/start-review/", {"comment": "ack"}).json()["status"] == (
        "under_review"
    )
    partial = post(
        client, f"{base}/decision/", {"decision": "partially_approved", "approved_amount": "9999"}
    )
    assert partial.status_code == 400 and fields_of(partial) == ["approved_amount"]
    decided = post(client, f"{base}/decision/", {"decision": "approved", "insurer_reference": "R"})
    assert decided.json()["approved_amount"] == "5400.00"
    paid = post(client, f"{base}/payment/", {"paid_amount": "5400", "paid_on": TODAY.isoformat()})
    assert paid.json()["status"] == "paid"
    assert post(client, f"{base}/withdraw/").status_code == 409
    comment = post(client, f"{base}/comments/", {"comment": "Estate contacted"})
    assert comment.status_code == 201
    recovery = post(
        client,
        f"{base}/recoveries/",
        {"received_on": TODAY.isoformat(), "amount": "800", "source": "estate"},
    )
    assert recovery.status_code == 201
    # Loss 8,000 claimed, 5,400 paid: the insurer takes 67.5 %.
    assert recovery.json()["insurer_share"] == "540.00"
    write_off = post(
        client, f"{base}/write-offs/", {"written_off_on": TODAY.isoformat(), "amount": "1800"}
    )
    assert write_off.status_code == 201, write_off.content
    too_much = post(
        client, f"{base}/write-offs/", {"written_off_on": TODAY.isoformat(), "amount": "0.01"}
    )
    assert too_much.status_code == 400 and fields_of(too_much) == ["amount"]
    timeline = client.get(f"{base}/").json()["timeline"]
    assert [event["kind"] for event in timeline].count("transition") == 5
    kpis = client.get("/api/v1/claims-kpis/").json()
    assert kpis["paid_indemnity"] == "5400.00" and kpis["open_count"] == 0


def test_csv_export_is_formula_safe(client, owner, tenant_a, book):  # noqa: F811
    with active(tenant_a):
        book["buyer"].legal_name = '=HYPERLINK("x")'
        book["buyer"].save()
    client.force_login(owner)
    _create(client, book)
    response = client.get("/api/v1/claims/export.csv", {"status": "draft"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("number,status")
    assert "'=HYPERLINK" in text
    assert client.get("/api/v1/claims/export.csv", {"cause": "x"}).status_code == 400


def test_api_key_reads_and_writes(client, api_key_a, book):  # noqa: F811
    _key, raw = api_key_a
    response = client.get("/api/v1/claims/", headers=bearer(raw))
    assert response.status_code == 200


def test_outsiders_get_404(client, owner, outsider, api_key_b, book):  # noqa: F811
    client.force_login(owner)
    pk = _create(client, book).json()["id"]
    client.logout()
    client.force_login(outsider)
    assert client.get(f"/api/v1/claims/{pk}/").status_code == 404
    assert post(client, f"/api/v1/claims/{pk}/submit/").status_code == 404
    assert post(client, f"/api/v1/claims/{pk}/comments/", {"comment": "x"}).status_code == 404
    assert client.get("/api/v1/claims/").json()["results"] == []
    _key, raw = api_key_b
    assert client.get(f"/api/v1/claims/{pk}/", headers=bearer(raw)).status_code == 404


def test_a_viewer_reads_but_cannot_write(client, owner, viewer, tenant_a, book):  # noqa: F811
    with active(tenant_a):
        claim = services.claim_create(
            tenant=tenant_a, actor=owner, policy=book["policy"], buyer=book["buyer"],
            cause="insolvency", loss_date=TODAY, invoice_ids=[book["covered"].pk],
        )  # fmt: skip
    client.force_login(viewer)
    assert client.get(f"/api/v1/claims/{claim.pk}/").status_code == 200
    assert client.get("/api/v1/claims-kpis/").status_code == 200
    writes = [
        _create(client, book),
        post(client, f"/api/v1/claims/{claim.pk}/submit/"),
        post(client, f"/api/v1/claims/{claim.pk}/decision/", {"decision": "approved"}),
        post(client, f"/api/v1/claims/{claim.pk}/comments/", {"comment": "x"}),
        post(client, f"/api/v1/claims/{claim.pk}/recoveries/", {}),
        post(client, f"/api/v1/claims/{claim.pk}/write-offs/", {}),
        post(client, f"/api/v1/claims/{claim.pk}/withdraw/"),
    ]
    assert [response.status_code for response in writes] == [403] * 7
    assert Decimal(client.get(f"/api/v1/claims/{claim.pk}/").json()["claimed_amount"]) > 0
