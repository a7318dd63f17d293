"""The limit pages: what members see and do, what other tenants and anonymous visitors get."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from policies.models import CreditLimit, CreditPolicy, InsurerCover, LimitRequest, Notification
from tests.conftest import active
from tests.factories import (
    BuyerFactory,
    CreditLimitFactory,
    InsurerCoverFactory,
    InvoiceFactory,
    LimitRequestFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant_a_limits(tenant_a, policy, buyer, requester, manager):
    """A limit, a cover, a pending request and a notification in tenant A."""
    with active(tenant_a):
        limit = CreditLimitFactory(buyer=buyer, amount=Decimal("100000"))
        cover = InsurerCoverFactory(buyer=buyer, insurer="Tenant A Insurer")
        pending = LimitRequestFactory(
            buyer=buyer, requested_by=requester, justification="tenant-a-justification"
        )
        notification = Notification.objects.create(
            tenant=tenant_a, user=manager, message="tenant-a-note", link="/limits/queue/"
        )
    return {
        "buyer": buyer,
        "limit": limit,
        "cover": cover,
        "request": pending,
        "notification": notification,
    }


def page_text(response) -> str:
    text = response.content.decode().replace(response.request["PATH_INFO"], "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


PAGES = [
    ("limits:overview", None),
    ("limits:queue", None),
    ("limits:policy", None),
    ("limits:policy-edit", None),
    ("limits:request-create", None),
    ("limits:notifications", None),
    ("limits:buyer", "buyer"),
    ("limits:request-detail", "request"),
    ("limits:cover-create", "buyer"),
    ("limits:cover-edit", "cover"),
]


@pytest.mark.parametrize(("url_name", "object_key"), PAGES)
def test_every_page_renders_for_an_administrator(
    client, owner, tenant_a_limits, url_name, object_key
):
    client.force_login(owner)
    args = [tenant_a_limits[object_key].pk] if object_key else []

    response = client.get(reverse(url_name, args=args))

    assert response.status_code == 200


@pytest.mark.parametrize(("url_name", "object_key"), PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, tenant_a_limits, url_name, object_key):
    url = reverse(url_name, args=[tenant_a_limits[object_key].pk] if object_key else [])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


OBJECT_ACTIONS = [
    ("get", "limits:buyer", "buyer", None),
    ("get", "limits:request-detail", "request", None),
    ("post", "limits:request-decide", "request", {"decision": "approve", "comment": "x"}),
    ("post", "limits:request-resubmit", "request", {"justification": "x"}),
    ("post", "limits:request-withdraw", "request", {}),
    ("post", "limits:limit-block", "buyer", {"reason": "x"}),
    ("post", "limits:limit-unblock", "buyer", {}),
    ("get", "limits:cover-create", "buyer", None),
    ("post", "limits:cover-create", "buyer", {"insurer": "X", "amount": "1", "currency": "EUR", "decision_date": "2026-01-01", "status": "granted"}),
    ("get", "limits:cover-edit", "cover", None),
    ("post", "limits:cover-edit", "cover", {"insurer": "X", "amount": "1", "currency": "EUR", "decision_date": "2026-01-01", "status": "granted"}),
    ("post", "limits:notification-open", "notification", {}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url_name", "object_key", "data"), OBJECT_ACTIONS)
def test_another_tenants_object_is_not_found_like_a_missing_one_and_nothing_changes(
    client, tenant_a, outsider, tenant_a_limits, method, url_name, object_key, data
):
    client.force_login(outsider)
    send = getattr(client, method)

    theirs = send(reverse(url_name, args=[tenant_a_limits[object_key].pk]), data)
    missing = send(reverse(url_name, args=[2_000_000_000]), data)

    assert theirs.status_code == missing.status_code == 404
    assert page_text(theirs) == page_text(missing)
    with active(tenant_a):
        assert LimitRequest.objects.get().status == "pending"
        assert CreditLimit.objects.get().status == "active"
        assert InsurerCover.objects.get().insurer == "Tenant A Insurer"
        assert Notification.objects.get().read_at is None


@pytest.mark.parametrize(
    "url_name", ["limits:overview", "limits:queue", "limits:policy", "limits:notifications"]
)
def test_list_pages_show_another_tenant_nothing_of_tenant_a(
    client, tenant_b, outsider, tenant_a_limits, url_name
):
    client.force_login(outsider)

    page = client.get(reverse(url_name)).content.decode()

    for marker in ["Nordlicht GmbH", "tenant-a-justification", "tenant-a-note", "Tenant A Insurer"]:
        assert marker not in page


def test_the_overview_shows_limit_cover_utilisation_and_over_limit(
    client, owner, tenant_a, tenant_a_limits
):
    with active(tenant_a):
        InvoiceFactory(buyer=tenant_a_limits["buyer"], amount=Decimal("130000"))
    client.force_login(owner)

    page = client.get(reverse("limits:overview"), {"state": "over_limit"}).content.decode()

    assert "Nordlicht GmbH" in page
    assert "130,000" in page and "100,000" in page
    assert "130%" in page
    assert "Over limit" in page


def test_the_overview_filters_out_buyers_within_their_limit(client, owner, tenant_a_limits):
    client.force_login(owner)

    page = client.get(reverse("limits:overview"), {"state": "over_limit"}).content.decode()

    assert "Nordlicht GmbH" not in page


def test_the_queue_puts_over_limit_buyers_first_then_the_oldest(
    client, manager, tenant_a, policy, requester
):
    with active(tenant_a):
        old = BuyerFactory(tenant=tenant_a, legal_name="Old Request AG")
        urgent = BuyerFactory(tenant=tenant_a, legal_name="Over Limit SE")
        newer = BuyerFactory(tenant=tenant_a, legal_name="Newer Request GmbH")
        for buyer in (old, urgent, newer):
            LimitRequestFactory(buyer=buyer, requested_by=requester)
        CreditLimitFactory(buyer=urgent, amount=Decimal("1000"))
        InvoiceFactory(buyer=urgent, amount=Decimal("5000"))
    client.force_login(manager)

    page = client.get(reverse("limits:queue")).content.decode()

    order = [page.index(name) for name in ("Over Limit SE", "Old Request AG", "Newer Request GmbH")]
    assert order == sorted(order)


def test_a_credit_manager_approves_from_the_queue_in_one_step(
    client, manager, tenant_a, tenant_a_limits
):
    client.force_login(manager)
    pending = tenant_a_limits["request"]

    response = client.post(
        reverse("limits:request-decide", args=[pending.pk]),
        {"decision": "approve", "comment": "Solid payer", "next": reverse("limits:queue")},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("limits:queue")
    assert "Approved" in response.content.decode()
    with active(tenant_a):
        assert LimitRequest.objects.get().status == "approved"
        assert CreditLimit.objects.get().amount == pending.amount


def test_the_queue_explains_why_the_requester_cannot_decide(
    client, tenant_a, policy, buyer, manager
):
    with active(tenant_a):
        LimitRequestFactory(buyer=buyer, requested_by=manager)
    client.force_login(manager)

    page = client.get(reverse("limits:queue")).content.decode()

    assert "You cannot decide on your own request." in page
    assert 'value="approve"' not in page


def test_a_refused_decision_shows_the_reason_and_changes_nothing(
    client, tenant_a, policy, buyer, requester, manager
):
    with active(tenant_a):
        big = LimitRequestFactory(buyer=buyer, requested_by=requester, amount=Decimal("900000"))
    client.force_login(manager)

    response = client.post(
        reverse("limits:request-decide", args=[big.pk]), {"decision": "approve"}, follow=True
    )

    assert "above your approval authority" in response.content.decode()
    with active(tenant_a):
        assert LimitRequest.objects.get().status == "pending"


def test_members_without_the_right_role_are_refused(client, viewer, teammate, tenant_a_limits):
    client.force_login(viewer)
    decide = client.post(
        reverse("limits:request-decide", args=[tenant_a_limits["request"].pk]),
        {"decision": "approve"},
    )
    request_page = client.get(reverse("limits:request-create"))
    client.force_login(teammate)  # analyst
    policy_edit = client.get(reverse("limits:policy-edit"))
    block = client.post(
        reverse("limits:limit-block", args=[tenant_a_limits["buyer"].pk]), {"reason": "x"}
    )

    assert [
        decide.status_code,
        request_page.status_code,
        policy_edit.status_code,
        block.status_code,
    ] == [403] * 4


def test_a_limit_request_from_the_form_goes_to_the_queue(
    client, requester, tenant_a, policy, buyer, manager
):
    client.force_login(requester)
    form = client.get(reverse("limits:request-create"), {"buyer": buyer.pk}).content.decode()

    response = client.post(
        reverse("limits:request-create"),
        {
            "buyer": buyer.pk,
            "amount": "75000",
            "payment_terms_days": "45",
            "justification": "Season",
        },
    )

    assert "Recommendation" in form
    assert response.status_code == 302
    with active(tenant_a):
        created = LimitRequest.objects.get()
        assert (created.amount, created.requested_by) == (Decimal("75000.00"), requester)
        assert response["Location"] == reverse("limits:request-detail", args=[created.pk])
        assert Notification.objects.filter(user=manager).exists()


def test_the_requester_answers_a_request_for_information_on_the_request_page(
    client, requester, tenant_a, tenant_a_limits
):
    pending = tenant_a_limits["request"]
    with active(tenant_a):
        LimitRequest.objects.filter(pk=pending.pk).update(status="information_requested")
    client.force_login(requester)

    page = client.get(reverse("limits:request-detail", args=[pending.pk])).content.decode()
    client.post(
        reverse("limits:request-resubmit", args=[pending.pk]),
        {"justification": "Q3 accounts attached"},
    )

    assert "The approvers asked for more information" in page
    with active(tenant_a):
        assert (LimitRequest.objects.get().status, LimitRequest.objects.get().round) == (
            "pending",
            2,
        )


def test_the_limit_page_shows_the_history_of_limit_and_cover(
    client, owner, tenant_a, policy, buyer, manager
):
    client.force_login(owner)
    client.post(
        reverse("limits:cover-create", args=[buyer.pk]),
        {
            "insurer": "Coface",
            "amount": "60000",
            "currency": "EUR",
            "decision_date": "2026-03-01",
            "status": "granted",
        },
    )
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer)
    client.post(reverse("limits:limit-block", args=[buyer.pk]), {"reason": "Cheque bounced"})

    page = client.get(reverse("limits:buyer", args=[buyer.pk])).content.decode()

    assert "insurer_cover.create" in page
    assert "credit_limit.block" in page
    assert "Cheque bounced" in page


def policy_form(rows):
    """The policy editor's POST: settings, then band rows (low, high, terms, max. limit) and
    empty rows up to ten."""
    form = {
        "effective_from": (date.today() + timedelta(days=7)).isoformat(),
        "four_eyes_threshold": "200000",
        "lowest_acceptable_grade": "7",
        "overdue_hold_days": "30",
        "overdue_hold_amount": "1000",
        "limit_without_financials": "30000",
        "bands-TOTAL_FORMS": "10",
        "bands-INITIAL_FORMS": "3",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "10",
    }
    for index in range(10):
        low, high, terms, maximum = rows[index] if index < len(rows) else ("", "", "", "")
        form |= {
            f"bands-{index}-grade_from": low,
            f"bands-{index}-grade_to": high,
            f"bands-{index}-max_payment_terms_days": terms,
            f"bands-{index}-max_limit": maximum,
            f"bands-{index}-approval_level": "standard",
        }
    return form


def test_an_administrator_saves_a_new_policy_version_from_the_editor(
    client, owner, tenant_a, policy
):
    client.force_login(owner)
    form = policy_form([(1, 6, 60, "500000"), (7, 10, 30, "10000")])

    response = client.post(reverse("limits:policy-edit"), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    with active(tenant_a):
        latest = CreditPolicy.objects.order_by("-version").first()
        assert latest.version == policy.version + 1
        assert [band.grade_to for band in latest.bands.order_by("grade_from")] == [6, 10]


def test_a_used_band_row_without_its_limit_shows_the_error_on_the_row(
    client, owner, tenant_a, policy
):
    client.force_login(owner)
    form = policy_form([(1, 10, 30, "")])

    response = client.post(reverse("limits:policy-edit"), form)

    assert response.status_code == 200
    assert response.context["bands"].forms[0].errors == {"max_limit": ["This field is required."]}
    with active(tenant_a):
        assert CreditPolicy.objects.order_by("-version").first() == policy


def test_notifications_are_listed_marked_read_and_opened(
    client, manager, tenant_a, tenant_a_limits
):
    client.force_login(manager)
    notification = tenant_a_limits["notification"]

    page = client.get(reverse("limits:notifications")).content.decode()
    opened = client.post(reverse("limits:notification-open", args=[notification.pk]))

    assert "tenant-a-note" in page
    assert opened["Location"] == "/limits/queue/"
    with active(tenant_a):
        assert Notification.objects.get().read_at is not None


def test_the_notification_badge_counts_the_members_unread_notifications(
    client, manager, tenant_a, tenant_a_limits
):
    request = RequestFactory().get("/")
    request.user, request.tenant = manager, tenant_a
    template = Template('{% include "policies/_notifications_badge.html" %}')

    with active(tenant_a):
        html = template.render(Context({"request": request}))

    assert '<span class="badge bad">1</span>' in html
    assert reverse("limits:notifications") in html


def test_the_queue_offers_only_a_partial_approval_above_the_approvers_authority(
    client, tenant_a, policy, buyer, requester, manager
):
    with active(tenant_a):
        LimitRequestFactory(buyer=buyer, requested_by=requester, amount=Decimal("900000"))
    client.force_login(manager)

    page = client.get(reverse("limits:queue")).content.decode()

    assert 'value="approve_partially"' in page
    assert 'value="approve"' not in page
    assert "above your approval authority" in page


def test_the_queue_shows_a_page_of_requests_most_urgent_first(
    client, manager, tenant_a, policy, requester, django_assert_max_num_queries
):
    """20 cards a page (each is a decision form); the order runs over the whole queue."""
    from policies.views import QUEUE_PAGE_SIZE

    with active(tenant_a):
        buyers = [
            BuyerFactory(tenant=tenant_a, legal_name=f"Queue Buyer {n:02d}")
            for n in range(QUEUE_PAGE_SIZE + 5)
        ]
        for buyer in buyers:
            LimitRequestFactory(buyer=buyer, requested_by=requester)
        urgent = buyers[-1]  # the newest request, but over its limit: first on page 1
        CreditLimitFactory(buyer=urgent, amount=Decimal("1000"))
        InvoiceFactory(buyer=urgent, amount=Decimal("5000"))
    client.force_login(manager)
    client.get(reverse("limits:queue"))

    with django_assert_max_num_queries(40):
        first = client.get(reverse("limits:queue")).content.decode()
    second = client.get(reverse("limits:queue"), {"page": 2}).content.decode()

    names = [b.legal_name for b in buyers]
    on_first = [name for name in names if name in first]
    on_second = [name for name in names if name in second]
    assert len(on_first) == QUEUE_PAGE_SIZE and len(on_second) == 5
    assert set(on_first).isdisjoint(on_second)
    assert urgent.legal_name in first
    assert first.index(urgent.legal_name) < first.index("Queue Buyer 00")
    assert "Page 1 of 2" in first and "?page=2" in first
    assert "Page 2 of 2" in second
