"""Declarations through the pages and the API: the breakdown shown, review and submit, 409 on a
forbidden step, corrections, year close, outsiders get 404 and viewers cannot write."""

from datetime import date

import pytest
from django.urls import reverse

from policies.models import Declaration
from policies.services import declarations as services
from tests.conftest import active, bearer
from tests.factories import MembershipFactory
from tests.insurance.test_declarations_workflow import AS_OF, book  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def january(tenant_a, book):  # noqa: F811
    with active(tenant_a):
        services.declarations_prepare(tenant=tenant_a, as_of=AS_OF)
        return Declaration.objects.order_by("period_start").first()


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user


def test_the_pages_show_the_declarations_and_the_breakdown(client, owner, january):
    client.force_login(owner)
    listing = client.get(reverse("insurance:declarations", args=[january.policy_id]))
    assert listing.status_code == 200
    assert "1 Jan 2026" in listing.content.decode()
    detail = client.get(reverse("insurance:declaration-detail", args=[january.pk]))
    text = detail.content.decode()
    assert detail.status_code == 200
    assert "150,000.00" in text and "275.00" in text and "EU" in text


def test_a_member_reviews_submits_and_corrects_from_the_pages(client, owner, tenant_a, january):
    client.force_login(owner)
    for name in ("declaration-review", "declaration-submit"):
        assert client.post(reverse(f"insurance:{name}", args=[january.pk])).status_code == 302
    again = client.post(reverse("insurance:declaration-submit", args=[january.pk]))
    assert again.status_code == 302  # refused with a message
    bad = client.post(
        reverse("insurance:declaration-adjust", args=[january.pk]), {"amount_change": "x"}
    )
    assert bad.status_code == 400
    good = client.post(
        reverse("insurance:declaration-adjust", args=[january.pk]),
        {"amount_change": "6000", "reason": "Late booking"},
    )
    assert good.status_code == 302
    with active(tenant_a):
        january.refresh_from_db()
        assert january.status == "submitted"
        assert january.adjustments.get().premium_change == 11


def test_a_viewer_reads_but_cannot_act(client, viewer, january):
    client.force_login(viewer)
    assert client.get(reverse("insurance:declaration-detail", args=[january.pk])).status_code == 200
    assert (
        client.post(reverse("insurance:declaration-review", args=[january.pk])).status_code == 403
    )
    close = reverse("insurance:year-close", args=[january.policy_id])
    assert client.post(close, {"year_start": "2026-01-01"}).status_code == 403


def test_an_outsider_gets_404(client, outsider, january):
    client.force_login(outsider)
    assert (
        client.get(reverse("insurance:declarations", args=[january.policy_id])).status_code == 404
    )
    assert client.get(reverse("insurance:declaration-detail", args=[january.pk])).status_code == 404
    assert (
        client.post(reverse("insurance:declaration-review", args=[january.pk])).status_code == 404
    )


def test_the_api_lists_details_and_runs_the_workflow(client, api_key_a, january):
    key = bearer(api_key_a[1])
    listed = client.get("/api/v1/declarations/", {"policy": january.policy_id}, headers=key)
    assert len(listed.json()["results"]) == 3
    assert client.get("/api/v1/declarations/", {"status": "x"}, headers=key).status_code == 400
    detail = client.get(f"/api/v1/declarations/{january.pk}/", headers=key).json()
    assert (detail["declared_amount"], detail["premium"]) == ("150000.00", "275.00")
    assert detail["breakdown"]["by_country"] == {"DE": "100000.00", "FR": "50000.00"}
    base = f"/api/v1/declarations/{january.pk}"
    early = client.post(f"{base}/submit/", headers=key)
    assert early.status_code == 409 and early["Content-Type"] == "application/problem+json"
    assert client.post(f"{base}/review/", headers=key).json()["status"] == "reviewed"
    assert client.post(f"{base}/submit/", headers=key).json()["status"] == "submitted"
    invalid = client.post(
        f"{base}/adjustments/", {"reason": "x"}, content_type="application/json", headers=key
    )
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["field"] == "amount_change"
    adjusted = client.post(
        f"{base}/adjustments/",
        {"amount_change": "0", "premium_change": "-5.00", "reason": "Credit note"},
        content_type="application/json",
        headers=key,
    )
    assert adjusted.status_code == 201 and adjusted.json()["premium_change"] == "-5.00"
    close = client.post(
        f"/api/v1/insurance-policies/{january.policy_id}/year-close/",
        {"year_start": "2026-01-01"},
        content_type="application/json",
        headers=key,
    )
    assert close.status_code == 400  # the year has not ended: periods are missing


def test_the_api_hides_other_tenants_declarations(client, api_key_b, january):
    key = bearer(api_key_b[1])
    assert client.get("/api/v1/declarations/", headers=key).json()["results"] == []
    assert client.get(f"/api/v1/declarations/{january.pk}/", headers=key).status_code == 404
    assert client.post(f"/api/v1/declarations/{january.pk}/review/", headers=key).status_code == 404
    close = client.post(
        f"/api/v1/insurance-policies/{january.policy_id}/year-close/",
        {"year_start": date(2026, 1, 1).isoformat()},
        content_type="application/json",
        headers=key,
    )
    assert close.status_code == 404


def test_a_viewer_cannot_write_through_the_api(client, viewer, january):
    client.force_login(viewer)
    assert client.get(f"/api/v1/declarations/{january.pk}/").status_code == 200
    assert client.post(f"/api/v1/declarations/{january.pk}/review/").status_code == 403
