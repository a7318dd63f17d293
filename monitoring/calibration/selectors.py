"""Reads of PD calibrations: the active table of a model version, the prior it started from,
and the history shown on the calibration page and in the API.

Every read goes through the tenant-scoped managers (and row-level security): with the request's
or the task's tenant active, nothing here can see another tenant's calibration.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db.models import QuerySet

from monitoring import scoring
from monitoring import selectors as monitoring_selectors
from monitoring.models import PdCalibration, ScoringModel


def pd_table(model_version: str) -> dict[int, Decimal] | None:
    """Grade → 12-month PD of the current tenant's active calibration of ``model_version``;
    None when the model version has none (its own table applies).

    One indexed query; deliberately not cached across calls, so a table activated a moment
    ago applies at once and no cache can outlive the tenant it was read for.
    """
    stored = (
        PdCalibration.objects.filter(model_version=model_version, active=True)
        .values_list("pd_by_grade", flat=True)
        .first()
    )
    if not stored:
        return None
    return {int(grade): Decimal(str(value)) for grade, value in stored.items()}


def prior_pd_table(model_version: str) -> dict[int, Decimal]:
    """The model's own PD per grade, the prior of a calibration: a trained scorecard's
    ``spec["pd_by_grade"]``, else (the built-in models, or a spec without one)
    `monitoring.scoring.PD_BY_GRADE`. Grades the spec lacks or gives unusable values for keep
    the built-in PD."""
    table = dict(scoring.PD_BY_GRADE)
    spec = ScoringModel.objects.filter(version=model_version).values_list("spec", flat=True).first()
    given = spec.get("pd_by_grade") if isinstance(spec, dict) else None
    if isinstance(given, dict):
        for grade, value in given.items():
            try:
                grade_number, probability = int(grade), Decimal(str(value))
            except (TypeError, ValueError, InvalidOperation):
                continue
            if grade_number in table and 0 < probability < 1:
                table[grade_number] = probability
    return table


def calibrations(*, model_version: str | None = None) -> QuerySet[PdCalibration]:
    """The tenant's calibrations, by model version and newest version first."""
    rows = PdCalibration.objects.select_related("created_by").order_by("model_version", "-version")
    if model_version:
        rows = rows.filter(model_version=model_version)
    return rows


def calibration_model_versions() -> list[str]:
    """Model versions that can be or have been calibrated: those with scores (most recently
    used first), then those with calibrations only."""
    versions = monitoring_selectors.model_versions()
    calibrated = (
        PdCalibration.objects.order_by("model_version")
        .values_list("model_version", flat=True)
        .distinct()
    )
    return versions + [version for version in calibrated if version not in versions]
