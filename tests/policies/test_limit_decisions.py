"""Limit requests and decisions through the services: authority, four-eyes, partial approval,
requests for information, and what a granted limit looks like."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from creditguard.accounts.models import Membership
from creditguard.audit.models import AuditEvent
from creditguard.reference.models import FxRate
from policies import services
from policies.approval import Objection
from policies.models import CreditLimit, LimitDecision, LimitRequest, Notification
from policies.schedule import add_months
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    BuyerScoreFactory,
    CreditLimitFactory,
    FinancialStatementFactory,
)
from tests.policies.conftest import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts_on_file(tenant_a, buyer):
    """Accounts that put the grade-3 buyer's policy cap at the band maximum (1,000,000), so
    the amounts these authority and four-eyes tests approve keep the credit policy (approvals
    outside it are overrides: tests/policies/test_approval_rules_*.py)."""
    with active(tenant_a):
        FinancialStatementFactory(
            buyer=buyer, equity=Decimal("10000000"), revenue=Decimal("20000000")
        )


def request_limit(tenant, buyer, actor, amount="100000", terms=60) -> LimitRequest:
    with active(tenant):
        return services.limit_request_create(
            tenant=tenant,
            actor=actor,
            buyer=buyer,
            amount=Decimal(amount),
            payment_terms_days=terms,
            justification="New orders",
        )


def decide(tenant, user, limit_request, kind="approve", **kwargs) -> LimitRequest:
    with active(tenant):
        return services.limit_request_decide(
            tenant=tenant,
            actor=user,
            membership=Membership.objects.get(user=user),
            request=limit_request,
            kind=kind,
            **{k: Decimal(v) if k == "amount" else v for k, v in kwargs.items()},
        )


def refused_for(tenant, user, limit_request, kind="approve", **kwargs) -> list[Objection]:
    with pytest.raises(services.DecisionNotAllowed) as refusal:
        decide(tenant, user, limit_request, kind, **kwargs)
    return refusal.value.objections


@pytest.mark.usefixtures("accounts_on_file")
def test_an_approval_within_authority_grants_the_limit_with_review_and_expiry_dates(
    tenant_a, policy, buyer, requester, manager
):
    limit_request = request_limit(tenant_a, buyer, requester, "100000", terms=45)

    decided = decide(tenant_a, manager, limit_request, comment="Good payer")

    assert decided.status == LimitRequest.Status.APPROVED
    assert (decided.granted_amount, decided.granted_terms_days) == (Decimal("100000.00"), 45)
    with active(tenant_a):
        limit = CreditLimit.objects.get(buyer=buyer)
        today = date.today()
        # Grade 3: low risk, reviewed yearly, expires after 12 months.
        assert (limit.amount, limit.payment_terms_days, limit.status) == (
            Decimal("100000.00"),
            45,
            "active",
        )
        assert (limit.grade, limit.risk_class) == (3, "low")
        assert (limit.review_date, limit.expiry_date) == (
            add_months(today, 12),
            add_months(today, 12),
        )
        assert (limit.owner, limit.request_id) == (manager, limit_request.pk)
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"limit_request.create", "limit_request.approve", "credit_limit.grant"} <= actions
        assert Notification.objects.filter(user=requester, message__contains="approved").exists()


def test_the_requester_cannot_approve_their_own_request(tenant_a, policy, buyer, manager):
    limit_request = request_limit(tenant_a, buyer, manager)

    assert refused_for(tenant_a, manager, limit_request) == [Objection.OWN_REQUEST]
    with active(tenant_a):
        assert LimitRequest.objects.get().status == "pending"
        assert not LimitDecision.objects.exists()
        assert not CreditLimit.objects.exists()


def test_an_amount_above_the_approvers_authority_is_refused(
    tenant_a, policy, buyer, requester, manager
):
    limit_request = request_limit(tenant_a, buyer, requester, "500000.01")

    assert refused_for(tenant_a, manager, limit_request) == [Objection.ABOVE_AUTHORITY]
    with active(tenant_a):
        assert not LimitDecision.objects.exists()


@pytest.mark.usefixtures("accounts_on_file")
def test_above_the_threshold_a_second_distinct_approver_is_needed(
    tenant_a, policy, buyer, requester, manager, senior
):
    limit_request = request_limit(tenant_a, buyer, requester, "300000")  # threshold 250,000

    first = decide(tenant_a, manager, limit_request)

    assert first.status == LimitRequest.Status.PENDING
    assert refused_for(tenant_a, manager, limit_request) == [Objection.ALREADY_APPROVED]
    with active(tenant_a):
        assert not CreditLimit.objects.exists()
        assert Notification.objects.filter(
            user=senior, message__contains="Second approval"
        ).exists()

    second = decide(tenant_a, senior, limit_request)

    assert (second.status, second.granted_amount) == ("approved", Decimal("300000.00"))
    with active(tenant_a):
        assert CreditLimit.objects.get(buyer=buyer).amount == Decimal("300000.00")


@pytest.mark.usefixtures("accounts_on_file")
def test_the_database_refuses_two_approvals_by_one_person_in_a_round(
    tenant_a, policy, buyer, requester, manager
):
    limit_request = request_limit(tenant_a, buyer, requester, "300000")
    decide(tenant_a, manager, limit_request)

    with active(tenant_a), pytest.raises(IntegrityError), transaction.atomic():
        LimitDecision.objects.create(
            tenant=tenant_a,
            request=limit_request,
            round=1,
            kind="approve_partially",
            amount=Decimal("1"),
            decided_by=manager,
            decided_by_label="again",
        )


@pytest.mark.usefixtures("accounts_on_file")
def test_a_partial_approval_grants_the_lower_amount(tenant_a, policy, buyer, requester, manager):
    limit_request = request_limit(tenant_a, buyer, requester, "200000")

    decided = decide(tenant_a, manager, limit_request, "approve_partially", amount="150000")

    assert (decided.status, decided.granted_amount) == ("partially_approved", Decimal("150000.00"))
    with active(tenant_a):
        assert CreditLimit.objects.get(buyer=buyer).amount == Decimal("150000.00")
        assert Notification.objects.filter(user=requester, message__contains="partially").exists()


def test_a_partial_approval_must_be_below_the_amount_on_the_table(
    tenant_a, policy, buyer, requester, manager
):
    limit_request = request_limit(tenant_a, buyer, requester, "200000")

    with pytest.raises(ValidationError) as invalid:
        decide(tenant_a, manager, limit_request, "approve_partially", amount="200000")

    assert "amount" in invalid.value.message_dict


@pytest.mark.usefixtures("accounts_on_file")
def test_the_second_approver_approves_what_the_first_left_on_the_table(
    tenant_a, policy, buyer, requester, manager, senior
):
    limit_request = request_limit(tenant_a, buyer, requester, "600000")
    decide(tenant_a, senior, limit_request, "approve_partially", amount="300000")

    # 300,000 is within the manager's 500,000 although the request was for 600,000.
    decided = decide(tenant_a, manager, limit_request)

    assert (decided.status, decided.granted_amount) == ("partially_approved", Decimal("300000.00"))


def test_a_band_that_always_needs_four_eyes_needs_two_approvers_for_a_small_limit(
    tenant_a, policy, requester, manager, senior
):
    with active(tenant_a):
        risky = BuyerFactory(tenant=tenant_a)
        # Grade 8: the policy's lowest acceptable grade, in the always-four-eyes band.
        BuyerScoreFactory(buyer=risky, grade=8)
    limit_request = request_limit(tenant_a, risky, requester, "20000", terms=30)

    assert decide(tenant_a, manager, limit_request).status == "pending"
    assert decide(tenant_a, senior, limit_request).status == "approved"
    with active(tenant_a):
        limit = CreditLimit.objects.get(buyer=risky)
        # Grade 8: high risk, reviewed monthly, expires after 3 months.
        assert limit.risk_class == "high"
        assert limit.review_date == add_months(date.today(), 1)
        assert limit.expiry_date == add_months(date.today(), 3)


@pytest.mark.usefixtures("accounts_on_file")
def test_asking_for_information_returns_the_request_and_a_resubmission_starts_a_new_round(
    tenant_a, policy, buyer, requester, manager, senior
):
    limit_request = request_limit(tenant_a, buyer, requester, "300000")
    decide(tenant_a, manager, limit_request)  # 1 of 2 approvals in round 1

    returned = decide(
        tenant_a, senior, limit_request, "request_information", comment="Latest accounts?"
    )

    assert returned.status == LimitRequest.Status.INFORMATION_REQUESTED
    with active(tenant_a):
        assert Notification.objects.filter(
            user=requester, message__contains="Latest accounts?"
        ).exists()
        resubmitted = services.limit_request_resubmit(
            tenant=tenant_a,
            actor=requester,
            request=limit_request,
            justification="Accounts 2025 uploaded to the credit file.",
        )
    assert (resubmitted.status, resubmitted.round) == ("pending", 2)
    assert "Accounts 2025 uploaded" in resubmitted.justification

    # The manager's round-1 approval no longer counts: the senior's is the first of round 2.
    assert decide(tenant_a, senior, limit_request).status == "pending"
    assert decide(tenant_a, manager, limit_request).status == "approved"


def test_only_the_requester_answers_a_request_for_information(
    tenant_a, policy, buyer, requester, manager, senior
):
    limit_request = request_limit(tenant_a, buyer, requester, "100000")
    decide(tenant_a, senior, limit_request, "request_information", comment="Why?")

    with active(tenant_a), pytest.raises(services.DecisionNotAllowed):
        services.limit_request_resubmit(
            tenant=tenant_a, actor=manager, request=limit_request, justification="x"
        )


def test_refusing_needs_a_comment_and_ends_the_request(tenant_a, policy, buyer, requester, manager):
    limit_request = request_limit(tenant_a, buyer, requester)

    with pytest.raises(ValidationError):
        decide(tenant_a, manager, limit_request, "refuse")
    refused = decide(tenant_a, manager, limit_request, "refuse", comment="Too many overdues")

    assert refused.status == LimitRequest.Status.REFUSED
    assert refused_for(tenant_a, manager, limit_request) == [Objection.NOT_PENDING]
    with active(tenant_a):
        assert not CreditLimit.objects.exists()
        assert Notification.objects.filter(user=requester, message__contains="refused").exists()


def test_a_member_whose_role_may_not_decide_is_refused(tenant_a, policy, buyer, requester, viewer):
    limit_request = request_limit(tenant_a, buyer, requester)

    assert Objection.NO_PERMISSION in refused_for(
        tenant_a, viewer, limit_request, "refuse", comment="no"
    )


@pytest.mark.usefixtures("accounts_on_file")
def test_authority_in_another_currency_is_converted_to_base_currency(
    tenant_a, policy, buyer, requester
):
    FxRate.objects.create(
        currency="USD", rate_date=date.today() - timedelta(days=1), units_per_eur=Decimal("1.2")
    )
    with active(tenant_a):
        dollars_short = member(tenant_a, "credit_manager", "usd1@a.example", "200000", "USD")
        dollars_enough = member(tenant_a, "credit_manager", "usd2@a.example", "300000", "USD")
    limit_request = request_limit(tenant_a, buyer, requester, "200000")

    # 200,000 USD = 166,666.67 EUR < 200,000 EUR; 300,000 USD = 250,000 EUR.
    assert refused_for(tenant_a, dollars_short, limit_request) == [Objection.ABOVE_AUTHORITY]
    assert decide(tenant_a, dollars_enough, limit_request).status == "approved"


def test_a_buyer_has_at_most_one_open_request(tenant_a, policy, buyer, requester):
    request_limit(tenant_a, buyer, requester)

    with pytest.raises(ValidationError) as invalid:
        request_limit(tenant_a, buyer, requester)

    assert "buyer" in invalid.value.message_dict


def test_a_request_notifies_the_approvers_whose_authority_covers_it(
    tenant_a, policy, buyer, requester, manager, senior
):
    request_limit(tenant_a, buyer, requester, "600000")

    with active(tenant_a):
        assert list(Notification.objects.values_list("user__email", flat=True)) == [
            "senior@a.example"
        ]


def test_a_request_records_the_recommendation_of_the_moment(tenant_a, policy, buyer, requester):
    limit_request = request_limit(tenant_a, buyer, requester, "2000000")

    # Grade 3, no financials on file: the policy's limit without financials (50,000).
    assert limit_request.recommended_amount == Decimal("50000")
    assert limit_request.recommendation["binding"] == "no_financials_cap"
    assert limit_request.policy == policy


def test_the_requester_may_withdraw_an_open_request(tenant_a, policy, buyer, requester, manager):
    limit_request = request_limit(tenant_a, buyer, requester)

    with active(tenant_a):
        with pytest.raises(services.DecisionNotAllowed):
            services.limit_request_withdraw(tenant=tenant_a, actor=manager, request=limit_request)
        withdrawn = services.limit_request_withdraw(
            tenant=tenant_a, actor=requester, request=limit_request
        )
    assert withdrawn.status == LimitRequest.Status.WITHDRAWN


@pytest.mark.usefixtures("accounts_on_file")
def test_approving_a_change_replaces_the_limit_and_keeps_the_old_amount_in_the_history(
    tenant_a, policy, buyer, requester, manager
):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, amount=Decimal("50000"), status="blocked")
    limit_request = request_limit(tenant_a, buyer, requester, "80000")

    decide(tenant_a, manager, limit_request)

    with active(tenant_a):
        limit = CreditLimit.objects.get(buyer=buyer)
        assert (limit.amount, limit.status) == (Decimal("80000.00"), "active")
        change = AuditEvent.objects.get(action="credit_limit.change")
        assert change.before["amount"] == "50000.00"
        assert change.after["amount"] == "80000.00"


def test_blocking_and_unblocking_a_limit_is_audited(tenant_a, buyer, manager):
    with active(tenant_a):
        limit = CreditLimitFactory(buyer=buyer)
        with pytest.raises(ValidationError):
            services.credit_limit_block(tenant=tenant_a, actor=manager, limit=limit, reason=" ")
        services.credit_limit_block(
            tenant=tenant_a, actor=manager, limit=limit, reason="Fraud suspicion"
        )
        assert CreditLimit.objects.get().status == "blocked"
        services.credit_limit_unblock(tenant=tenant_a, actor=manager, limit=limit)
        assert CreditLimit.objects.get().status == "active"
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
            "credit_limit.block",
            "credit_limit.unblock",
        ]


@pytest.mark.usefixtures("accounts_on_file")
def test_an_approver_below_the_requested_amount_may_approve_a_lower_amount_within_authority(
    tenant_a, policy, buyer, requester, manager
):
    limit_request = request_limit(tenant_a, buyer, requester, "600000")

    decided = decide(tenant_a, manager, limit_request, "approve_partially", amount="200000")

    assert (decided.status, decided.granted_amount) == ("partially_approved", Decimal("200000.00"))
