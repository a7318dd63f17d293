"""Calibrating a model's PD per grade on the tenant's own defaults, and rolling back.

`calibrate` counts the back-test observations of a model version (its scores with a known
12-month outcome, `monitoring.backtest.outcome`; defaults are those of
`monitoring.selectors.default_dates`) per grade, calibrates them against the model's own PD
table with `monitoring.calibration.maths.calibrate_grades` (the documented prior), stores the
result as the next version and makes it the active one. The active version gives the PDs of
that model's scores from then on (`pd_table`, read by the scoring paths) and replaces the PDs
of the current period's scores at once, so the dashboard and the credit files show them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils.translation import gettext as _

from creditguard.audit.services import audit_record
from creditguard.dates import today
from creditguard.tenancy.models import Tenant
from monitoring import scoring
from monitoring import selectors as monitoring_selectors
from monitoring.models import BuyerScore, ModelScore, PdCalibration

from .maths import DEFAULT_PRIOR_STRENGTH, GradeCalibration, calibrate_grades, pd_decimals
from .selectors import prior_pd_table

if TYPE_CHECKING:
    from creditguard.audit.services import Actor

MIN_PRIOR_STRENGTH = Decimal("1")
MAX_PRIOR_STRENGTH = Decimal("100000")
_EVIDENCE_PLACES = Decimal("0.00001")
# First key of the advisory lock that serialises a tenant's calibrations ("PDCA").
_LOCK_NAMESPACE = 0x50444341


@transaction.atomic
def calibrate(
    *,
    tenant: Tenant,
    actor: Actor,
    model_version: str,
    first_period: date | None = None,
    last_period: date | None = None,
    prior_strength: Decimal | float | None = None,
) -> PdCalibration:
    """Calibrate ``model_version``'s PD per grade on the scores of the periods in the window
    (both included; default all) and make it the active version. Call with the tenant active;
    the permission check is the caller's. Refuses (ValidationError) a window that ends before
    it starts, a prior strength out of range, and a window without any known outcome."""
    strength = _prior_strength(prior_strength)
    first = first_period.replace(day=1) if first_period else None
    last = last_period.replace(day=1) if last_period else None
    if first and last and first > last:
        raise ValidationError({"last_period": _("The last month is before the first month.")})
    _lock(tenant, model_version)

    reports = monitoring_selectors.backtest_reports(
        model_version=model_version, first_period=first, last_period=last
    )
    report = reports[0] if reports else None
    if report is None or not report.observations:
        raise ValidationError(
            {
                "model_version": _(
                    "No score of model %(version)s in this window has a known outcome yet: "
                    "a score counts once its 12-month window is over or the buyer defaulted "
                    "within it. Score the history month by month on the back-test page first."
                )
                % {"version": model_version}
            }
        )
    prior = prior_pd_table(model_version)
    calibrated = calibrate_grades(
        {row.grade: (row.observations, row.defaults) for row in report.by_grade},
        {grade: float(value) for grade, value in prior.items()},
        float(strength),
    )
    table = pd_decimals(calibrated)
    previous = PdCalibration.objects.filter(model_version=model_version, active=True).first()
    PdCalibration.objects.filter(model_version=model_version, active=True).update(active=False)
    latest = (
        PdCalibration.objects.filter(model_version=model_version)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    assert report.first_period is not None and report.last_period is not None
    calibration: PdCalibration = PdCalibration.objects.create(
        tenant=tenant,
        model_version=model_version,
        version=(latest or 0) + 1,
        active=True,
        pd_by_grade={str(grade): str(value) for grade, value in table.items()},
        evidence=[_evidence(row) for _grade, row in sorted(calibrated.items())],
        prior_strength=strength,
        window_from=first or report.first_period,
        window_to=last or report.last_period,
        observations=report.observations,
        defaults=report.defaults,
        created_by=actor if isinstance(actor, User) else None,
    )
    updated = _apply_to_current_scores(model_version, table)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="monitoring.calibrate",
        obj=calibration,
        before={"active_version": previous.version if previous else None},
        after={
            "model_version": model_version,
            "version": calibration.version,
            "window_from": calibration.window_from,
            "window_to": calibration.window_to,
            "prior_strength": strength,
            "observations": calibration.observations,
            "defaults": calibration.defaults,
            "pd_by_grade": calibration.pd_by_grade,
            "scores_updated": updated,
        },
    )
    return calibration


@transaction.atomic
def calibration_activate(
    *, tenant: Tenant, actor: Actor, calibration: PdCalibration
) -> PdCalibration:
    """Make ``calibration`` (e.g. an older version, to roll back) the active one of its model
    version and give its PDs to the current period's scores. Activating the active one changes
    nothing and records nothing."""
    _lock(tenant, calibration.model_version)
    calibration.refresh_from_db()
    if calibration.active:
        return calibration
    previous = PdCalibration.objects.filter(
        model_version=calibration.model_version, active=True
    ).first()
    PdCalibration.objects.filter(model_version=calibration.model_version, active=True).update(
        active=False
    )
    calibration.active = True
    calibration.save(update_fields=["active"])
    table = {int(grade): Decimal(value) for grade, value in calibration.pd_by_grade.items()}
    updated = _apply_to_current_scores(calibration.model_version, table)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="monitoring.calibration_activate",
        obj=calibration,
        before={"active_version": previous.version if previous else None},
        after={
            "model_version": calibration.model_version,
            "active_version": calibration.version,
            "scores_updated": updated,
        },
    )
    return calibration


def _prior_strength(value: Decimal | float | None) -> Decimal:
    if value is None:
        return Decimal(str(DEFAULT_PRIOR_STRENGTH)).quantize(Decimal("0.01"))
    strength = Decimal(str(value)).quantize(Decimal("0.01"))
    if not MIN_PRIOR_STRENGTH <= strength <= MAX_PRIOR_STRENGTH:
        raise ValidationError(
            {
                "prior_strength": _(
                    "The prior strength is a number of observations from %(min)s to %(max)s."
                )
                % {"min": MIN_PRIOR_STRENGTH, "max": MAX_PRIOR_STRENGTH}
            }
        )
    return strength


def _lock(tenant: Tenant, model_version: str) -> None:
    """Serialise calibrations of one tenant (the version numbers and the one active row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, tenant.pk & 0x7FFFFFFF]
        )


