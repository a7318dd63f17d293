"""The limit request API: ERPs request, only members with authority decide."""

from decimal import Decimal

import pytest

from creditguard.audit.models import AuditEvent
from policies.models import CreditLimit, LimitRequest
from tests.conftest import active, bearer
from tests.factories import ApiKeyFactory, FinancialStatementFactory, LimitRequestFactory

pytestmark = pytest.mark.django_db

REQUEST = {
    "buyer_erp_reference": "C-1",
    "amount": "120000.00",
    "payment_terms_days": 60,
    "justification": "Framework agreement 2027",
}


@pytest.fixture
def erp(api_key_a):
    return bearer(api_key_a[1])


def post(client, url, body, headers=None):
    return client.post(url, body, content_type="application/json", headers=headers or {})


def test_an_erp_requests_a_limit_with_a_write_key(client, erp, tenant_a, policy, buyer, senior):
    response = post(client, "/api/v1/limit-requests/", REQUEST, erp)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["source"], body["amount"]) == ("pending", "api", "120000.00")
    assert body["requested_by"].startswith("api-key:")
    assert body["buyer"]["erp_reference"] == "C-1"
    with active(tenant_a):
        assert LimitRequest.objects.get().requested_by_api_key is not None
        assert AuditEvent.objects.filter(action="limit_request.create").exists()


def test_a_read_only_key_cannot_request_a_limit(client, tenant_a, policy, buyer):
    with active(tenant_a):
        _key, raw = ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="read")

    response = post(client, "/api/v1/limit-requests/", REQUEST, bearer(raw))

    assert response.status_code == 403


def test_a_retried_request_with_the_same_idempotency_key_is_answered_not_redone(
    client, erp, tenant_a, policy, buyer, django_capture_on_commit_callbacks
):
    headers = {**erp, "Idempotency-Key": "erp-7781"}

    # Run the on-commit callbacks (the key's lock release) as a committed request would.
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, "/api/v1/limit-requests/", REQUEST, headers)
    again = post(client, "/api/v1/limit-requests/", REQUEST, headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    with active(tenant_a):
        assert LimitRequest.objects.count() == 1


def test_invalid_input_is_a_problem_listing_every_field(client, erp, policy, buyer):
    response = post(
        client,
        "/api/v1/limit-requests/",
        {"buyer_erp_reference": "C-1", "amount": "-5", "payment_terms_days": 900},
        erp,
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"amount", "payment_terms_days", "justification"} <= fields


def test_an_unknown_buyer_and_a_second_open_request_are_refused(client, erp, policy, buyer):
    unknown = post(client, "/api/v1/limit-requests/", {**REQUEST, "buyer_erp_reference": "X"}, erp)
    post(client, "/api/v1/limit-requests/", REQUEST, erp)
    second = post(client, "/api/v1/limit-requests/", REQUEST, erp)

    assert unknown.status_code == second.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "buyer_erp_reference"
    assert second.json()["errors"][0]["field"] == "buyer"


def test_the_detail_shows_the_current_recommendation_with_its_reasoning(
    client, erp, tenant_a, policy, buyer
):
    created = post(client, "/api/v1/limit-requests/", REQUEST, erp).json()

    body = client.get(f"/api/v1/limit-requests/{created['id']}/", headers=erp).json()

    # Grade 3, no statement: the policy's limit without financials.
    assert body["recommendation"]["amount"] == "50000.00"
    assert body["recommendation"]["binding"] == "no_financials_cap"
    assert [step["code"] for step in body["recommendation"]["steps"]] == [
        "band_maximum",
        "no_financials_cap",
    ]
    assert "50,000 EUR" in body["recommendation"]["steps"][1]["message"]
    assert body["approvals_needed"] == 1


def test_a_member_with_authority_approves_through_the_api(
    client, erp, tenant_a, policy, buyer, manager
):
    with active(tenant_a):  # accounts on file: 120,000 is within the policy's cap
        FinancialStatementFactory(buyer=buyer, equity=Decimal("10000000"))
    created = post(client, "/api/v1/limit-requests/", REQUEST, erp).json()
    client.force_login(manager)

    response = post(
        client,
        f"/api/v1/limit-requests/{created['id']}/decisions/",
        {"decision": "approve", "comment": "ok"},
    )

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["granted_amount"]) == (
        "approved",
        "120000.00",
    )
    with active(tenant_a):
        assert CreditLimit.objects.get(buyer=buyer).amount == Decimal("120000.00")


