"""Approvals keep the credit policy through the API: a breach without `override_reason` is a
400 problem+json naming each breach and its field; an override is recorded and shown."""

import pytest

from policies.models import CreditLimit, LimitDecision, LimitRequest
from tests.conftest import active
from tests.policies.approval_cases import graded_buyer, head_of_credit, limit_request

pytestmark = pytest.mark.django_db


def decide(client, request, body):
    return client.post(
        f"/api/v1/limit-requests/{request.pk}/decisions/", body, content_type="application/json"
    )


def refused_breaches(tenant, response, request) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert "override_reason" in [error["field"] for error in body["errors"]]
    with active(tenant):
        assert not LimitDecision.objects.filter(request=request).exists()
        assert LimitRequest.objects.get(pk=request.pk).status == "pending"
    return [(breach["code"], breach["field"]) for breach in body["breaches"]]


def test_terms_above_the_maximum_are_a_400_naming_the_breach(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 60)
    client.force_login(manager)

    response = decide(client, request, {"decision": "approve", "payment_terms_days": 90})

    assert refused_breaches(tenant_a, response, request) == [
        ("terms_above_maximum", "payment_terms_days")
    ]
    breach = response.json()["breaches"][0]
    assert (breach["value"], breach["limit"]) == (90, 60)
    assert "maximum of 60 days" in breach["message"]
    assert any(e["field"] == "payment_terms_days" for e in response.json()["errors"])


def test_an_amount_above_the_recommendation_is_a_400(client, tenant_a, policy, requester, manager):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(manager)

    response = decide(client, request, {"decision": "approve"})

    assert refused_breaches(tenant_a, response, request) == [
        ("amount_above_recommendation", "amount")
    ]
    assert response.json()["breaches"][0]["limit"] == "100000"


def test_an_amount_above_the_cap_is_a_400(client, tenant_a, policy, requester, manager):
    buyer = graded_buyer(tenant_a, 3, equity="1000000")
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(manager)

    response = decide(client, request, {"decision": "approve_partially", "amount": "180000"})

    assert refused_breaches(tenant_a, response, request) == [("amount_above_equity_cap", "amount")]


def test_a_grade_below_the_minimum_is_a_400(client, tenant_a, policy, requester, manager):
    buyer = graded_buyer(tenant_a, 9)
    request = limit_request(tenant_a, buyer, requester, "20000", 30)
    client.force_login(manager)

    response = decide(client, request, {"decision": "approve"})

    assert refused_breaches(tenant_a, response, request) == [("grade_below_minimum", "decision")]


def test_empty_terms_on_a_partial_approval_take_the_bands_maximum(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 90)
    client.force_login(manager)

    response = decide(
        client,
        request,
        {"decision": "approve_partially", "amount": "80000", "payment_terms_days": None},
    )

    assert response.status_code == 200, response.content
    assert (response.json()["granted_amount"], response.json()["granted_terms_days"]) == (
        "80000.00",
        60,
    )
    assert response.json()["decisions"][0]["payment_terms_days"] == 60


def test_an_override_with_a_reason_is_accepted_and_marked(client, tenant_a, policy, requester):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(head)

    response = decide(
        client, request, {"decision": "approve", "override_reason": "Parent guarantee"}
    )

    assert response.status_code == 200, response.content
    decision = response.json()["decisions"][0]
    assert (decision["is_override"], decision["override_reason"]) == (True, "Parent guarantee")
    assert decision["policy_breaches"] == [
        {"code": "amount_above_recommendation", "value": "200000.00", "limit": "100000"}
    ]
    limits = client.get("/api/v1/limits/").json()
    assert limits["results"][0]["amount"] == "200000.00"
    with active(tenant_a):
        assert CreditLimit.objects.get(buyer=buyer).policy_override


def test_an_override_without_a_reason_is_a_400(client, tenant_a, policy, requester):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(head)

    response = decide(client, request, {"decision": "approve", "override_reason": " "})

    assert refused_breaches(tenant_a, response, request) == [
        ("amount_above_recommendation", "amount")
    ]


def test_an_override_by_a_role_that_may_not_is_a_403(client, tenant_a, policy, requester, senior):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(senior)

    response = decide(client, request, {"decision": "approve", "override_reason": "I know them"})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["objections"] == ["override_not_allowed"]
    with active(tenant_a):
        assert not LimitDecision.objects.exists()
        assert not CreditLimit.objects.filter(buyer=buyer).exists()
