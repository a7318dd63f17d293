from datetime import date, timedelta
from decimal import Decimal

import pytest

from monitoring.alerts import evaluate_alerts
from monitoring.models import Alert
from tests.conftest import active
from tests.factories import BuyerFactory, CreditLimitFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_exposure_above_the_active_limit_raises_one_high_alert(tenant_a):
    today = date.today()
    with active(tenant_a):
        over = BuyerFactory(tenant=tenant_a)
        within = BuyerFactory(tenant=tenant_a)
        for buyer, limit in ((over, "1500"), (within, "5000")):
            CreditLimitFactory(tenant=tenant_a, buyer=buyer, amount=Decimal(limit), currency="EUR")
            InvoiceFactory(tenant=tenant_a, buyer=buyer, amount=Decimal("1000"))
            InvoiceFactory(tenant=tenant_a, buyer=buyer, amount=Decimal("1000"))

        raised = evaluate_alerts(
            tenant=tenant_a, buyer_ids=[over.pk, within.pk], period=today.replace(day=1)
        )
        again = evaluate_alerts(
            tenant=tenant_a, buyer_ids=[over.pk, within.pk], period=today.replace(day=1)
        )

        alert = Alert.objects.get(rule="over_limit")
        assert (raised, again) == (1, 0)
        assert (alert.buyer_id, alert.severity) == (over.pk, "high")
        assert alert.evidence["exposure"] == "2000.00" and alert.evidence["limit"] == "1500.00"


def test_a_blocked_or_missing_limit_raises_nothing(tenant_a):
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        CreditLimitFactory(tenant=tenant_a, buyer=buyer, amount=Decimal("10"), status="blocked")
        InvoiceFactory(
            tenant=tenant_a,
            buyer=buyer,
            amount=Decimal("1000"),
            issue_date=date.today() - timedelta(days=5),
            due_date=date.today() + timedelta(days=25),
        )

        assert (
            evaluate_alerts(
                tenant=tenant_a, buyer_ids=[buyer.pk], period=date.today().replace(day=1)
            )
            == 0
        )
