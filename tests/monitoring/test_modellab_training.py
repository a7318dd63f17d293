"""Training in the model lab against the database: windows, the start (version, audit, task),
an end-to-end training on a small history with its out-of-time back-test, refusing too few
defaults, and tenant isolation (another tenant's buyers and defaults never enter the data)."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from buyers.models import Buyer
from creditguard.audit.models import AuditEvent
from monitoring import backtest, rescoring, scoring
from monitoring.modellab import training
from monitoring.modellab.scorecard import score_with_spec
from monitoring.modellab.training import (
    MAX_TRAINING_PERIODS,
    Windows,
    training_execute,
    training_start,
    training_windows,
)
from monitoring.models import ScoringModel
from tests.conftest import active
from tests.factories import BuyerFactory, FinancialStatementFactory, LegalEventFactory

WINDOWS = {
    "train_from": date(2023, 1, 1),
    "train_to": date(2023, 12, 1),
    "test_from": date(2024, 1, 1),
    "test_to": date(2024, 6, 1),
}
STATEMENT_END = date(2021, 12, 31)
PUBLISHED = date(2022, 3, 31)


def history(tenant, *, good: int = 30, bad: int = 16, total_assets: int = 1_000_000) -> dict:
    """Buyers with one statement known since 2022-03-31: the healthy ones never default, the weak
    ones (lower Z'') open insolvency proceedings one by one from March 2023. Returns buyer id →
    first default (None: never)."""
    defaults: dict[int, date | None] = {}
    rng = np.random.default_rng(tenant.pk)
    with active(tenant):
        for index in range(good + bad):
            weak = index >= good
            health = rng.uniform(-1.0, -0.1) if weak else rng.uniform(0.1, 1.0)
            assets = Decimal(total_assets)
            liabilities = assets * Decimal(str(round(0.6 - 0.25 * health, 3)))
            buyer = BuyerFactory(tenant=tenant)
            FinancialStatementFactory(
                buyer=buyer,
                tenant=tenant,
                period_end=STATEMENT_END,
                published_on=PUBLISHED,
                revenue=assets * 2,
                ebit=assets * Decimal(str(round(0.05 + 0.08 * health, 3))),
                net_income=assets * Decimal(str(round(0.03 + 0.06 * health, 3))),
                total_assets=assets,
                current_assets=assets * Decimal(str(round(0.4 + 0.1 * health, 3))),
                current_liabilities=assets * Decimal(str(round(0.3 - 0.1 * health, 3))),
                total_liabilities=liabilities,
                retained_earnings=assets * Decimal(str(round(0.1 + 0.2 * health, 3))),
                equity=assets - liabilities,
            )
            default_on = None
            if weak:
                default_on = date(2023, 3, 15) + timedelta(days=40 * (index - good))
                LegalEventFactory(
                    buyer=buyer,
                    tenant=tenant,
                    kind="insolvency_proceedings",
                    event_date=default_on,
                )
            defaults[buyer.pk] = default_on
    return defaults


def expected_observations(defaults: dict, first: date, last: date) -> tuple[int, int]:
    """(labelled buyer-months, defaulted ones) of a window, by `backtest.outcome`."""
    count = defaulted = 0
    period = first
    while period <= last:
        for default_on in defaults.values():
            result = backtest.outcome(
                period=period, known_on=period, first_default_on=default_on, as_of=date.today()
            )
            if result in (backtest.Outcome.DEFAULTED, backtest.Outcome.PERFORMING):
                count += 1
                defaulted += result == backtest.Outcome.DEFAULTED
        period = backtest.add_months(period, 1)
    return count, defaulted


def new_model(tenant, **windows) -> ScoringModel:
    with active(tenant):
        return ScoringModel.objects.create(
            tenant=tenant, version="sc-test-1", **{**WINDOWS, **windows}
        )


def train(tenant, model: ScoringModel) -> ScoringModel:
    assert training_execute(model.pk, tenant_id=tenant.pk)
    with active(tenant):
        return ScoringModel.objects.get(pk=model.pk)


# --- Windows -------------------------------------------------------------------------------------


def test_default_windows_test_the_latest_complete_year_and_train_on_up_to_four_before():
    windows = training_windows(first_known=date(2019, 5, 10), on=date(2026, 12, 7))

    assert windows == Windows(
        train_from=date(2021, 1, 1),
        train_to=date(2024, 12, 1),
        test_from=date(2025, 1, 1),
        test_to=date(2025, 12, 1),
    )
    assert len(training.backfill.periods_between(windows.train_from, windows.train_to)) == (
        MAX_TRAINING_PERIODS
    )


def test_a_short_history_trains_from_the_first_month_that_sees_data():
    windows = training_windows(first_known=date(2023, 5, 10), on=date(2026, 12, 7))

    assert windows.train_from == date(2023, 6, 1)
    assert windows.train_to == date(2024, 12, 1)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"test_to": date(2026, 3, 1)}, "test_to"),  # outcome not complete yet
        ({"test_from": date(2024, 6, 1), "test_to": date(2024, 3, 1)}, "test_from"),
        ({"train_to": date(2024, 6, 1), "test_from": date(2024, 6, 1)}, "test_from"),
        ({"train_from": date(2018, 1, 1)}, "train_from"),  # before the data
        ({"train_from": date(2024, 9, 1), "train_to": date(2024, 3, 1)}, "train_from"),
        ({"test_from": date(1, 1, 1)}, "test_from"),
    ],
)
def test_windows_out_of_order_or_outside_the_history_are_refused_by_field(given, field):
    with pytest.raises(ValidationError) as refused:
        training_windows(first_known=date(2019, 5, 10), on=date(2026, 12, 7), **given)

    assert field in refused.value.message_dict


def test_no_history_cannot_be_trained_on():
    with pytest.raises(ValidationError):
        training_windows(first_known=None, on=date(2026, 12, 7))


def test_history_too_short_for_a_training_window_is_refused():
    with pytest.raises(ValidationError) as refused:
        training_windows(first_known=date(2025, 3, 1), on=date(2026, 12, 7))

    assert "train_from" in refused.value.message_dict


# --- Starting ------------------------------------------------------------------------------------


def test_starting_creates_a_versioned_model_audits_it_and_enqueues_the_training(
    tenant_a, owner, sent_tasks, django_capture_on_commit_callbacks
):
    history(tenant_a, good=2, bad=0)
    with active(tenant_a), django_capture_on_commit_callbacks(execute=True):
        first = training_start(tenant=tenant_a, actor=owner, **WINDOWS)
        second = training_start(tenant=tenant_a, actor=owner)

    today = date.today()
    assert first.version == f"sc-{today:%Y.%m}-1"
    assert second.version == f"sc-{today:%Y.%m}-2"
    assert first.status == ScoringModel.Status.TRAINING
    assert (first.train_from, first.test_to) == (WINDOWS["train_from"], WINDOWS["test_to"])
    assert first.trained_by == owner
    assert [(task.name, task.args, task.kwargs) for task in sent_tasks] == [
        ("monitoring.train_model", (first.pk,), {"tenant_id": tenant_a.pk}),
        ("monitoring.train_model", (second.pk,), {"tenant_id": tenant_a.pk}),
    ]
    with active(tenant_a):
        event = AuditEvent.objects.get(action="scoring_model.train_started", object_id=first.pk)
    assert event.after["train_from"] == "2023-01-01"


def test_a_start_with_bad_windows_creates_nothing(tenant_a, owner, sent_tasks):
    history(tenant_a, good=2, bad=0)
    with active(tenant_a):
        with pytest.raises(ValidationError) as refused:
            training_start(
                tenant=tenant_a, actor=owner, train_to=date(2024, 6, 1), test_from=date(2024, 1, 1)
            )
        assert not ScoringModel.objects.exists()
    assert "test_from" in refused.value.message_dict
    assert sent_tasks == []


# --- Running -------------------------------------------------------------------------------------


def test_training_learns_the_history_and_back_tests_it_beside_the_built_in_model(tenant_a):
    history(tenant_a)
    model = new_model(tenant_a)

    model = train(tenant_a, model)

    assert model.status == ScoringModel.Status.TRAINED, model.error
    assert model.trained_at is not None
    assert model.progress_total == 12 + 6 + training.FIT_STEPS
    assert model.progress_done == model.progress_total
    spec, metrics = model.spec, model.metrics
    names = [feature["name"] for feature in spec["features"]]
    assert names and metrics["feature_list"] == names
    assert all(feature["coefficient"] < 0 for feature in spec["features"])
    assert set(spec["pd_by_grade"]) == {str(grade) for grade in range(1, 11)}
    assert metrics["training"]["auc"] > 0.8
    test = metrics["test"]
    assert test["model"]["model_version"] == "sc-test-1"
    assert test["builtin"]["model_version"] == scoring.MODEL_VERSION
    # The same observations for both models.
    assert test["model"]["observations"] == test["builtin"]["observations"] == test["observations"]
    assert test["model"]["defaults"] == test["builtin"]["defaults"] == test["defaults"] > 0
    assert test["model"]["auc_low"] is not None and test["builtin"]["auc"] is not None
    assert len(test["model"]["by_grade"]) == 10
    assert {"iv", "coefficient", "points_min", "points_max"} <= set(metrics["features"][0])

    # The stored spec scores today's frame on its own.
    with active(tenant_a):
        frame = rescoring.buyer_risk_frame(
            tenant_id=tenant_a.pk,
            buyer_ids=list(Buyer.objects.values_list("id", flat=True)),
            as_of=date(2023, 1, 1),
        )
    scored = score_with_spec(spec, frame)
    assert scored["grade"].between(1, 10).all()


def test_too_few_defaults_fail_the_training_with_the_reason(tenant_a):
    history(tenant_a, good=10, bad=1)
    model = new_model(tenant_a)

    model = train(tenant_a, model)

    assert model.status == ScoringModel.Status.FAILED
    assert "Too few defaults" in model.error and "at least 30" in model.error
    assert model.spec == {}


def test_a_model_no_longer_training_is_left_alone(tenant_a):
    model = new_model(tenant_a)
    with active(tenant_a):
        ScoringModel.objects.filter(pk=model.pk).update(status=ScoringModel.Status.FAILED)

    model = train(tenant_a, model)

    assert model.status == ScoringModel.Status.FAILED
    assert model.progress_total == 0


def test_another_tenants_buyers_and_defaults_never_enter_the_training(tenant_a, tenant_b):
    defaults_a = history(tenant_a)
    # Tenant B: huge companies (a size no buyer of A has) that all default in the window.
    history(tenant_b, good=0, bad=25, total_assets=10**12)
    model = new_model(tenant_a)

    model = train(tenant_a, model)

    assert model.status == ScoringModel.Status.TRAINED, model.error
    count, defaulted = expected_observations(defaults_a, WINDOWS["train_from"], WINDOWS["train_to"])
    assert model.metrics["training"]["observations"] == count
    assert model.metrics["training"]["defaults"] == defaulted
    test_count, _ = expected_observations(defaults_a, WINDOWS["test_from"], WINDOWS["test_to"])
    assert model.metrics["test"]["observations"] == test_count
    for feature in model.spec["features"]:
        assert sum(feature["counts"]) <= count
        if feature["name"] == "log_total_assets":
            assert max(feature["splits"]) < np.log(10**12)
