from datetime import date, timedelta

import pytest

from buyers.models import Buyer
from creditguard.audit.models import AuditEvent
from monitoring.models import LegalEvent
from tests.conftest import active, bearer
from tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(tenant_a):
    with active(tenant_a):
        return BuyerFactory(tenant=tenant_a, erp_reference="C-1")


def test_an_insolvency_filing_is_recorded_and_marks_the_buyer_insolvent(
    client, api_key_a, buyer, tenant_a
):
    response = client.post(
        "/api/v1/legal-events/",
        {
            "buyer_erp_reference": "C-1",
            "kind": "insolvency_filing",
            "event_date": date.today().isoformat(),
            "source": "court register",
        },
        content_type="application/json",
        headers=bearer(api_key_a[1]),
    )

    assert response.status_code == 201, response.content
    with active(tenant_a):
        assert Buyer.objects.get(pk=buyer.pk).status == Buyer.Status.INSOLVENT
        assert AuditEvent.objects.filter(action="legal_event.record").count() == 1


def test_a_future_event_or_unknown_kind_is_refused(client, api_key_a, buyer, tenant_a):
    future = client.post(
        "/api/v1/legal-events/",
        {
            "buyer_erp_reference": "C-1",
            "kind": "court_judgment",
            "event_date": (date.today() + timedelta(days=3)).isoformat(),
        },
        content_type="application/json",
        headers=bearer(api_key_a[1]),
    )
    unknown = client.post(
        "/api/v1/legal-events/",
        {"buyer_erp_reference": "C-1", "kind": "rumour", "event_date": date.today().isoformat()},
        content_type="application/json",
        headers=bearer(api_key_a[1]),
    )

    assert [e["field"] for e in future.json()["errors"]] == ["event_date"]
    assert [e["field"] for e in unknown.json()["errors"]] == ["kind"]
    with active(tenant_a):
        assert not LegalEvent.objects.exists()


def test_another_tenants_key_cannot_record_or_see_events_of_a_buyer(
    client, api_key_b, buyer, tenant_a
):
    response = client.post(
        "/api/v1/legal-events/",
        {"buyer_erp_reference": "C-1", "kind": "tax_lien", "event_date": date.today().isoformat()},
        content_type="application/json",
        headers=bearer(api_key_b[1]),
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "buyer_erp_reference"
    assert client.get("/api/v1/legal-events/", headers=bearer(api_key_b[1])).json()["results"] == []