def _apply_to_current_scores(model_version: str, table: dict[int, Decimal]) -> int:
    """Give the current period's scores of ``model_version`` (official and shadow) the PD of
    their grade, set-based; a buyer in default keeps its PD of 100 % (the insolvency override,
    a scoring rule). Returns the scores changed."""
    # Imported here: rescoring reads the active calibration through the scoring registry.
    from monitoring.rescoring import period_of

    period = period_of(today())
    by_grade = Case(
        *(When(grade=grade, then=Value(value)) for grade, value in table.items()),
        default=F("probability_of_default"),
    )
    changed = 0
    for scores in (
        BuyerScore.objects.filter(model_version=model_version, period=period),
        ModelScore.objects.filter(model__version=model_version, period=period),
    ):
        changed += scores.exclude(probability_of_default=scoring.PD_DEFAULTED).update(
            probability_of_default=by_grade
        )
    return changed


def _evidence(row: GradeCalibration) -> dict[str, Any]:
    """One grade of `PdCalibration.evidence`: counts, and rates as decimal strings."""

    def rate(value: float | None) -> str | None:
        return None if value is None else str(Decimal(repr(value)).quantize(_EVIDENCE_PLACES))

    return {
        "grade": row.grade,
        "observations": row.observations,
        "defaults": row.defaults,
        "observed_rate": rate(row.observed_rate),
        "prior_pd": rate(row.prior_pd),
        "pd": rate(row.pd),
        "low": rate(row.low),
        "high": rate(row.high),
    }
