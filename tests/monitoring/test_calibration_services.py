"""Calibrating PDs on the tenant's own defaults (`monitoring.calibration.services`): versions,
one active, the current scores updated, the prior of a trained model, tenant isolation."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from creditguard.audit.models import AuditEvent
from creditguard.dates import today
from monitoring.calibration import calibrate, calibration_activate, pd_table, prior_pd_table
from monitoring.calibration.maths import calibrate_grades, pd_decimals
from monitoring.models import BuyerScore, PdCalibration, ScoringModel
from monitoring.scoring import PD_BY_GRADE, score_frame
from tests.conftest import active
from tests.factories import BuyerFactory, BuyerScoreFactory, LegalEventFactory

pytestmark = pytest.mark.django_db

VERSION = "cg-test"
PERIOD = date(2024, 1, 1)  # long enough ago for every 12-month window to be over


def scored(tenant, *, grade, performers, defaults, version=VERSION, period=PERIOD):
    """Buyers scored ``grade`` for ``period`` as of its first day; ``defaults`` of them go
    insolvent five months later."""
    for number in range(performers + defaults):
        buyer = BuyerFactory(tenant=tenant)
        BuyerScoreFactory(
            buyer=buyer,
            period=period,
            as_of=period,
            grade=grade,
            score=Decimal(50),
            probability_of_default=PD_BY_GRADE[grade],
            model_version=version,
        )
        if number < defaults:
            LegalEventFactory(
                buyer=buyer, kind="insolvency_proceedings", event_date=date(2024, 6, 1)
            )


def current_score(tenant, *, grade, probability, version=VERSION):
    return BuyerScoreFactory(
        buyer=BuyerFactory(tenant=tenant),
        period=today().replace(day=1),
        as_of=today(),
        grade=grade,
        probability_of_default=probability,
        model_version=version,
    )


def test_a_calibration_counts_the_tenants_outcomes_per_grade_and_becomes_active(tenant_a, owner):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=16, defaults=4)
        scored(tenant_a, grade=3, performers=10, defaults=0)

        calibration = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)

        expected = pd_decimals(
            calibrate_grades(
                {6: (20, 4), 3: (10, 0)}, {g: float(p) for g, p in PD_BY_GRADE.items()}, 50
            )
        )
        assert (calibration.version, calibration.active) == (1, True)
        assert (calibration.observations, calibration.defaults) == (30, 4)
        assert (calibration.window_from, calibration.window_to) == (PERIOD, PERIOD)
        assert calibration.prior_strength == Decimal("50.00")
        assert calibration.pd_by_grade == {str(g): str(p) for g, p in expected.items()}
        assert pd_table(VERSION) == expected
        grade_6 = calibration.evidence[5]
        assert grade_6 == {
            "grade": 6,
            "observations": 20,
            "defaults": 4,
            "observed_rate": "0.20000",
            "prior_pd": "0.01600",
            "pd": str(expected[6]),
            "low": grade_6["low"],
            "high": grade_6["high"],
        }
        assert Decimal(grade_6["low"]) < expected[6] < Decimal(grade_6["high"])
        event = AuditEvent.objects.get(action="monitoring.calibrate")
        assert event.object_id == str(calibration.pk)
        assert event.after["version"] == 1 and event.after["defaults"] == 4


def test_each_calibration_is_a_new_version_and_only_the_newest_is_active(tenant_a, owner):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=16, defaults=4)
        first = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
        second = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION, prior_strength=5)

        first.refresh_from_db()
        assert (first.version, first.active) == (1, False)
        assert (second.version, second.active) == (2, True)
        assert second.prior_strength == Decimal("5.00")
        # A weaker prior lets grade 6's 20 % observed rate count for more.
        assert Decimal(second.pd_by_grade["6"]) > Decimal(first.pd_by_grade["6"])
        assert pd_table(VERSION) == {int(g): Decimal(p) for g, p in second.pd_by_grade.items()}


def test_an_older_version_can_be_activated_again(tenant_a, owner):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=16, defaults=4)
        first = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
        calibrate(tenant=tenant_a, actor=owner, model_version=VERSION, prior_strength=5)
        now = current_score(tenant_a, grade=6, probability=Decimal("0.01600"))

        calibration_activate(tenant=tenant_a, actor=owner, calibration=first)

        assert list(
            PdCalibration.objects.filter(active=True).values_list("version", flat=True)
        ) == [1]
        now.refresh_from_db()
        assert now.probability_of_default == Decimal(first.pd_by_grade["6"])
        event = AuditEvent.objects.get(action="monitoring.calibration_activate")
        assert event.before == {"active_version": 2} and event.after["active_version"] == 1


def test_the_current_periods_scores_take_the_calibrated_pds_except_a_buyer_in_default(
    tenant_a, tenant_b, owner
):
    with active(tenant_b):
        b_score = current_score(tenant_b, grade=6, probability=Decimal("0.01600"))
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=16, defaults=4)
        grade_6 = current_score(tenant_a, grade=6, probability=Decimal("0.01600"))
        in_default = current_score(tenant_a, grade=10, probability=Decimal("1.00000"))
        other_model = current_score(
            tenant_a, grade=6, probability=Decimal("0.01600"), version="other"
        )
        old = BuyerScore.objects.filter(period=PERIOD).first()
        old_pd = old.probability_of_default

        calibration = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)

        for score in (grade_6, in_default, other_model, old):
            score.refresh_from_db()
        assert grade_6.probability_of_default == Decimal(calibration.pd_by_grade["6"])
        assert in_default.probability_of_default == Decimal("1.00000")
        assert other_model.probability_of_default == Decimal("0.01600")
        assert old.probability_of_default == old_pd  # history stays as predicted then
    with active(tenant_b):
        b_score.refresh_from_db()
        assert b_score.probability_of_default == Decimal("0.01600")


def test_another_tenants_defaults_never_count(tenant_a, tenant_b, owner, outsider):
    with active(tenant_b):
        scored(tenant_b, grade=6, performers=0, defaults=30)
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=20, defaults=0)
        calibration = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
        assert (calibration.observations, calibration.defaults) == (20, 0)
        assert Decimal(calibration.pd_by_grade["6"]) < PD_BY_GRADE[6]
    with active(tenant_b):
        assert pd_table(VERSION) is None
        assert not PdCalibration.objects.exists()
        own = calibrate(tenant=tenant_b, actor=outsider, model_version=VERSION)
        assert (own.version, own.observations, own.defaults) == (1, 30, 30)


def test_a_window_without_a_known_outcome_is_refused(tenant_a, owner):
    with active(tenant_a):
        BuyerScoreFactory(
            buyer=BuyerFactory(tenant=tenant_a),
            period=today().replace(day=1),
            as_of=today(),
            model_version=VERSION,
        )
        with pytest.raises(ValidationError) as refused:
            calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
        assert "model_version" in refused.value.message_dict
        with pytest.raises(ValidationError) as unknown:
            calibrate(tenant=tenant_a, actor=owner, model_version="never-used")
        assert "model_version" in unknown.value.message_dict
        assert not PdCalibration.objects.exists()


def test_the_window_and_the_prior_strength_are_checked(tenant_a, owner):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=5, defaults=1)
        with pytest.raises(ValidationError) as backwards:
            calibrate(
                tenant=tenant_a,
                actor=owner,
                model_version=VERSION,
                first_period=date(2024, 3, 1),
                last_period=date(2024, 1, 1),
            )
        assert "last_period" in backwards.value.message_dict
        with pytest.raises(ValidationError) as weak:
            calibrate(tenant=tenant_a, actor=owner, model_version=VERSION, prior_strength=0)
        assert "prior_strength" in weak.value.message_dict


def test_the_window_limits_the_observations(tenant_a, owner):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=5, defaults=1)
        scored(tenant_a, grade=6, performers=5, defaults=5, period=date(2023, 1, 1))

        calibration = calibrate(
            tenant=tenant_a, actor=owner, model_version=VERSION, first_period=date(2023, 12, 15)
        )

        assert (calibration.observations, calibration.defaults) == (6, 1)
        assert (calibration.window_from, calibration.window_to) == (date(2023, 12, 1), PERIOD)


def test_a_trained_models_own_pd_table_is_the_prior(tenant_a, owner):
    with active(tenant_a):
        ScoringModel.objects.create(
            tenant=tenant_a,
            version="lab-1",
            status="active",
            train_from=date(2020, 1, 1),
            train_to=date(2022, 12, 1),
            test_from=date(2023, 1, 1),
            test_to=date(2023, 12, 1),
            spec={"pd_by_grade": {"6": "0.05", "7": "bad"}},
        )
        assert prior_pd_table("lab-1")[6] == Decimal("0.05")
        assert prior_pd_table("lab-1")[7] == PD_BY_GRADE[7]
        assert prior_pd_table(VERSION) == PD_BY_GRADE
        scored(tenant_a, grade=6, performers=10, defaults=0, version="lab-1")

        calibration = calibrate(tenant=tenant_a, actor=owner, model_version="lab-1")

        assert calibration.evidence[5]["prior_pd"] == "0.05000"
        prior = {grade: float(value) for grade, value in prior_pd_table("lab-1").items()}
        expected = pd_decimals(calibrate_grades({6: (10, 0)}, prior, 50))
        assert calibration.pd_by_grade == {str(g): str(p) for g, p in expected.items()}
        # 0.05 · 50 / 60 for grade 6 alone, pooled with grade 7 (3.5 %) to stay monotone.
        assert expected[6] == expected[7] == Decimal("0.03864")


def test_score_frame_takes_its_pds_from_a_given_table():
    from monitoring.scoring import FRAME_COLUMNS

    frame = score_frame_input(FRAME_COLUMNS)
    plain = score_frame(frame)
    table = {grade: Decimal("0.12345") for grade in range(1, 11)}
    calibrated = score_frame(frame, pd_by_grade=table)

    assert list(calibrated["grade"]) == list(plain["grade"])
    assert list(calibrated["probability_of_default"]) == [0.12345, 1.0]
    assert list(plain["probability_of_default"])[1] == 1.0  # insolvent: the override stays


def score_frame_input(columns):
    import math

    import pandas as pd

    rows = []
    for status in ("active", "insolvent"):
        row = {name: math.nan for name in columns}
        row.update(
            as_of=date(2026, 12, 1),
            country="DE",
            sector="G",
            buyer_status=status,
            legal_events=None,
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(columns))
