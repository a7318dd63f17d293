"""A payment plan whose instalment silently goes unpaid past its grace period is broken
wherever it is read: the score drops, the alert is raised, the API says so, and the daily
detection re-scores the buyer, although nothing was written since the plan was agreed."""

from datetime import timedelta
from decimal import Decimal

import pytest

from buyers import services
from buyers.api.serializers import PaymentPlanOutput
from buyers.models import PaymentPlan
from buyers.receivables import PAYMENT_PLAN_GRACE_DAYS
from creditguard.dates import today
from monitoring.alerts import evaluate_alerts
from monitoring.models import Alert, BuyerScore
from monitoring.rescoring import (
    buyer_risk_frame,
    buyers_rescore,
    buyers_with_new_overdues,
    period_of,
)
from tests.conftest import active
from tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def silent_plan(tenant_a, owner):
    """A plan agreed long enough ago whose only instalment fell due, unpaid, just past grace."""
    due = today() - timedelta(days=PAYMENT_PLAN_GRACE_DAYS + 1)
    with active(tenant_a):
        buyer = BuyerFactory(tenant=tenant_a)
        plan = services.payment_plan_create(
            tenant=tenant_a, actor=owner, buyer=buyer, erp_reference="PP-SILENT",
            agreed_date=due - timedelta(days=30), currency="EUR",
            instalments=[(due, Decimal("5000.00"))], note="", as_of=due - timedelta(days=30),
        )  # fmt: skip
    return buyer, plan


def _score(tenant, buyer, *, as_of) -> Decimal:
    buyers_rescore(tenant=tenant, buyer_ids=[buyer.pk], reason="test", as_of=as_of)
    return BuyerScore.objects.get(buyer=buyer, period=period_of(as_of)).score


def test_a_missed_instalment_lowers_the_score_through_the_rescoring_path(tenant_a, silent_plan):
    buyer, plan = silent_plan
    with active(tenant_a):
        within_grace = _score(tenant_a, buyer, as_of=today() - timedelta(days=1))
        past_grace = _score(tenant_a, buyer, as_of=today())
        frame = buyer_risk_frame(tenant_id=tenant_a.pk, buyer_ids=[buyer.pk], as_of=today())
        stored = PaymentPlan.objects.get(pk=plan.pk).status

    assert stored == "kept"  # nothing was written since the plan was agreed
    assert frame.loc[buyer.pk, "broken_plans_12m"] == 1
    assert past_grace < within_grace


def test_a_missed_instalment_raises_the_broken_plan_alert_and_the_api_shows_it(
    tenant_a, silent_plan
):
    buyer, plan = silent_plan
    with active(tenant_a):
        raised = evaluate_alerts(
            tenant=tenant_a, buyer_ids=[buyer.pk], period=period_of(today()), as_of=today()
        )
        alert = Alert.objects.get(buyer=buyer)
        shown = PaymentPlanOutput(
            PaymentPlan.objects.prefetch_related("instalments").get(pk=plan.pk)
        ).data

    assert (raised, alert.rule, alert.condition_key) == (
        1,
        "broken_payment_plan",
        f"plan:{plan.pk}",
    )
    assert shown["status"] == "broken"


def test_the_daily_detection_rescores_the_buyer_the_day_the_plan_breaks(tenant_a, silent_plan):
    buyer, _plan = silent_plan
    with active(tenant_a):
        that_day = buyers_with_new_overdues(
            tenant=tenant_a, since=today() - timedelta(days=1), as_of=today()
        )
        next_day = buyers_with_new_overdues(
            tenant=tenant_a, since=today(), as_of=today() + timedelta(days=1)
        )

    assert (that_day, next_day) == ([buyer.pk], [])
