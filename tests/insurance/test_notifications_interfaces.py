"""Overdue notifications through the pages, the API and the documents: PDF text in English and
Chinese (Chinese glyphs included), CSV with escaped formulas, problem+json errors, 409 on a
forbidden step, outsiders get 404 and viewers cannot write."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from policies.models import OverdueNotification
from policies.services import overdue_notifications as services
from tests.conftest import active, bearer
from tests.factories import BuyerFactory, MembershipFactory
from tests.insurance.notification_support import (
    AS_OF,
    chinese_buyer,
    covered_invoice,
    policy_with_terms,
)
from tests.insurance.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def notification(tenant_a):
    with active(tenant_a):
        policy = policy_with_terms(tenant_a)
        buyer = chinese_buyer(tenant_a)
        covered_invoice(policy, buyer, due_days_ago=95, number="=HYPERLINK(1)")  # cover lost
        covered_invoice(policy, buyer, due_days_ago=50, number="INV-2027-0042")
        services.overdue_notifications_propose(tenant=tenant_a, as_of=AS_OF)
        return OverdueNotification.objects.get()


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user


# --- Pages --------------------------------------------------------------------------------------


def test_the_pages_show_the_notification_with_its_lost_cover(client, owner, notification):
    client.force_login(owner)
    for url in (
        reverse("insurance:notifications", args=[notification.policy_id]),
        reverse("insurance:notifications-all"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "上海华东贸易有限公司" in response.content.decode()
    detail = client.get(reverse("insurance:notification-detail", args=[notification.pk]))
    text = detail.content.decode()
    assert detail.status_code == 200
    assert "INV-2027-0042" in text and "Cover lost" in text
    assert reverse("insurance:notification-pdf", args=[notification.pk]) in text


def test_a_member_reviews_and_sends_from_the_page(client, owner, notification):
    client.force_login(owner)
    review = client.post(reverse("insurance:notification-review", args=[notification.pk]), {})
    assert review.status_code == 302
    send = client.post(
        reverse("insurance:notification-send", args=[notification.pk]),
        {"sent_on": AS_OF.isoformat(), "insurer_reference": "TL-1"},
    )
    assert send.status_code == 302
    notification.refresh_from_db()
    assert notification.status == "sent"
    again = client.post(reverse("insurance:notification-withdraw", args=[notification.pk]), {})
    assert again.status_code == 302  # refused with a message, state unchanged
    notification.refresh_from_db()
    assert notification.status == "sent"


def test_a_bad_extension_date_is_a_form_error(client, owner, tenant_a, notification):
    client.force_login(owner)
    response = client.post(
        reverse("insurance:notification-extension", args=[notification.pk]),
        {"kind": "extension", "requested_until": (AS_OF - timedelta(days=200)).isoformat()},
    )
    assert response.status_code == 400
    with active(tenant_a):
        assert not notification.extensions.exists()


def test_a_viewer_reads_but_cannot_act(client, viewer, notification):
    client.force_login(viewer)
    detail = reverse("insurance:notification-detail", args=[notification.pk])
    assert client.get(detail).status_code == 200
    for name in ("notification-review", "notification-send", "notification-withdraw"):
        assert (
            client.post(reverse(f"insurance:{name}", args=[notification.pk]), {}).status_code == 403
        )


PAGES = ["notification-detail", "notification-pdf", "notification-csv"]


@pytest.mark.parametrize("name", PAGES)
def test_an_outsider_gets_404_on_every_page(client, outsider, notification, name):
    client.force_login(outsider)
    assert client.get(reverse(f"insurance:{name}", args=[notification.pk])).status_code == 404


def test_an_outsider_gets_404_on_the_policy_list_and_on_actions(client, outsider, notification):
    client.force_login(outsider)
    url = reverse("insurance:notifications", args=[notification.policy_id])
    assert client.get(url).status_code == 404
    review = reverse("insurance:notification-review", args=[notification.pk])
    assert client.post(review, {}).status_code == 404


# --- Documents ----------------------------------------------------------------------------------


def test_the_pdf_reads_in_english_and_in_chinese(client, owner, notification):
    client.force_login(owner)
    url = reverse("insurance:notification-pdf", args=[notification.pk])
    english = client.get(url, {"lang": "en"})
    assert english["Content-Type"] == "application/pdf"
    text = pdf_text(english.content)
    assert "上海华东贸易有限公司" in text
    assert "Notification of overdue account" in text
    assert "TCI-518233" in text and "Allianz Trade" in text and "Tenant A Ltd" in text
    assert "INV-2027-0042" in text and "91310000MA1FL0XX1" in text
    assert "cover lost" in text
    chinese = pdf_text(client.get(url, {"lang": "zh-hans"}).content)
    assert "上海华东贸易有限公司" in chinese and "浦东新区世纪大道" in chinese
    assert "买方" in chinese and "到期日" in chinese  # labels in Chinese ("Buyer", "Due date")
    assert "INV-2027-0042" in chinese


def test_the_csv_has_the_invoice_columns_with_formulas_escaped(client, owner, notification):
    client.force_login(owner)
    response = client.get(reverse("insurance:notification-csv", args=[notification.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Policy number", "Insurer", "Buyer"]
    assert [row[6] for row in rows[1:]] == ["'=HYPERLINK(1)", "INV-2027-0042"]
    assert rows[1][2] == "上海华东贸易有限公司"
    assert [row[11] for row in rows[1:]] == ["95", "50"]
    assert [row[13] for row in rows[1:]] == ["yes", "no"]


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_filters_and_details(client, api_key_a, notification):
    key = bearer(api_key_a[1])
    listed = client.get("/api/v1/overdue-notifications/", {"status": "proposed"}, headers=key)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [notification.pk]
    bad = client.get("/api/v1/overdue-notifications/", {"status": "nonsense"}, headers=key)
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    detail = client.get(f"/api/v1/overdue-notifications/{notification.pk}/", headers=key).json()
    assert [item["cover_lost"] for item in detail["items"]] == [True, False]
    assert detail["buyer"]["legal_name"] == "上海华东贸易有限公司"
    assert detail["deadline_missed"] is True


def test_the_api_workflow_answers_409_on_a_forbidden_step(client, api_key_a, notification):
    key = bearer(api_key_a[1])
    base = f"/api/v1/overdue-notifications/{notification.pk}"
    early = client.post(
        f"{base}/send/",
        {"sent_on": AS_OF.isoformat()},
        content_type="application/json",
        headers=key,
    )
    assert early.status_code == 409 and early["Content-Type"] == "application/problem+json"
    assert (
        client.post(f"{base}/review/", {}, content_type="application/json", headers=key).status_code
        == 200
    )
    invalid = client.post(
        f"{base}/send/", {"sent_on": "soon"}, content_type="application/json", headers=key
    )
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["field"] == "sent_on"
    sent = client.post(
        f"{base}/send/",
        {"sent_on": AS_OF.isoformat()},
        content_type="application/json",
        headers=key,
    )
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    extension = client.post(
        f"{base}/extension-requests/",
        {"kind": "extension", "requested_until": (AS_OF + timedelta(days=5)).isoformat()},
        content_type="application/json",
        headers=key,
    )
    assert extension.status_code == 400  # beyond the maximum without saying so
    assert extension.json()["errors"][0]["field"] == "requested_until"
    extension = client.post(
        f"{base}/extension-requests/",
        {"kind": "extension", "requested_until": (AS_OF + timedelta(days=5)).isoformat(),
         "beyond_maximum": True},
        content_type="application/json",
        headers=key,
    )  # fmt: skip
    assert extension.status_code == 200
    request_id = extension.json()["extension_requests"][0]["id"]
    decided = client.post(
        f"/api/v1/extension-requests/{request_id}/decision/",
        {"decision": "granted", "decided_on": AS_OF.isoformat()},
        content_type="application/json",
        headers=key,
    )
    assert decided.json()["extension_requests"][0]["status"] == "granted"
    pdf = client.get(f"{base}/pdf", {"lang": "zh-hans"}, headers=key)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"{base}/csv", headers=key).status_code == 200


def test_the_api_hides_other_tenants_notifications(client, api_key_b, notification):
    key = bearer(api_key_b[1])
    base = f"/api/v1/overdue-notifications/{notification.pk}"
    assert client.get("/api/v1/overdue-notifications/", headers=key).json()["results"] == []
    for url in (f"{base}/", f"{base}/pdf", f"{base}/csv"):
        assert client.get(url, headers=key).status_code == 404
    review = client.post(f"{base}/review/", {}, content_type="application/json", headers=key)
    assert review.status_code == 404


def test_a_viewer_cannot_write_through_the_api(client, viewer, notification):
    client.force_login(viewer)
    base = f"/api/v1/overdue-notifications/{notification.pk}"
    assert client.get(f"{base}/").status_code == 200
    assert client.post(f"{base}/review/", {}, content_type="application/json").status_code == 403


def test_notifications_of_two_buyers_are_separate(tenant_a, notification):
    with active(tenant_a):
        other = BuyerFactory(tenant=tenant_a)
        covered_invoice(notification.policy, other, due_days_ago=55)
        assert services.overdue_notifications_propose(tenant=tenant_a, as_of=AS_OF) == 1
        assert OverdueNotification.objects.count() == 2
