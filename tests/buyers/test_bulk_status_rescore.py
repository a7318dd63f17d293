"""A status change through the bulk API re-scores the buyer, as a single update does."""

from collections.abc import Iterator

import pytest

from buyers.bulk import bulk_upsert
from buyers.models import Buyer
from buyers.signals import buyer_risk_changed
from tests.conftest import active

pytestmark = pytest.mark.django_db


@pytest.fixture
def risk_changes() -> Iterator[list[dict]]:
    """What `buyer_risk_changed` announced (the real signal, a listening receiver)."""
    heard: list[dict] = []

    def listen(sender, **kwargs) -> None:
        heard.append({"buyer_ids": sorted(kwargs["buyer_ids"]), "reason": kwargs["reason"]})

    buyer_risk_changed.connect(listen, dispatch_uid="test.bulk_status")
    yield heard
    buyer_risk_changed.disconnect(dispatch_uid="test.bulk_status")


def _buyer(reference: str, status: str = "active") -> dict:
    return {
        "erp_reference": reference,
        "legal_name": f"Buyer {reference}",
        "country": "DE",
        "nace_code": "46.69",
        "currency": "EUR",
        "status": status,
    }


def test_a_bulk_status_change_asks_for_a_rescore_of_those_buyers_only(tenant_a, risk_changes):
    with active(tenant_a):
        bulk_upsert(
            tenant=tenant_a, actor=None, kind="buyers", records=[_buyer("B-1"), _buyer("B-2")]
        )
        assert risk_changes == []  # new buyers are scored by the run that scores new buyers

        bulk_upsert(
            tenant=tenant_a,
            actor=None,
            kind="buyers",
            records=[_buyer("B-1", status="insolvent"), _buyer("B-2")],
        )
        insolvent = Buyer.objects.get(erp_reference="B-1")

    assert insolvent.status == "insolvent"
    assert risk_changes == [{"buyer_ids": [insolvent.pk], "reason": "status"}]


def test_a_bulk_rewrite_without_a_status_change_asks_for_nothing(tenant_a, risk_changes):
    with active(tenant_a):
        for _round in range(2):
            bulk_upsert(tenant=tenant_a, actor=None, kind="buyers", records=[_buyer("B-1")])

    assert risk_changes == []
