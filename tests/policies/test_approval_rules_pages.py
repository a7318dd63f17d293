"""Approvals keep the credit policy on the pages: the decision form shows the recommendation
and the policy's limits, never approves outside the policy silently, and every error names
its input."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from policies.models import CreditLimit, LimitDecision, LimitRequest
from tests.conftest import active
from tests.factories import LimitRequestFactory
from tests.policies.approval_cases import graded_buyer, head_of_credit, limit_request

pytestmark = pytest.mark.django_db


def decide(client, request, **data):
    response = client.post(
        reverse("limits:request-decide", args=[request.pk]),
        {"next": reverse("limits:queue"), **data},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def card(page: str, request) -> str:
    """The request's card in the queue page."""
    match = re.search(rf'<article[^>]*id="request-{request.pk}".*?</article>', page, re.S)
    assert match, page
    return match.group(0)


def nothing_decided(tenant, request):
    with active(tenant):
        assert not LimitDecision.objects.filter(request=request).exists()
        assert LimitRequest.objects.get(pk=request.pk).status == "pending"


def test_the_form_shows_the_recommendation_and_the_policy_limits_beside_the_inputs(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 90)
    client.force_login(manager)

    html = card(client.get(reverse("limits:queue")).content.decode(), request)

    limits = re.search(r'<dl class="policy-limits".*?</dl>', html, re.S).group(0)
    for label, value in [
        ("Recommended", "90,000"),
        ("Policy cap", "300,000"),
        ("Max. terms", "60 days"),
        ("Lowest acceptable grade", "8"),
    ]:
        assert re.search(rf"<dt>{label}</dt><dd>[^<]*{value}", limits), (label, limits)
    # No placeholder that looks like a value; the hints say what empty means.
    assert "placeholder" not in re.search(r"<form.*?</form>", html, re.S).group(0)
    assert "Empty: 60 days" in html
    # The main button says what it approves: the amount and the terms within the policy.
    assert re.search(r'value="approve">Approve 90,000[^<]*· 60 days</button>', html)


def test_above_the_recommendation_the_main_button_is_withheld_and_the_breach_shown(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(manager)

    html = card(client.get(reverse("limits:queue")).content.decode(), request)

    assert 'value="approve"' not in html
    assert "is outside the credit policy" in html
    assert "above the recommended limit of 100,000 EUR" in html
    assert 'name="override_reason"' not in html  # a credit manager may not override


def test_a_member_who_may_override_sees_the_override_button_and_the_reason_field(
    client, tenant_a, policy, requester
):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(head)

    html = card(client.get(reverse("limits:queue")).content.decode(), request)

    assert re.search(r'value="approve">Override the policy: approve 200,000', html)
    assert 'name="override_reason"' in html


def test_terms_above_the_maximum_are_refused_naming_the_field(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 60)
    client.force_login(manager)

    page = decide(client, request, decision="approve", payment_terms_days="90")

    assert "Terms (days): Terms of 90 days are above the policy&#x27;s maximum of 60" in page
    assert "Reason for overriding the policy: Your role may not override" in page
    nothing_decided(tenant_a, request)


def test_an_amount_above_the_recommendation_is_refused_naming_the_field(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(manager)

    page = decide(client, request, decision="approve_partially", amount="150000")

    assert "Partial amount: 150,000 EUR is above the recommended limit of 100,000 EUR." in page
    nothing_decided(tenant_a, request)


def test_an_amount_above_the_cap_is_refused_naming_the_field(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 3, equity="1000000")  # 15 % of equity: 150,000
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(manager)

    page = decide(client, request, decision="approve")

    assert "Amount: 200,000 EUR is above the policy&#x27;s cap of 150,000 EUR" in page
    nothing_decided(tenant_a, request)


def test_a_grade_below_the_minimum_is_refused_naming_the_decision(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 9)
    request = limit_request(tenant_a, buyer, requester, "20000", 30)
    client.force_login(manager)

    queue = card(client.get(reverse("limits:queue")).content.decode(), request)
    page = decide(client, request, decision="approve")

    assert 'value="approve"' not in queue
    assert "buyer: 9" in queue
    assert "Decision: Grade 9 is worse than the policy&#x27;s lowest acceptable grade 8." in page
    nothing_decided(tenant_a, request)


def test_empty_terms_on_a_partial_approval_take_the_bands_maximum(
    client, tenant_a, policy, requester, manager
):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 90)
    client.force_login(manager)

    decide(client, request, decision="approve_partially", amount="80000", payment_terms_days="")

    with active(tenant_a):
        limit = CreditLimit.objects.get(buyer=buyer)
        assert (limit.amount, limit.payment_terms_days) == (Decimal("80000.00"), 60)


def test_an_override_with_a_reason_is_accepted_and_shown_as_such(
    client, tenant_a, policy, requester
):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(head)

    page = decide(client, request, decision="approve", override_reason="Parent guarantee")

    assert "Recorded as an override of the credit policy" in page
    detail = client.get(reverse("limits:request-detail", args=[request.pk])).content.decode()
    assert "Policy override" in detail and "Parent guarantee" in detail
    assert "200,000 EUR is above the recommended limit of 100,000 EUR." in detail
    limit_page = client.get(reverse("limits:buyer", args=[buyer.pk])).content.decode()
    assert "Policy override" in limit_page
    assert "head@a.example: Parent guarantee" in limit_page
    assert "override reason" in limit_page  # the limit history (audit) shows the reason


def test_an_override_without_a_reason_is_refused_naming_the_reason_field(
    client, tenant_a, policy, requester
):
    head = head_of_credit(tenant_a)
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(head)

    page = decide(client, request, decision="approve", override_reason="")

    assert "Reason for overriding the policy: Outside the credit policy: give a reason" in page
    nothing_decided(tenant_a, request)


def test_an_override_by_a_role_that_may_not_is_refused(client, tenant_a, policy, requester, senior):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "200000", 60)
    client.force_login(senior)

    page = decide(client, request, decision="approve", override_reason="I know them")

    assert "Decision: Your role may not override the credit policy" in page
    nothing_decided(tenant_a, request)


def test_every_form_error_names_its_field(client, tenant_a, policy, requester, manager):
    buyer = graded_buyer(tenant_a, 5)
    request = limit_request(tenant_a, buyer, requester, "90000", 60)
    client.force_login(manager)

    missing = decide(client, request, decision="approve_partially")
    invalid = decide(client, request, decision="approve", payment_terms_days="soon")
    unknown = decide(client, request)

    assert "Partial amount: Enter the amount to approve." in missing
    assert "Terms (days): Enter a whole number." in invalid
    assert "Decision: This field is required." in unknown
    assert "Comment: Say why in the comment." in decide(client, request, decision="refuse")


def test_answering_a_request_for_information_names_the_missing_field(
    client, tenant_a, policy, buyer, requester
):
    with active(tenant_a):
        returned = LimitRequestFactory(
            buyer=buyer, requested_by=requester, status="information_requested"
        )
    client.force_login(requester)

    response = client.post(
        reverse("limits:request-resubmit", args=[returned.pk]),
        {"justification": "", "amount": "-5"},
        follow=True,
    )

    page = response.content.decode()
    assert "Information: This field is required." in page
    assert "Requested limit: Ensure this value is greater than or equal to 0." in page
