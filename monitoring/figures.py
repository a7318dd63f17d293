"""Monitoring's columns of `buyers.BuyerFigures`: the current score and the open alerts
(registered in `MonitoringConfig.ready`; buyers never imports monitoring)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, F, IntegerField
from django.db.models.functions import Cast

from buyers.figures import FigureContext, SourceRows

from .models import Alert, BuyerScore


def figures_from_monitoring(context: FigureContext, buyer_ids: Sequence[int]) -> list[SourceRows]:
    """The latest score of each buyer (the latest period, as `selectors.current_scores`) and
    its open alert count."""
    scores = (
        BuyerScore.unscoped.filter(tenant=context.tenant, buyer_id__in=buyer_ids)
        .order_by("buyer_id", "-period", "-computed_at")
        .distinct("buyer_id")
        .values(
            "buyer_id",
            "grade",
            "model_version",
            whole_score=Cast("score", IntegerField()),
            pd=F("probability_of_default"),
        )
    )
    alerts = (
        Alert.unscoped.filter(
            tenant=context.tenant, buyer_id__in=buyer_ids, status=Alert.Status.OPEN
        )
        .values("buyer_id")
        .annotate(open_alerts=Count("id"))
        .order_by()
    )
    return [
        SourceRows(scores, defaults={"model_version": ""}, renames={"whole_score": "score"}),
        SourceRows(alerts, defaults={"open_alerts": 0}),
    ]
