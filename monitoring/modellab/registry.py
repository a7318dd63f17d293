"""Which model scores a tenant's buyers: the one place that decides.

A tenant scores with its *active* scorecard (`ScoringModel`, status active) when it has one,
otherwise with the built-in model (`monitoring.scoring`, version `scoring.MODEL_VERSION`). The
probabilities of default come from the active PD calibration of that model version
(`monitoring.calibration.pd_table`) when the tenant has calibrated it, otherwise from the
model's own table. Every official scoring path (the monthly and "rescore now" runs, event
re-scores, the history back-fill) calls `score_for_tenant`, so every score names the model
that made it.

A model in *shadow* mode scores the same buyers beside the official one (`shadow_model`,
`score_with`); its scores go to `ModelScore`, never to `BuyerScore`, so nothing official —
grades, limits, alerts — depends on it.

Everything here runs with the tenant active (the request's or the task's transaction); the
look-ups go through the tenant-scoped managers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd
from django.db import connection
from django.db.models import Max

from .. import scoring
from ..calibration.selectors import pd_table
from ..models import ModelScore, ScoringModel
from .scorecard import score_with_spec


def active_model() -> ScoringModel | None:
    """The current tenant's active scorecard; None when it scores with the built-in model."""
    return ScoringModel.objects.filter(status=ScoringModel.Status.ACTIVE).first()


def shadow_model() -> ScoringModel | None:
    """The current tenant's scorecard in shadow mode, if any."""
    return ScoringModel.objects.filter(status=ScoringModel.Status.SHADOW).first()


def official_version() -> str:
    """The model version the current tenant's official scores are made with now."""
    model = active_model()
    return model.version if model is not None else scoring.MODEL_VERSION


def score_with(model: ScoringModel | None, risk_frame: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Score ``risk_frame`` (`monitoring.rescoring.buyer_risk_frame`) with ``model`` (None: the
    built-in model), PDs from the active calibration of its version when there is one.
    Returns (model version, the columns of `scoring.score_frame`, same index)."""
    if model is None:
        version = scoring.MODEL_VERSION
        return version, scoring.score_frame(risk_frame, pd_by_grade=pd_table(version))
    return model.version, score_with_spec(
        model.spec, risk_frame, pd_by_grade=pd_table(model.version)
    )


def score_for_tenant(risk_frame: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The official scores of ``risk_frame``'s buyers: (model version, scored) by the current
    tenant's active model, or by the built-in one."""
    return score_with(active_model(), risk_frame)


# --- What the model lab shows about it -----------------------------------------------------------

GRADES = range(1, 11)


@dataclass(frozen=True)
class ShadowComparison:
    """A shadow model's grades against the official ones of the same buyers and period."""

    period: date
    buyers: int  # buyers with both an official and a shadow score
    official: list[int]  # buyers per grade 1…10, official scores
    shadow: list[int]  # buyers per grade 1…10, shadow scores
    matrix: list[list[int]]  # [official grade − 1][shadow grade − 1] → buyers
    same: int  # the same grade
    one_apart: int  # one grade apart
    further: int  # two grades or more apart

    def share(self, count: int) -> Decimal | None:
        return Decimal(count) / Decimal(self.buyers) if self.buyers else None

    @property
    def rows(self) -> list[tuple[int, list[int], int]]:
        """(official grade, buyers per shadow grade, buyers with that official grade)."""
        return list(zip(GRADES, self.matrix, self.official, strict=True))

    @property
    def same_share(self) -> Decimal | None:
        return self.share(self.same)

    @property
    def one_apart_share(self) -> Decimal | None:
        return self.share(self.one_apart)

    @property
    def further_share(self) -> Decimal | None:
        return self.share(self.further)


def grade_comparison(period: date, pairs: Mapping[tuple[int, int], int]) -> ShadowComparison:
    """Pure: the comparison of (official grade, shadow grade) → buyers."""
    matrix = [[0] * len(GRADES) for _grade in GRADES]
    same = one_apart = further = 0
    for (official, shadow), buyers in pairs.items():
        matrix[official - 1][shadow - 1] += buyers
        distance = abs(official - shadow)
        if distance == 0:
            same += buyers
        elif distance == 1:
            one_apart += buyers
        else:
            further += buyers
    return ShadowComparison(
        period=period,
        buyers=same + one_apart + further,
        official=[sum(row) for row in matrix],
        shadow=[sum(row[column] for row in matrix) for column in range(len(GRADES))],
        matrix=matrix,
        same=same,
        one_apart=one_apart,
        further=further,
    )


_SHADOW_PAIRS_SQL = """
SELECT o.grade, m.grade, COUNT(*)
FROM monitoring_modelscore m
JOIN monitoring_buyerscore o
  ON o.tenant_id = m.tenant_id AND o.buyer_id = m.buyer_id AND o.period = m.period
WHERE m.tenant_id = %(tenant_id)s AND m.model_id = %(model_id)s AND m.period = %(period)s
GROUP BY 1, 2
"""


def shadow_comparison(model: ScoringModel) -> ShadowComparison | None:
    """``model``'s shadow grades of its latest shadow period against the official grades of
    the same buyers and period; None when it has no shadow scores."""
    period = ModelScore.objects.filter(model=model).aggregate(latest=Max("period"))["latest"]
    if period is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _SHADOW_PAIRS_SQL,
            {"tenant_id": model.tenant_id, "model_id": model.pk, "period": period},
        )
        pairs = {(official, shadow): count for official, shadow, count in cursor.fetchall()}
    return grade_comparison(period, pairs)


def model_ids_by_version(versions: Iterable[str]) -> dict[str, int]:
    """The current tenant's model id of each of ``versions`` that is a trained scorecard (the
    built-in version has none)."""
    return dict(ScoringModel.objects.filter(version__in=set(versions)).values_list("version", "pk"))
