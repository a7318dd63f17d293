"""The claim pages: the list with its key figures and filters, a claim filed from a sent overdue
notification, the claim page in every status with the actions that status allows, the whole
workflow through the pages, a forbidden step (a message, nothing changes), form errors, a
viewer who cannot write and an outsider who gets 404 everywhere."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import Claim, ClaimDocument, Recovery, WriteOff
from creditguard.web.templatetags.money import day
from tests.claims.claim_pages_support import drafted_claim, sent_notification
from tests.conftest import active
from tests.factories import MembershipFactory
from tests.insurance.notification_support import AS_OF

pytestmark = pytest.mark.django_db


@pytest.fixture
def notification(tenant_a, owner):
    with active(tenant_a):
        return sent_notification(tenant_a, owner)


@pytest.fixture
def claim(tenant_a, owner, notification):
    with active(tenant_a):
        return drafted_claim(tenant_a, owner, notification)


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user


def _set_status(tenant, claim, status, **fields):
    with active(tenant):
        Claim.objects.filter(pk=claim.pk).update(status=status, **fields)
        claim.refresh_from_db()


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- List ---------------------------------------------------------------------------------------


def test_the_list_shows_the_key_figures_and_filters(client, owner, claim):
    client.force_login(owner)
    url = reverse("claims:list")
    response = client.get(url)
    text = response.content.decode()
    assert response.status_code == 200
    assert "Loss recovery rate" in text and "Bad-debt ratio" in text and "Open claims" in text
    assert "Handling time (median)" in text
    assert claim.number in text and "上海华东贸易有限公司" in text
    assert claim.number in client.get(url, {"q": "华东"}).content.decode()
    assert (
        claim.number in client.get(url, {"status": "draft", "cause": "insolvency"}).content.decode()
    )
    assert claim.number in client.get(url, {"policy": claim.policy_id}).content.decode()
    assert claim.number not in client.get(url, {"status": "paid"}).content.decode()
    assert claim.number not in client.get(url, {"q": "nobody"}).content.decode()
    # An unknown filter value is a form error, not a 500; the list is unfiltered.
    assert client.get(url, {"status": "bogus", "policy": "x"}).status_code == 200


def test_the_navigation_links_to_the_claims(client, owner):
    client.force_login(owner)
    text = client.get(reverse("claims:list")).content.decode()
    assert f'href="{reverse("claims:list")}" class="active"' in text


# --- New claim ----------------------------------------------------------------------------------


def test_a_claim_is_filed_from_a_sent_notification(client, owner, tenant_a, notification):
    client.force_login(owner)
    detail = client.get(reverse("insurance:notification-detail", args=[notification.pk]))
    create = f"{reverse('claims:create')}?notification={notification.pk}"
    assert create.replace("&", "&amp;") in detail.content.decode()

    form = client.get(create)
    text = form.content.decode()
    assert form.status_code == 200
    assert "INV-2027-0042" in text and "INV-2027-0043" in text
    assert text.count("checked") >= 2  # the notified invoices are prefilled

    with active(tenant_a):
        invoice_ids = list(notification.items.values_list("invoice_id", flat=True))
    response = client.post(
        create,
        {
            "cause": "protracted_default",
            "loss_date": (AS_OF - timedelta(days=1)).isoformat(),
            "invoices": invoice_ids,
            "notes": "From the notification",
        },
    )
    assert response.status_code == 302
    with active(tenant_a):
        claim = Claim.objects.get()
        assert claim.buyer_id == notification.buyer_id and claim.status == "draft"
        assert set(claim.invoices.values_list("invoice_id", flat=True)) == set(invoice_ids)
    assert response["Location"] == reverse("claims:detail", args=[claim.pk])


def test_a_claim_for_a_buyer_and_a_policy_and_its_form_errors(
    client, owner, tenant_a, notification
):
    client.force_login(owner)
    with active(tenant_a):
        invoice_ids = list(notification.items.values_list("invoice_id", flat=True))
    url = reverse("claims:create")
    query = {"buyer": notification.buyer_id, "policy": notification.policy_id}
    assert client.get(url, query).status_code == 200
    bad = client.post(
        f"{url}?buyer={notification.buyer_id}&policy={notification.policy_id}",
        {"cause": "insolvency", "loss_date": (AS_OF + timedelta(days=3)).isoformat()},
    )
    assert bad.status_code == 400
    with active(tenant_a):
        assert not Claim.objects.exists()
    future = client.post(
        f"{url}?buyer={notification.buyer_id}&policy={notification.policy_id}",
        {
            "cause": "insolvency",
            "loss_date": (AS_OF + timedelta(days=3)).isoformat(),
            "invoices": invoice_ids,
        },
    )
    assert future.status_code == 400
    assert "The date of loss cannot be in the future." in future.content.decode()
    assert client.get(url).status_code == 404  # nothing to claim for
    assert client.get(url, {"buyer": "1x", "policy": "2"}).status_code == 404


def test_only_a_sent_notification_can_be_claimed(client, owner, tenant_a, notification):
    client.force_login(owner)
    with active(tenant_a):
        from policies.models import OverdueNotification

        OverdueNotification.objects.filter(pk=notification.pk).update(status="reviewed")
    url = f"{reverse('claims:create')}?notification={notification.pk}"
    assert client.get(url).status_code == 404
    detail = client.get(reverse("insurance:notification-detail", args=[notification.pk]))
    assert reverse("claims:create") not in detail.content.decode()


# --- One claim, its status and its actions ------------------------------------------------------

ACTIONS = {
    "draft": {"submit", "withdraw"},
    "submitted": {"review", "withdraw"},
    "under_review": {"decide", "withdraw"},
    "approved": {"paid"},
    "partially_approved": {"paid"},
    "paid": {"recovery-add", "write-off-add"},
    "rejected": set(),
    "withdrawn": set(),
}
EVERY_ACTION = {"submit", "review", "decide", "paid", "withdraw", "recovery-add", "write-off-add"}


@pytest.mark.parametrize("status", list(ACTIONS))
def test_the_claim_page_offers_the_actions_of_its_status(client, owner, tenant_a, claim, status):
    _set_status(tenant_a, claim, status)
    client.force_login(owner)
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert claim.get_status_display() in text
    for action in EVERY_ACTION:
        present = reverse(f"claims:{action}", args=[claim.pk]) in text
        assert present == (action in ACTIONS[status]), action
    # Always: the invoices with their checks, the calculation, the dossier, comments.
    assert "INV-2027-0042" in text and "Cover in force at delivery" in text
    assert "✓" in text
    assert "Indemnity percentage" in text
    assert reverse("claims:pdf", args=[claim.pk]) in text
    assert reverse("claims:comment", args=[claim.pk]) in text


def test_an_overdue_service_level_is_flagged(client, owner, tenant_a, claim):
    _set_status(tenant_a, claim, "submitted", sla_due_on=AS_OF - timedelta(days=2))
    client.force_login(owner)
    text = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert day(AS_OF - timedelta(days=2)) in text and "Overdue" in text


def test_the_workflow_through_the_pages(client, owner, tenant_a, claim):
    client.force_login(owner)

    def post(name, data=None, **extra):
        response = client.post(reverse(f"claims:{name}", args=[claim.pk]), data or {}, **extra)
        assert response.status_code == 302, response.content.decode()[:2000]
        return response

    post("assign", {"assignee": owner.pk})
    post("comment", {"comment": "Called the administrator."})
    post(
        "document-add",
        {
            "title": "Proof of debt",
            "file": SimpleUploadedFile("proof.pdf", b"%PDF-1.4 x", "application/pdf"),
        },
    )
    post("submit", {"comment": "Sent by e-mail"})
    post("review")
    with active(tenant_a):
        claim.refresh_from_db()
    assert claim.status == "under_review" and claim.assignee_id == owner.pk
    assert claim.indemnity_amount > 0
    partial = (claim.indemnity_amount / 2).quantize(claim.indemnity_amount)
    post(
        "decide",
        {
            "decision": "partially_approved",
            "approved_amount": str(partial),
            "insurer_reference": "CLM-77",
        },
    )
    post("paid", {"paid_amount": str(partial), "paid_on": AS_OF.isoformat()})
    with active(tenant_a):
        claim.refresh_from_db()
        assert claim.status == "paid" and claim.paid_amount == partial
        assert claim.insurer_reference == "CLM-77"
    post("recovery-add", {"received_on": AS_OF.isoformat(), "amount": "100.00", "source": "estate"})
    post(
        "write-off-add", {"written_off_on": AS_OF.isoformat(), "amount": "50.00", "reason": "Rest"}
    )
    with active(tenant_a):
        assert Recovery.objects.filter(claim=claim).count() == 1
        assert WriteOff.objects.filter(claim=claim).count() == 1
        document = ClaimDocument.objects.get(claim=claim)
    text = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Called the administrator." in text and "Proof of debt" in text
    assert "Insolvency estate" in text and "Rest" in text
    assert "Under review" in text  # the timeline names the statuses
    download = client.get(reverse("claims:document", args=[document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 x"


def test_a_forbidden_step_is_a_message_and_changes_nothing(client, owner, tenant_a, claim):
    client.force_login(owner)
    response = client.post(
        reverse("claims:paid", args=[claim.pk]),
        {"paid_amount": "10.00", "paid_on": AS_OF.isoformat()},
    )
    assert response.status_code == 302
    assert any("cannot go from" in message for message in _messages(response))
    _set_status(tenant_a, claim, "rejected")
    for name in ("submit", "review", "withdraw"):
        response = client.post(reverse(f"claims:{name}", args=[claim.pk]), {})
        assert response.status_code == 302
    with active(tenant_a):
        claim.refresh_from_db()
        assert claim.status == "rejected" and claim.paid_amount is None


def test_bad_input_is_a_form_error(client, owner, tenant_a, claim):
    _set_status(tenant_a, claim, "under_review")
    client.force_login(owner)
    response = client.post(
        reverse("claims:decide", args=[claim.pk]), {"decision": "partially_approved"}
    )
    assert response.status_code == 400
    assert "Give the amount the insurer approved." in response.content.decode()
    too_much = client.post(
        reverse("claims:decide", args=[claim.pk]),
        {"decision": "approved", "approved_amount": str(claim.indemnity_amount + 1)},
    )
    assert too_much.status_code == 400
    assert "An approval cannot exceed the computed indemnity." in too_much.content.decode()
    empty = client.post(reverse("claims:comment", args=[claim.pk]), {"comment": ""})
    assert empty.status_code == 400
    with active(tenant_a):
        claim.refresh_from_db()
        assert claim.status == "under_review"


# --- Permissions --------------------------------------------------------------------------------

WRITES = [
    "submit",
    "review",
    "decide",
    "paid",
    "withdraw",
    "assign",
    "comment",
    "document-add",
    "recovery-add",
    "write-off-add",
]


def test_a_viewer_reads_but_cannot_write(client, viewer, tenant_a, claim):
    client.force_login(viewer)
    detail = client.get(reverse("claims:detail", args=[claim.pk]))
    assert detail.status_code == 200
    assert reverse("claims:submit", args=[claim.pk]) not in detail.content.decode()
    assert client.get(reverse("claims:list")).status_code == 200
    assert client.get(reverse("claims:pdf", args=[claim.pk])).status_code == 200
    for name in WRITES:
        assert client.post(reverse(f"claims:{name}", args=[claim.pk]), {}).status_code == 403
    create = f"{reverse('claims:create')}?buyer={claim.buyer_id}&policy={claim.policy_id}"
    assert client.get(create).status_code == 403
    with active(tenant_a):
        claim.refresh_from_db()
        assert claim.status == "draft"


def test_an_outsider_gets_404_on_every_page_and_action(
    client, outsider, tenant_a, owner, claim, notification
):
    with active(tenant_a):
        document = ClaimDocument.objects.create(
            tenant=tenant_a,
            claim=claim,
            title="Proof",
            file=SimpleUploadedFile("proof.txt", b"x"),
            content_type="text/plain",
            size=1,
        )
    client.force_login(outsider)
    for name in ("detail", "pdf"):
        assert client.get(reverse(f"claims:{name}", args=[claim.pk])).status_code == 404
    assert client.get(reverse("claims:document", args=[document.pk])).status_code == 404
    for name in WRITES:
        assert client.post(reverse(f"claims:{name}", args=[claim.pk]), {}).status_code == 404
    create = reverse("claims:create")
    assert client.get(create, {"notification": notification.pk}).status_code == 404
    query = {"buyer": claim.buyer_id, "policy": claim.policy_id}
    assert client.get(create, query).status_code == 404
    assert (
        client.post(f"{create}?buyer={claim.buyer_id}&policy={claim.policy_id}", {}).status_code
        == 404
    )
    listing = client.get(reverse("claims:list"))
    assert listing.status_code == 200 and claim.number not in listing.content.decode()
    with active(tenant_a):
        claim.refresh_from_db()
        assert claim.status == "draft" and not claim.events.filter(kind="comment").exists()
