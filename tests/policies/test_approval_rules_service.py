"""Approvals keep the credit policy, through `limit_request_decide`: a decision outside the
policy is refused unless it is an override with a reason by a role that may override it."""

from decimal import Decimal

import pytest

from creditguard.accounts.models import Membership
from creditguard.audit.models import AuditEvent
from policies import services
from policies.approval import Breach, Objection
from policies.models import CreditLimit, LimitDecision, LimitRequest
from tests.conftest import active
from tests.policies.approval_cases import graded_buyer, head_of_credit, limit_request
from tests.policies.conftest import member

pytestmark = pytest.mark.django_db


def decide(tenant, user, request, kind="approve", **kwargs) -> LimitRequest:
    with active(tenant):
        return services.limit_request_decide(
            tenant=tenant,
            actor=user,
            membership=Membership.objects.get(user=user),
            request=request,
            kind=kind,
            **{k: Decimal(v) if k == "amount" else v for k, v in kwargs.items()},
        )


def breached(tenant, user, request, kind="approve", **kwargs) -> list[Breach]:
    with pytest.raises(services.PolicyOverrideRequired) as refusal:
        decide(tenant, user, request, kind, **kwargs)
    with active(tenant):
        assert not LimitDecision.objects.filter(request=request).exists()
        assert LimitRequest.objects.get(pk=request.pk).status == "pending"
    return [breach.code for breach in refusal.value.breaches]


def test_terms_above_the_bands_maximum_are_refused(tenant_a, policy, requester, manager):
    buyer = graded_buyer(tenant_a, 5)  # 60 days at most
    request = limit_request(tenant_a, buyer, requester, "90000", 60)

    assert breached(tenant_a, manager, request, payment_terms_days=90) == [
        Breach.TERMS_ABOVE_MAXIMUM
    ]


def test_an_amount_above_the_recommendation_is_refused(tenant_a, policy, requester, manager):
    # Grade 5, no cover: credit above 100,000 must be insured, the caps are 300,000.
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    assert request.recommended_amount == Decimal("100000")

    assert breached(tenant_a, manager, request) == [Breach.AMOUNT_ABOVE_RECOMMENDATION]
    assert breached(tenant_a, manager, request, "approve_partially", amount="150000") == [
        Breach.AMOUNT_ABOVE_RECOMMENDATION
    ]
    # Within the recommendation, the same approver approves.
    assert decide(tenant_a, manager, request, "approve_partially", amount="100000").status == (
        "partially_approved"
    )


def test_an_amount_above_the_bands_cap_is_refused(tenant_a, policy, requester, manager):
    # Grade 3 with equity of 1,000,000: 15 % of equity caps the limit at 150,000.
    buyer = graded_buyer(tenant_a, 3, equity="1000000")
    request = limit_request(tenant_a, buyer, requester, "200000", 60)

    assert breached(tenant_a, manager, request) == [Breach.AMOUNT_ABOVE_EQUITY_CAP]


def test_an_amount_above_the_limit_without_financials_is_refused(
    tenant_a, policy, buyer, requester, manager
):
    request = limit_request(tenant_a, buyer, requester, "120000", 60)  # grade 3, no accounts

    assert breached(tenant_a, manager, request) == [Breach.AMOUNT_ABOVE_NO_FINANCIALS_CAP]


def test_a_grade_below_the_policys_minimum_is_refused(tenant_a, policy, requester, manager):
    buyer = graded_buyer(tenant_a, 9)  # lowest acceptable grade: 8
    request = limit_request(tenant_a, buyer, requester, "20000", 30)

    assert breached(tenant_a, manager, request) == [Breach.GRADE_BELOW_MINIMUM]


def test_empty_terms_on_a_partial_approval_take_the_bands_maximum_not_the_requested_terms(
    tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)  # 60 days at most
    request = limit_request(tenant_a, buyer, requester, "90000", 90)

    decided = decide(tenant_a, manager, request, "approve_partially", amount="80000")

    assert (decided.status, decided.granted_amount, decided.granted_terms_days) == (
        "partially_approved",
        Decimal("80000.00"),
        60,
    )
    with active(tenant_a):
        assert LimitDecision.objects.get().payment_terms_days == 60
        assert CreditLimit.objects.get(buyer=buyer).payment_terms_days == 60