def test_an_api_key_cannot_decide(client, erp, tenant_a, policy, buyer):
    created = post(client, "/api/v1/limit-requests/", REQUEST, erp).json()

    response = post(
        client, f"/api/v1/limit-requests/{created['id']}/decisions/", {"decision": "approve"}, erp
    )

    assert response.status_code == 403
    with active(tenant_a):
        assert LimitRequest.objects.get().status == "pending"


def test_the_api_refuses_an_approval_of_ones_own_request(client, tenant_a, policy, buyer, manager):
    with active(tenant_a):
        own = LimitRequestFactory(buyer=buyer, requested_by=manager)
    client.force_login(manager)

    response = post(client, f"/api/v1/limit-requests/{own.pk}/decisions/", {"decision": "approve"})

    assert response.status_code == 403
    assert response.json()["objections"] == ["own_request"]


def test_the_api_refuses_an_approval_above_authority(
    client, tenant_a, policy, buyer, requester, manager
):
    with active(tenant_a):
        big = LimitRequestFactory(buyer=buyer, requested_by=requester, amount=Decimal("750000"))
    client.force_login(manager)

    response = post(client, f"/api/v1/limit-requests/{big.pk}/decisions/", {"decision": "approve"})

    assert response.status_code == 403
    assert response.json()["objections"] == ["above_authority"]


def test_deciding_a_closed_request_is_a_conflict(client, tenant_a, policy, buyer, manager):
    with active(tenant_a):
        done = LimitRequestFactory(buyer=buyer, status="refused")
    client.force_login(manager)

    response = post(
        client,
        f"/api/v1/limit-requests/{done.pk}/decisions/",
        {"decision": "refuse", "comment": "x"},
    )

    assert response.status_code == 409


def test_another_tenants_request_is_not_found_through_the_api(
    client, tenant_a, tenant_b, policy, buyer, outsider, api_key_b
):
    with active(tenant_a):
        theirs = LimitRequestFactory(buyer=buyer)
    client.force_login(outsider)

    detail = client.get(f"/api/v1/limit-requests/{theirs.pk}/", headers=bearer(api_key_b[1]))
    decision = post(
        client, f"/api/v1/limit-requests/{theirs.pk}/decisions/", {"decision": "approve"}
    )
    information = post(
        client,
        f"/api/v1/limit-requests/{theirs.pk}/information/",
        {"justification": "x"},
        bearer(api_key_b[1]),
    )
    listing = client.get("/api/v1/limit-requests/", headers=bearer(api_key_b[1]))

    assert detail.status_code == decision.status_code == information.status_code == 404
    assert listing.json()["results"] == []
    with active(tenant_a):
        assert LimitRequest.objects.get().status == "pending"


def test_an_erp_answers_a_request_for_information(client, erp, tenant_a, policy, buyer, manager):
    created = post(client, "/api/v1/limit-requests/", REQUEST, erp).json()
    client.force_login(manager)
    post(
        client,
        f"/api/v1/limit-requests/{created['id']}/decisions/",
        {"decision": "request_information", "comment": "Order forecast?"},
    )
    client.logout()

    response = post(
        client,
        f"/api/v1/limit-requests/{created['id']}/information/",
        {"justification": "40,000 EUR a month from March.", "amount": "100000"},
        erp,
    )

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["round"], response.json()["amount"]) == (
        "pending",
        2,
        "100000.00",
    )


def test_the_list_filters_by_status_and_buyer(client, erp, tenant_a, policy, buyer):
    with active(tenant_a):
        LimitRequestFactory(buyer=buyer, status="refused")
        LimitRequestFactory(buyer=buyer)

    pending = client.get("/api/v1/limit-requests/?status=pending", headers=erp).json()
    for_buyer = client.get("/api/v1/limit-requests/?buyer_erp_reference=C-1", headers=erp).json()

    assert [row["status"] for row in pending["results"]] == ["pending"]
    assert len(for_buyer["results"]) == 2
