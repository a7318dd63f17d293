"""Credit policy versions, limits and insurer cover through the API."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from creditguard.audit.models import AuditEvent
from policies.models import CreditPolicy, InsurerCover
from tests.conftest import active, bearer
from tests.factories import CreditLimitFactory, InsurerCoverFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
NEW_POLICY = {
    "effective_from": TOMORROW,
    "four_eyes_threshold": "300000",
    "lowest_acceptable_grade": 7,
    "overdue_hold_days": 45,
    "overdue_hold_amount": "2500",
    "limit_without_financials": "40000",
    "bands": [
        {"grade_from": 1, "grade_to": 5, "max_payment_terms_days": 90, "max_limit": "900000"},
        {"grade_from": 6, "grade_to": 10, "max_payment_terms_days": 30, "max_limit": "20000",
         "approval_level": "four_eyes"},
    ],
}  # fmt: skip
COVER = {
    "buyer_erp_reference": "C-1",
    "insurer": "Allianz Trade",
    "amount": "200000.00",
    "currency": "EUR",
    "decision_date": "2026-10-14",
}


def post(client, url, body, headers=None):
    return client.post(url, body, content_type="application/json", headers=headers or {})


# --- Credit policy ---------------------------------------------------------------------------


def test_an_administrator_creates_a_new_version_effective_later(client, owner, tenant_a, policy):
    client.force_login(owner)

    response = post(client, "/api/v1/credit-policies/", NEW_POLICY)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["effective_from"]) == (policy.version + 1, TOMORROW)
    assert [band["grade_to"] for band in body["bands"]] == [5, 10]
    # Today the earlier version is still the one in force.
    current = client.get("/api/v1/credit-policies/current/").json()
    assert current["id"] == policy.pk
    with active(tenant_a):
        assert AuditEvent.objects.filter(action="credit_policy.create").exists()


def test_bands_with_a_gap_are_refused(client, owner, tenant_a):
    client.force_login(owner)
    gap = {**NEW_POLICY, "bands": NEW_POLICY["bands"][:1]}

    response = post(client, "/api/v1/credit-policies/", gap)

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["bands"]
    with active(tenant_a):
        assert not CreditPolicy.objects.exists()


def test_a_version_cannot_take_effect_in_the_past(client, owner):
    client.force_login(owner)

    response = post(
        client, "/api/v1/credit-policies/", {**NEW_POLICY, "effective_from": "2020-01-01"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "effective_from"


def test_only_administrators_and_never_api_keys_change_the_policy(client, teammate, api_key_a):
    client.force_login(teammate)
    as_analyst = post(client, "/api/v1/credit-policies/", NEW_POLICY)
    client.logout()
    as_key = post(client, "/api/v1/credit-policies/", NEW_POLICY, bearer(api_key_a[1]))

    assert as_analyst.status_code == as_key.status_code == 403


def test_an_erp_reads_the_policy_versions(client, api_key_a, policy):
    body = client.get("/api/v1/credit-policies/", headers=bearer(api_key_a[1])).json()

    assert [row["version"] for row in body["results"]] == [policy.version]
    assert len(body["results"][0]["bands"]) == 3


def test_without_a_policy_the_current_one_is_not_found(client, api_key_a):
    response = client.get("/api/v1/credit-policies/current/", headers=bearer(api_key_a[1]))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# --- Limits ----------------------------------------------------------------------------------


def test_a_limit_shows_exposure_utilisation_and_cover_side_by_side(
    client, api_key_a, tenant_a, buyer
):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, amount=Decimal("100000"))
        InvoiceFactory(buyer=buyer, amount=Decimal("125000"))
        InsurerCoverFactory(buyer=buyer, amount=Decimal("80000"))

    body = client.get("/api/v1/limits/by-buyer/C-1/", headers=bearer(api_key_a[1])).json()

    assert (body["amount"], body["exposure"], body["insurer_cover"]) == (
        "100000.00",
        "125000.00",
        "80000.00",
    )
    assert (body["utilisation"], body["available"], body["over_limit"], body["blocked"]) == (
        "1.2500",
        "0.00",
        True,
        False,
    )


def test_the_limit_list_filters_by_status(client, api_key_a, tenant_a, buyer):
    with active(tenant_a):
        CreditLimitFactory(buyer=buyer, status="blocked", blocked_reason="fraud")

    blocked = client.get("/api/v1/limits/?status=blocked", headers=bearer(api_key_a[1])).json()
    active_ = client.get("/api/v1/limits/?status=active", headers=bearer(api_key_a[1])).json()

    assert [row["blocked"] for row in blocked["results"]] == [True]
    assert active_["results"] == []


def test_another_tenants_limit_and_cover_are_not_found(client, tenant_a, buyer, api_key_b):
    with active(tenant_a):
        limit = CreditLimitFactory(buyer=buyer)
        cover = InsurerCoverFactory(buyer=buyer)
    headers = bearer(api_key_b[1])

    responses = [
        client.get(f"/api/v1/limits/{limit.pk}/", headers=headers),
        client.get("/api/v1/limits/by-buyer/C-1/", headers=headers),
        client.get(f"/api/v1/insurer-covers/{cover.pk}/", headers=headers),
        client.patch(
            f"/api/v1/insurer-covers/{cover.pk}/",
            {"amount": "1"},
            content_type="application/json",
            headers=headers,
        ),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    assert client.get("/api/v1/limits/", headers=headers).json()["results"] == []
    assert client.get("/api/v1/insurer-covers/", headers=headers).json()["results"] == []
    with active(tenant_a):
        assert InsurerCover.objects.get().amount == Decimal("100000.00")


# --- Insurer cover ---------------------------------------------------------------------------


def test_an_erp_records_an_insurer_decision_and_its_reduction_is_kept_in_history(
    client, api_key_a, tenant_a, buyer
):
    headers = bearer(api_key_a[1])

    created = post(client, "/api/v1/insurer-covers/", COVER, headers)
    reduced = client.patch(
        f"/api/v1/insurer-covers/{created.json()['id']}/",
        {"amount": "120000", "status": "reduced", "decision_date": "2026-11-20"},
        content_type="application/json",
        headers=headers,
    )

    assert created.status_code == 201, created.content
    assert reduced.status_code == 200, reduced.content
    assert (reduced.json()["amount"], reduced.json()["status"]) == ("120000.00", "reduced")
    with active(tenant_a):
        update = AuditEvent.objects.get(action="insurer_cover.update")
        assert update.before == {
            "amount": "200000.00",
            "status": "granted",
            "decision_date": "2026-10-14",
        }


def test_a_second_cover_by_the_same_insurer_and_bad_input_are_refused(client, api_key_a, buyer):
    headers = bearer(api_key_a[1])
    post(client, "/api/v1/insurer-covers/", COVER, headers)

    duplicate = post(
        client, "/api/v1/insurer-covers/", {**COVER, "insurer": "allianz trade"}, headers
    )
    invalid = post(
        client,
        "/api/v1/insurer-covers/",
        {**COVER, "insurer": "Coface", "currency": "euro", "expiry_date": "2020-01-01"},
        headers,
    )

    assert duplicate.status_code == invalid.status_code == 400
    assert duplicate.json()["errors"][0]["field"] == "insurer"
    assert {error["field"] for error in invalid.json()["errors"]} >= {"currency"}


def test_a_cover_currency_is_taken_in_any_case_and_stored_upper_case(
    client, api_key_a, tenant_a, buyer
):
    response = post(
        client, "/api/v1/insurer-covers/", {**COVER, "currency": "eur"}, bearer(api_key_a[1])
    )

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "EUR"
    with active(tenant_a):
        assert InsurerCover.objects.get().currency == "EUR"


def test_a_viewer_cannot_record_cover(client, viewer, buyer):
    client.force_login(viewer)

    response = post(client, "/api/v1/insurer-covers/", COVER)

    assert response.status_code == 403
