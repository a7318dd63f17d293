"""Demo monitoring data for `manage.py seed_demo`: insolvency and court events for the failing
buyers, and two years of monthly scores, so the score history, alerts and back-testing pages
have realistic content. Idempotent: a tenant that already had its monthly runs is left alone.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db.models import F

from buyers.models import Buyer
from creditguard.accounts.models import Membership
from creditguard.accounts.roles import Role
from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from . import scoring
from .alerts import evaluate_alerts
from .models import Alert, BuyerScore, LegalEvent, PdCalibration, RescoreRun
from .rescoring import period_of, rescore_run_execute
from .services import legal_event_record

HISTORY_MONTHS = 24


def _month_back(period: date, months: int) -> date:
    year, month = divmod(period.year * 12 + period.month - 1 - months, 12)
    return date(year, month + 1, 1)


def seed_demo_monitoring(*, tenant: Tenant, as_of: date) -> bool:
    """Legal events and monthly score history, each once. (Re-scoring tasks that the seeded
    statements triggered may already have scored the current period: that is no marker.)"""
    rng = random.Random(f"creditguard-monitoring-{tenant.slug}")
    with tenant_context(tenant):
        if RescoreRun.objects.filter(trigger=BuyerScore.Trigger.MONTHLY).exists():
            return False
        if not LegalEvent.objects.exists():
            _legal_events(rng, tenant=tenant, as_of=as_of)
        current = period_of(as_of)
        runs = [
            RescoreRun.objects.create(
                tenant=tenant, period=_month_back(current, back), trigger=BuyerScore.Trigger.MONTHLY
            )
            for back in range(HISTORY_MONTHS, -1, -1)
        ]
    for run in runs:
        # Each month is scored as of its own first day, oldest first, as the monthly job would.
        rescore_run_execute(tenant_id=tenant.pk, run_id=run.pk, as_of=min(run.period, as_of))
    return True


def _legal_events(rng: random.Random, *, tenant: Tenant, as_of: date) -> None:
    for buyer in Buyer.objects.filter(status=Buyer.Status.INSOLVENT).order_by("pk"):
        legal_event_record(
            tenant=tenant,
            actor=None,
            buyer=buyer,
            kind=rng.choice(
                [LegalEvent.Kind.INSOLVENCY_FILING, LegalEvent.Kind.INSOLVENCY_PROCEEDINGS]
            ),
            event_date=as_of - timedelta(days=rng.randint(45, 330)),
            source="Insolvency register",
            description="Insolvency proceedings applied for",
        )
    late_payers = (
        Buyer.objects.filter(
            status=Buyer.Status.ACTIVE,
            invoices__due_date__lt=as_of - timedelta(days=120),
            invoices__status="open",
        )
        .distinct()
        .order_by("pk")[:6]
    )
    for buyer in late_payers:
        legal_event_record(
            tenant=tenant,
            actor=None,
            buyer=buyer,
            kind=LegalEvent.Kind.COURT_JUDGMENT,
            event_date=as_of - timedelta(days=rng.randint(5, 120)),
            source="Court register",
            description="Judgment for payment obtained by a supplier",
        )


def refresh_demo_alerts(*, tenant: Tenant, as_of: date, first_seed: bool) -> int:
    """Evaluate the rules once more after the other demo data (credit limits) exists. On the
    first seed, date the demo's alerts as a running monitoring would have raised them: by the
    next daily run after their risk event (otherwise every demo warning would look months
    late). Later runs leave alerts the application raised as they are."""
    with tenant_context(tenant):
        buyer_ids = list(Buyer.objects.values_list("pk", flat=True))
        raised = evaluate_alerts(
            tenant=tenant, buyer_ids=buyer_ids, period=period_of(as_of), as_of=as_of
        )
        if first_seed:
            late = Alert.objects.filter(created_at__gt=F("risk_event_at") + DAILY_RUN_DELAY)
            for alert in late:
                delay = DAILY_RUN_DELAY * random.Random(alert.pk).uniform(0.15, 1.0)
                Alert.objects.filter(pk=alert.pk).update(created_at=alert.risk_event_at + delay)
        return raised


# A daily evaluation raises an alert within this long of its risk event.
DAILY_RUN_DELAY = timedelta(hours=30)


def seed_demo_calibration(*, tenant: Tenant) -> PdCalibration | None:
    """Calibrate the built-in model's PDs on the tenant's score history once (the calibration
    page shows its evidence). None when one exists or no score has a known outcome yet."""
    from django.core.exceptions import ValidationError

    from .calibration import calibrate

    with tenant_context(tenant):
        if PdCalibration.objects.filter(model_version=scoring.MODEL_VERSION).exists():
            return None
        # Recalibrated by the tenant's first credit manager, as a person would.
        manager = (
            Membership.objects.filter(role=Role.CREDIT_MANAGER)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        try:
            return calibrate(
                tenant=tenant,
                actor=manager.user if manager else None,
                model_version=scoring.MODEL_VERSION,
            )
        except ValidationError:
            return None
