"""Insurance policies, named buyers and cover decisions through the API."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from creditguard.accounts.models import Membership
from policies.models import CoverDecision, InsurancePolicy, PolicyBuyer, PolicyVersion
from tests.conftest import active, bearer
from tests.factories import BuyerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TODAY = date.today()
YEAR = TODAY.year
POLICY = {
    "insurer": "Allianz Trade",
    "number": "TCI-518233",
    "name": "Domestic and EU",
    "currency": "eur",
    "period_start": f"{YEAR}-01-01",
    "period_end": f"{YEAR}-12-31",
    "indemnity_commercial_pct": "90",
    "indemnity_political_pct": "95",
    "max_liability": "5000000",
    "covered_risks": ["insolvency", "protracted_default"],
    "covered_countries": ["de", "FR"],
    "waiting_period_days": 180,
    "max_extension_days": 60,
    "notification_days": 30,
    "claim_filing_days": 90,
    "cover_notice_days": 30,
    "dcl_max_amount": "25000",
    "dcl_report_max_age_days": 365,
    "premium_basis": "turnover",
    "premium_rate_pct": "0.18",
    "premium_tiers": [{"up_to": "5000000", "rate_pct": "0.25"}, {"up_to": None, "rate_pct": "0.15"}],
}  # fmt: skip
PROBLEM = "application/problem+json"


def post(client, url, body, headers=None):
    return client.post(url, body, content_type="application/json", headers=headers or {})


def fields_of(response):
    return sorted(error["field"] for error in response.json()["errors"])


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(
            tenant=tenant_a, country_id="DE", erp_reference="C-1", legal_name="Nordlicht GmbH"
        )


@pytest.fixture
def policy_id(client, owner, buyer):
    client.force_login(owner)
    response = post(client, "/api/v1/insurance-policies/", POLICY)
    assert response.status_code == 201, response.content
    client.logout()
    return response.json()["id"]


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="viewer@a.ex").user


def test_a_policy_is_created_with_its_terms_as_version_one(client, owner, tenant_a, policy_id):
    client.force_login(owner)

    body = client.get(f"/api/v1/insurance-policies/{policy_id}/").json()

    assert body["currency"] == "EUR"
    assert body["terms"]["version"] == 1
    assert body["terms"]["covered_countries"] == ["DE", "FR"]
    assert body["terms"]["premium_tiers"] == [
        {"up_to": "5000000.00", "rate_pct": "0.25000"},
        {"up_to": None, "rate_pct": "0.15000"},
    ]
    assert [version["version"] for version in body["versions"]] == [1]
    listed = client.get("/api/v1/insurance-policies/").json()["results"]
    assert [item["number"] for item in listed] == ["TCI-518233"]


def test_bad_terms_are_a_problem_with_the_field_of_each_error(client, owner, tenant_a):
    client.force_login(owner)
    body = {
        **POLICY,
        "indemnity_commercial_pct": "120",
        "covered_countries": ["DE", "XX"],
        "premium_tiers": [{"up_to": None, "rate_pct": "0.2"}, {"up_to": "100", "rate_pct": "0.1"}],
        "period_end": "1850-01-01",
    }

    shape = post(client, "/api/v1/insurance-policies/", body)
    rules = post(
        client,
        "/api/v1/insurance-policies/",
        {**POLICY, "covered_countries": ["DE", "XX"], "premium_tiers": body["premium_tiers"]},
    )

    assert shape.status_code == 400
    assert shape["Content-Type"] == PROBLEM
    assert fields_of(shape) == ["indemnity_commercial_pct", "period_end"]
    assert rules.status_code == 400
    assert rules["Content-Type"] == PROBLEM
    assert fields_of(rules) == [
        "covered_countries[1]",
        "premium_tiers[0].up_to",
        "premium_tiers[1].up_to",
    ]
    with active(tenant_a):
        assert InsurancePolicy.objects.count() == 0


def test_an_endorsement_adds_a_version_and_keeps_the_first(client, owner, tenant_a, policy_id):
    client.force_login(owner)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()

    response = post(
        client,
        f"/api/v1/insurance-policies/{policy_id}/versions/",
        {
            "effective_from": tomorrow,
            "endorsement_reference": "END-1",
            "change_note": "Austria added.",
            "covered_countries": ["DE", "FR", "AT"],
        },
    )
    unchanged = post(
        client,
        f"/api/v1/insurance-policies/{policy_id}/versions/",
        {"effective_from": tomorrow, "cover_notice_days": 30},
    )
    missing_date = post(
        client, f"/api/v1/insurance-policies/{policy_id}/versions/", {"cover_notice_days": 5}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["terms"]["version"] == 1  # in force today; version 2 from tomorrow
    assert [(v["version"], v["endorsement_reference"]) for v in body["versions"]] == [
        (2, "END-1"),
        (1, ""),
    ]
    assert body["versions"][0]["covered_countries"] == ["DE", "FR", "AT"]
    assert unchanged.status_code == 400 and fields_of(unchanged) == ["non_field_errors"]
    assert missing_date.status_code == 400 and fields_of(missing_date) == ["effective_from"]
    with active(tenant_a):
        assert PolicyVersion.objects.count() == 2


def test_named_buyers_are_added_listed_and_removed(client, owner, tenant_a, buyer, policy_id):
    client.force_login(owner)
    url = f"/api/v1/insurance-policies/{policy_id}/buyers/"

    added = post(client, url, {"buyer_erp_reference": "C-1", "kind": "excluded"})
    listed = client.get(url).json()["results"]
    unknown = post(client, url, {"buyer_id": 2_000_000_000, "kind": "included"})
    neither = post(client, url, {"kind": "included"})
    removed = client.delete(f"{url}?buyer_id={buyer.pk}")
    again = client.delete(f"{url}?buyer_id={buyer.pk}")

    assert added.status_code == 201
    assert [(item["buyer"]["erp_reference"], item["kind"]) for item in listed] == [
        ("C-1", "excluded")
    ]
    assert unknown.status_code == 400 and fields_of(unknown) == ["buyer_id"]
    assert neither.status_code == 400 and fields_of(neither) == ["buyer_id"]
    assert removed.status_code == 204
    assert again.status_code == 404 and again["Content-Type"] == PROBLEM
    with active(tenant_a):
        assert not PolicyBuyer.objects.exists()


def test_a_reduction_is_recorded_and_counts_only_after_the_notice(
    client, owner, tenant_a, buyer, policy_id
):
    client.force_login(owner)
    url = f"/api/v1/insurance-policies/{policy_id}/covers/"
    decided = (TODAY - timedelta(days=5)).isoformat()

    granted = post(
        client,
        url,
        {"buyer_id": buyer.pk, "kind": "grant", "amount": "100000", "decision_date": decided},
    )
    reduced = post(
        client,
        url,
        {"buyer_erp_reference": "C-1", "kind": "reduction", "amount": "40000",
         "decision_date": TODAY.isoformat(), "reference": "CL-2"},
    )  # fmt: skip
    listed = client.get(url).json()["results"]

    assert granted.status_code == 201, granted.content
    assert reduced.status_code == 201, reduced.content
    body = reduced.json()
    assert body["decision"]["effective_date"] == (TODAY + timedelta(days=30)).isoformat()
    assert body["cover"]["amount_in_force"] == "100000.00"
    assert body["cover"]["pending"] == {
        "kind": "reduction",
        "amount": "40000.00",
        "effective_date": (TODAY + timedelta(days=30)).isoformat(),
    }
    assert [(c["buyer"]["id"], c["amount_in_force"], c["amount"]) for c in listed] == [
        (buyer.pk, "100000.00", "40000.00")
    ]
    history = client.get(f"/api/v1/covers/{listed[0]['id']}/decisions/").json()
    assert [(d["kind"], d["amount"]) for d in history] == [
        ("reduction", "40000.00"),
        ("grant", "100000.00"),
    ]


def test_bad_cover_decisions_are_problems_with_fields(client, owner, tenant_a, buyer, policy_id):
    client.force_login(owner)
    url = f"/api/v1/insurance-policies/{policy_id}/covers/"

    no_cover = post(
        client,
        url,
        {"buyer_id": buyer.pk, "kind": "reduction", "amount": "1", "decision_date": "2026-01-01"},
    )
    bad_date = post(
        client,
        url,
        {"buyer_id": buyer.pk, "kind": "grant", "amount": "1", "decision_date": "9999-12-31"},
    )
    bad_kind = post(
        client, url, {"buyer_id": buyer.pk, "kind": "maybe", "decision_date": "2026-01-01"}
    )

    assert no_cover.status_code == 400 and fields_of(no_cover) == ["kind"]
    assert bad_date.status_code == 400 and fields_of(bad_date) == ["decision_date"]
    assert bad_kind.status_code == 400 and fields_of(bad_kind) == ["kind"]
    with active(tenant_a):
        assert not CoverDecision.objects.exists()


def test_an_erp_with_a_write_key_records_a_decision(client, api_key_a, buyer, policy_id):
    response = post(
        client,
        f"/api/v1/insurance-policies/{policy_id}/covers/",
        {"buyer_erp_reference": "C-1", "kind": "grant", "amount": "5000",
         "decision_date": TODAY.isoformat()},
        bearer(api_key_a[1]),
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert response.json()["decision"]["recorded_by_label"].startswith("api-key:")


def routes(policy_id, cover_id=2_000_000_000):
    return [
        ("get", f"/api/v1/insurance-policies/{policy_id}/", None),
        ("post", f"/api/v1/insurance-policies/{policy_id}/versions/",
         {"effective_from": TODAY.isoformat(), "cover_notice_days": 10}),
        ("get", f"/api/v1/insurance-policies/{policy_id}/buyers/", None),
        ("post", f"/api/v1/insurance-policies/{policy_id}/buyers/",
         {"buyer_erp_reference": "C-1", "kind": "included"}),
        ("delete", f"/api/v1/insurance-policies/{policy_id}/buyers/?buyer_erp_reference=C-1", None),
        ("get", f"/api/v1/insurance-policies/{policy_id}/covers/", None),
        ("post", f"/api/v1/insurance-policies/{policy_id}/covers/",
         {"buyer_erp_reference": "C-1", "kind": "grant", "amount": "1",
          "decision_date": TODAY.isoformat()}),
        ("get", f"/api/v1/covers/{cover_id}/decisions/", None),
    ]  # fmt: skip


def send(client, method, url, body, headers=None):
    if method == "get":
        return client.get(url, headers=headers or {})
    if method == "delete":
        return client.delete(url, headers=headers or {})
    return post(client, url, body, headers)


def test_another_tenant_gets_not_found_for_every_route_and_nothing_changes(
    client, tenant_a, owner, outsider, api_key_b, policy_id
):
    client.force_login(owner)
    decision = post(
        client,
        f"/api/v1/insurance-policies/{policy_id}/covers/",
        {"buyer_erp_reference": "C-1", "kind": "grant", "amount": "7",
         "decision_date": TODAY.isoformat()},
    )  # fmt: skip
    cover_id = decision.json()["cover"]["id"]
    client.logout()

    client.force_login(outsider)
    for method, url, body in routes(policy_id, cover_id):
        response = send(client, method, url, body)
        assert response.status_code == 404, (method, url, response.content)
        assert response["Content-Type"] == PROBLEM
    client.logout()
    for method, url, body in routes(policy_id, cover_id):
        response = send(client, method, url, body, bearer(api_key_b[1]))
        assert response.status_code == 404, (method, url, response.content)
    listed = client.get("/api/v1/insurance-policies/", headers=bearer(api_key_b[1])).json()
    assert listed["results"] == []
    with active(tenant_a):
        assert PolicyVersion.objects.count() == 1
        assert CoverDecision.objects.count() == 1
        assert not PolicyBuyer.objects.exists()


def test_a_viewer_reads_but_cannot_write(client, tenant_a, viewer, policy_id):
    client.force_login(viewer)

    reads = [send(client, m, u, b) for m, u, b in routes(policy_id) if m == "get"][:3]
    writes = [send(client, m, u, b) for m, u, b in routes(policy_id) if m != "get"]
    create = post(client, "/api/v1/insurance-policies/", {**POLICY, "number": "X-2"})

    assert [response.status_code for response in reads] == [200, 200, 200]
    assert [response.status_code for response in writes] == [403, 403, 403, 403]
    assert create.status_code == 403
    with active(tenant_a):
        assert Membership.objects.get(user=viewer).role == "viewer"
        assert InsurancePolicy.objects.count() == 1


def test_a_read_only_key_cannot_write(client, tenant_a, policy_id):
    from tests.factories import ApiKeyFactory

    with active(tenant_a):
        _key, raw = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")

    read = client.get(f"/api/v1/insurance-policies/{policy_id}/", headers=bearer(raw))
    write = post(
        client,
        f"/api/v1/insurance-policies/{policy_id}/buyers/",
        {"buyer_erp_reference": "C-1", "kind": "included"},
        bearer(raw),
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert Decimal(read.json()["terms"]["max_liability"]) == Decimal("5000000")


def test_the_cover_list_takes_the_same_queries_for_more_covers(client, owner, tenant_a, policy_id):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(owner)
    url = f"/api/v1/insurance-policies/{policy_id}/covers/"

    def add_covers(count):
        for _ in range(count):
            with active(tenant_a):
                reference = BuyerFactory(tenant=tenant_a, country_id="FR").erp_reference
            response = post(
                client,
                url,
                {"buyer_erp_reference": reference, "kind": "grant", "amount": "10",
                 "decision_date": TODAY.isoformat()},
            )  # fmt: skip
            assert response.status_code == 201

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    add_covers(2)
    few = queries()
    add_covers(4)

    assert queries() == few
