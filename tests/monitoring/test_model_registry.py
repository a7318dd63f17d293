"""Which model scores a tenant: the built-in one or its active scorecard, PDs from the active
calibration; shadow scores beside the official ones; a run's grade moves and model version."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring import scoring
from monitoring.modellab import registry
from monitoring.models import BuyerScore, ModelScore, PdCalibration, RescoreRun, ScoringModel
from monitoring.rescoring import buyer_risk_frame, buyers_rescore, rescore_run_execute
from tests.conftest import active
from tests.factories import BuyerFactory, BuyerScoreFactory, CountryRiskFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 15)
PERIOD = date(2026, 11, 1)
SPEC_PDS = {str(grade): f"{0.001 * 2**grade:.5f}" for grade in range(1, 11)}


def scorecard_spec(*, safe_points: float = 30.0, risky_points: float = -30.0) -> dict:
    """A hand-made scorecard in the format of `monitoring.modellab.scorecard`: country rating
    below 4.5 gives ``safe_points``, from 4.5 up ``risky_points``; no rating, no points."""
    return {
        "format": 1,
        "base_score": 50.0,
        "scale": 20.0,
        "points_to_double_odds": 13.86,
        "intercept": -3.0,
        "pd_by_grade": SPEC_PDS,
        "features": [
            {
                "name": "country_rating",
                "label": "Country risk rating",
                "description": "Country risk rating 1-10.",
                "digits": 0,
                "splits": [4.5],
                "woe": [0.8, -0.8],
                "points": [safe_points, risky_points],
                "counts": [50, 50],
                "defaults": [1, 9],
                "iv": 0.64,
                "coefficient": 1.0,
            }
        ],
    }


def scoring_model(tenant, *, version="t-2026.1", status="trained", spec=None, **fields):
    """A `ScoringModel` row as training leaves it (create with the tenant active)."""
    values = {
        "train_from": date(2024, 1, 1),
        "train_to": date(2025, 6, 1),
        "test_from": date(2025, 7, 1),
        "test_to": date(2025, 12, 1),
        "trained_at": timezone.now(),
        "metrics": {},
    }
    values.update(fields)
    return ScoringModel.objects.create(
        tenant=tenant,
        version=version,
        status=status,
        spec=scorecard_spec() if spec is None else spec,
        **values,
    )


@pytest.fixture
def rated_buyers(tenant_a):
    """A buyer in a safe country (rating 2) and one in a risky country (rating 8)."""
    CountryRiskFactory(country_id="DE", rating=2, effective_date=date(2026, 10, 17))
    CountryRiskFactory(country_id="TR", rating=8, effective_date=date(2026, 10, 17))
    with active(tenant_a):
        safe = BuyerFactory(tenant=tenant_a, country_id="DE")
        risky = BuyerFactory(tenant=tenant_a, country_id="TR")
    return safe, risky


def frame_of(tenant, buyers):
    return buyer_risk_frame(tenant_id=tenant.pk, buyer_ids=[b.pk for b in buyers], as_of=AS_OF)


def test_a_tenant_without_an_active_model_scores_with_the_built_in_one(tenant_a, rated_buyers):
    with active(tenant_a):
        scoring_model(tenant_a, status="shadow")  # a shadow model is not official
        frame = frame_of(tenant_a, rated_buyers)
        version, scored = registry.score_for_tenant(frame)
        assert registry.active_model() is None
        assert version == scoring.MODEL_VERSION == registry.official_version()
        assert scored.equals(scoring.score_frame(frame))


def test_the_active_scorecard_scores_with_its_own_pds(tenant_a, rated_buyers):
    safe, risky = rated_buyers
    with active(tenant_a):
        model = scoring_model(tenant_a, status="active")
        version, scored = registry.score_for_tenant(frame_of(tenant_a, rated_buyers))
        assert registry.active_model() == model
        assert version == "t-2026.1" == registry.official_version()
    assert scored.loc[safe.pk, "score"] == 80.0
    assert scored.loc[risky.pk, "score"] == 20.0
    assert (scored.loc[safe.pk, "grade"], scored.loc[risky.pk, "grade"]) == (2, 9)
    assert scored.loc[safe.pk, "probability_of_default"] == 0.004  # the spec's table


def test_the_active_calibration_of_the_active_model_gives_the_pds(tenant_a, rated_buyers):
    safe, risky = rated_buyers
    with active(tenant_a):
        scoring_model(tenant_a, status="active")
        calibrated = {str(grade): f"0.0{grade}" for grade in range(1, 10)} | {"10": "0.5"}
        for model_version, version, is_active, table in (
            ("t-2026.1", 1, False, {str(g): "0.9" for g in range(1, 11)}),  # superseded
            ("t-2026.1", 2, True, calibrated),
            (scoring.MODEL_VERSION, 1, True, {str(g): "0.8" for g in range(1, 11)}),  # other model
        ):
            PdCalibration.objects.create(
                tenant=tenant_a, model_version=model_version, version=version, active=is_active,
                pd_by_grade=table, prior_strength=Decimal(10), window_from=date(2024, 1, 1),
                window_to=date(2025, 12, 1),
            )  # fmt: skip
        _version, scored = registry.score_for_tenant(frame_of(tenant_a, rated_buyers))
    assert scored.loc[safe.pk, "probability_of_default"] == 0.02
    assert scored.loc[risky.pk, "probability_of_default"] == 0.09


def test_the_built_in_model_takes_its_active_calibration_too(tenant_a, rated_buyers):
    with active(tenant_a):
        PdCalibration.objects.create(
            tenant=tenant_a, model_version=scoring.MODEL_VERSION, version=1, active=True,
            pd_by_grade={str(g): "0.07" for g in range(1, 11)}, prior_strength=Decimal(10),
            window_from=date(2024, 1, 1), window_to=date(2025, 12, 1),
        )  # fmt: skip
        _version, scored = registry.score_for_tenant(frame_of(tenant_a, rated_buyers))
    assert set(scored["probability_of_default"]) == {0.07}


def test_a_run_scores_with_the_active_model_and_names_it(tenant_a, rated_buyers):
    safe, risky = rated_buyers
    with active(tenant_a):
        scoring_model(tenant_a, status="active")
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        run.refresh_from_db()
        scores = {s.buyer_id: s for s in BuyerScore.objects.filter(period=PERIOD)}
    assert (run.status, run.model_version) == ("succeeded", "t-2026.1")
    assert {s.model_version for s in scores.values()} == {"t-2026.1"}
    assert (scores[safe.pk].grade, scores[risky.pk].grade) == (2, 9)
    assert [f["factor"] for f in scores[safe.pk].factors] == ["country_rating"]


def test_a_shadow_model_scores_beside_the_official_one_without_touching_it(
    tenant_a, tenant_b, rated_buyers
):
    safe, risky = rated_buyers
    with active(tenant_b):
        scoring_model(tenant_b, status="shadow", version="theirs")
    with active(tenant_a):
        shadow = scoring_model(tenant_a, status="shadow")
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        official = {s.buyer_id: s for s in BuyerScore.objects.filter(period=PERIOD)}
        shadowed = {s.buyer_id: s for s in ModelScore.objects.filter(period=PERIOD)}
        run.refresh_from_db()
    assert run.model_version == scoring.MODEL_VERSION
    assert {s.model_version for s in official.values()} == {scoring.MODEL_VERSION}
    assert set(shadowed) == {safe.pk, risky.pk}
    assert {s.model_id for s in shadowed.values()} == {shadow.pk}
    assert (shadowed[safe.pk].grade, shadowed[risky.pk].grade) == (2, 9)
    assert shadowed[safe.pk].as_of == AS_OF
    assert shadowed[safe.pk].factors[0]["factor"] == "country_rating"
    with active(tenant_b):
        assert not ModelScore.objects.exists()


def test_an_event_rescore_updates_the_shadow_score_of_the_period(tenant_a, rated_buyers):
    safe, _risky = rated_buyers
    with active(tenant_a):
        shadow = scoring_model(tenant_a, status="shadow")
        assert buyers_rescore(tenant=tenant_a, buyer_ids=[safe.pk], reason="test", as_of=AS_OF)
        ScoringModel.objects.filter(pk=shadow.pk).update(spec=scorecard_spec(safe_points=10.0))
        buyers_rescore(tenant=tenant_a, buyer_ids=[safe.pk], reason="test", as_of=AS_OF)
        score = ModelScore.objects.get(model=shadow, buyer=safe, period=PERIOD)
        assert (score.score, score.grade) == (Decimal("60.00"), 4)
        assert BuyerScore.objects.get(buyer=safe).model_version == scoring.MODEL_VERSION


def test_a_shadow_scorecard_that_cannot_score_does_not_stop_the_official_run(
    tenant_a, rated_buyers
):
    with active(tenant_a):
        scoring_model(tenant_a, status="shadow", spec={"features": "broken"})
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF)
    with active(tenant_a):
        assert RescoreRun.objects.get(pk=run.pk).status == "succeeded"
        assert BuyerScore.objects.filter(period=PERIOD).count() == 2
        assert not ModelScore.objects.exists()


def test_a_run_counts_the_buyers_whose_grade_went_up_or_down(tenant_a, rated_buyers):
    safe, risky = rated_buyers
    with active(tenant_a):
        new = BuyerFactory(tenant=tenant_a, country_id="DE")  # no previous score: neither
        scoring_model(tenant_a, status="active")  # safe → grade 2, risky → 9, new → 2
        # The previous score is the latest of an earlier period, whatever came before it.
        BuyerScoreFactory(buyer=safe, tenant=tenant_a, period=date(2026, 9, 1), grade=1)
        BuyerScoreFactory(buyer=safe, tenant=tenant_a, period=date(2026, 10, 1), grade=5)
        BuyerScoreFactory(buyer=risky, tenant=tenant_a, period=date(2026, 10, 1), grade=4)
        run = RescoreRun.objects.create(tenant=tenant_a, period=PERIOD, trigger="monthly")
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk, as_of=AS_OF, chunk_size=1)
    with active(tenant_a):
        run.refresh_from_db()
        assert BuyerScore.objects.get(buyer=new).grade == 2
    assert (run.scored_buyers, run.upgraded, run.downgraded) == (3, 1, 1)