def test_empty_terms_on_an_approval_keep_requested_terms_within_the_maximum(
    tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 45)

    assert decide(tenant_a, manager, request).granted_terms_days == 45


def test_an_override_with_a_reason_is_accepted_and_marked_as_such(tenant_a, policy, requester):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 90)

    decided = decide(
        tenant_a, head, request, payment_terms_days=90, override_reason="  Parent guarantee  "
    )

    assert (decided.status, decided.granted_amount, decided.granted_terms_days) == (
        "approved",
        Decimal("200000.00"),
        90,
    )
    with active(tenant_a):
        decision = LimitDecision.objects.get()
        assert decision.is_override and decision.override_reason == "Parent guarantee"
        assert [b["code"] for b in decision.policy_breaches] == [
            "amount_above_recommendation",
            "terms_above_maximum",
        ]
        assert decision.policy_breaches[1] == {
            "code": "terms_above_maximum",
            "value": 90,
            "limit": 60,
        }
        limit = CreditLimit.objects.get(buyer=buyer)
        assert limit.policy_override
        assert limit.override_reason == "head@a.example: Parent guarantee"
        approve = AuditEvent.objects.get(action="limit_request.approve")
        assert approve.after["policy_override"] is True
        assert approve.after["override_reason"] == "Parent guarantee"
        assert approve.after["policy_breaches"] == [
            "amount_above_recommendation",
            "terms_above_maximum",
        ]
        grant = AuditEvent.objects.get(action="credit_limit.grant")
        assert grant.after["override_reason"] == "head@a.example: Parent guarantee"


def test_an_override_without_a_reason_is_refused(tenant_a, policy, requester):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)

    with pytest.raises(services.PolicyOverrideRequired) as refusal:
        decide(tenant_a, head, request, override_reason="   ")

    errors = refusal.value.message_dict
    assert set(errors) == {"amount", "override_reason"}
    assert "100,000 EUR" in errors["amount"][0]
    assert "give a reason" in errors["override_reason"][0]


def test_an_override_by_a_role_that_may_not_override_is_refused(
    tenant_a, policy, requester, senior
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)

    with pytest.raises(services.DecisionNotAllowed) as refusal:
        decide(tenant_a, senior, request, override_reason="I know them")

    assert refusal.value.objections == [Objection.OVERRIDE_NOT_ALLOWED]
    with active(tenant_a):
        assert not LimitDecision.objects.exists()


def test_an_override_stays_within_the_approvers_authority(tenant_a, policy, requester):
    with active(tenant_a):
        small = member(tenant_a, "admin", "small@a.example", "50000")
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)

    with pytest.raises(services.DecisionNotAllowed) as refusal:
        decide(tenant_a, small, request, override_reason="Guarantee")

    assert refusal.value.objections == [Objection.ABOVE_AUTHORITY]


def test_under_four_eyes_each_approval_outside_the_policy_is_an_override(
    tenant_a, policy, requester, manager
):
    first = head_of_credit(tenant_a)
    second = head_of_credit(tenant_a, "second@a.example")
    buyer = graded_buyer(tenant_a, 9)  # always four-eyes, below the minimum grade
    request = limit_request(tenant_a, buyer, requester, "20000", 30)

    assert decide(tenant_a, first, request, override_reason="Guarantee").status == "pending"
    # The second approver answers for their own approval: a credit manager may not override.
    with pytest.raises(services.PolicyOverrideRequired):
        decide(tenant_a, manager, request)
    decided = decide(tenant_a, second, request, override_reason="Agreed: guarantee")

    assert decided.status == "approved"
    with active(tenant_a):
        assert (
            LimitDecision.objects.filter(request=request).exclude(override_reason="").count() == 2
        )
        assert CreditLimit.objects.get(buyer=buyer).policy_override


def test_a_reason_on_an_approval_within_the_policy_records_no_override(tenant_a, policy, requester):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 60)

    decide(tenant_a, head, request, override_reason="Just in case")

    with active(tenant_a):
        assert not LimitDecision.objects.get().is_override
        assert not CreditLimit.objects.get(buyer=buyer).policy_override
