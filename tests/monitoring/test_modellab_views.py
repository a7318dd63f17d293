"""Model lab pages: the list with the built-in model, training, a model's back-test, scorecard,
shadow comparison, promotion panel and history; permissions and other tenants."""

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from creditguard.audit.models import AuditEvent
from monitoring.modellab import lifecycle, registry
from monitoring.models import BuyerScore, ModelScore, RescoreRun, ScoringModel
from tests.conftest import active
from tests.factories import BuyerFactory, MembershipFactory, RescoreRunFactory
from tests.monitoring.test_model_registry import scoring_model

pytestmark = pytest.mark.django_db

LIST = "/monitoring/models/"


def page_text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return html.unescape(re.sub(r"\s+", " ", text))


def report(auc, low, high, rate_by_grade):
    return {
        "model_version": "x",
        "observations": 1200,
        "defaults": 60,
        "performing": 1140,
        "pending": 0,
        "already_in_default": 0,
        "sufficient": True,
        "auc": auc,
        "gini": str(2 * Decimal(auc) - 1),
        "auc_low": low,
        "auc_high": high,
        "default_rate": "0.05",
        "mean_pd": "0.04",
        "by_grade": [
            {
                "grade": grade,
                "observations": 100,
                "defaults": 5,
                "default_rate": rate,
                "mean_pd": "0.04",
                "pd_check": "within",
            }
            for grade, rate in rate_by_grade.items()
        ],
    }


METRICS = {
    "training": {"observations": 5000, "defaults": 250, "auc": 0.91, "gini": 0.82},
    "test": {
        "observations": 1200,
        "defaults": 60,
        "model": report("0.8912", "0.8611", "0.9213", {2: "0.0123"}),
        "builtin": report("0.7406", "0.7011", "0.7801", {2: "0.0456"}),
    },
    "features": [],
    "dropped": [{"name": "cash_to_assets", "label": "Cash / total assets (%)", "reason": "low_iv"}],
}


@pytest.fixture
def manager(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="credit_manager", user__email="manager@a.example"
        ).user


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer", user__email="v@a.example").user


@pytest.fixture
def model(tenant_a, manager):
    with active(tenant_a):
        return scoring_model(tenant_a, metrics=METRICS, trained_by=manager)


def detail_url(model):
    return reverse("monitoring:model-detail", args=[model.pk])


def test_the_list_shows_the_built_in_model_as_official_until_a_model_is_promoted(
    client, tenant_a, viewer, model
):
    client.force_login(viewer)
    text = page_text(client.get(LIST))
    assert "cg-2026.2 built-in Official" in text
    assert "t-2026.1" in text and "0.891" in text
    assert "Train a model" not in text  # viewers read only
    with active(tenant_a):
        ScoringModel.objects.filter(pk=model.pk).update(status="active")
    text = page_text(client.get(LIST))
    assert "cg-2026.2 built-in Available" in text


def test_a_manager_starts_a_training_and_lands_on_its_page(
    client, tenant_a, manager, monkeypatch, django_capture_on_commit_callbacks, sent_tasks
):
    started = {}

    def training_start(**kwargs):
        started.update(kwargs)
        return scoring_model(kwargs["tenant"], version="sc-new", status="training")

    monkeypatch.setattr("monitoring.modellab.training.training_start", training_start)
    client.force_login(manager)
    response = client.post(LIST, {"train_from": "2023-01", "test_to": "2025-10"})
    with active(tenant_a):
        new = ScoringModel.objects.get(version="sc-new")
    assert response.status_code == 302 and response["Location"] == detail_url(new)
    assert (started["train_from"], started["test_to"], started["actor"]) == (
        date(2023, 1, 1),
        date(2025, 10, 1),
        manager,
    )
    assert started["train_to"] is None and started["test_from"] is None
    progress = client.get(reverse("monitoring:model-progress", args=[new.pk])).json()
    assert (progress["status"], progress["percent"], progress["done"]) == ("training", 0, False)
    text = page_text(client.get(LIST))
    assert "Training model sc-new" in text


def test_window_errors_of_the_training_are_shown_on_their_field(client, manager, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError({"test_to": ["The test window can end in 2025-12 at the latest."]})

    monkeypatch.setattr("monitoring.modellab.training.training_start", refuse)
    client.force_login(manager)
    response = client.post(LIST, {"test_to": "2026-11"})
    assert response.status_code == 200
    assert "The test window can end in 2025-12 at the latest." in page_text(response)


def test_viewers_and_analysts_cannot_train_or_change_models(
    client, tenant_a, viewer, teammate, model
):
    for user in (viewer, teammate):
        client.force_login(user)
        assert client.post(LIST, {}).status_code == 403
        for name in ("model-shadow", "model-request", "model-approve", "model-reject"):
            url = reverse(f"monitoring:{name}", args=[model.pk])
            assert client.post(url, {"note": "x", "reason": "x"}).status_code == 403
    with active(tenant_a):
        assert ScoringModel.objects.get(pk=model.pk).status == "trained"


def test_the_detail_shows_the_back_test_beside_the_built_in_and_the_scorecard(
    client, viewer, model
):
    client.force_login(viewer)
    text = page_text(client.get(detail_url(model)))
    assert "Out-of-time back-test" in text
    assert "AUC 0.891 (0.861–0.921) 0.741 (0.701–0.780)" in text
    assert "1.23%" in text and "4.56%" in text  # grade 2 observed, model against built-in
    assert "Country risk rating IV 0.640" in text
    assert "under 4.5 30.00 50 1 2.00%" in text  # band, points, buyer-months, defaults, rate
    assert "4.5 and above -30.00" in text
    assert "No data 0.00" in text
    assert "Cash / total assets (%) (too little information)" in text


def test_the_shadow_comparison_shows_the_grade_migration(client, tenant_a, viewer, model):
    with active(tenant_a):
        ScoringModel.objects.filter(pk=model.pk).update(status="shadow")
        for official, shadow in ((3, 3), (3, 4), (5, 2), (7, 7)):
            buyer = BuyerFactory(tenant=tenant_a)
            BuyerScore.objects.create(
                tenant=tenant_a, buyer=buyer, period=date(2026, 11, 1), model_version="cg-2026.2",
                score=Decimal(50), grade=official, probability_of_default=Decimal("0.01"),
            )  # fmt: skip
            ModelScore.objects.create(
                tenant=tenant_a, model=model, buyer=buyer, period=date(2026, 11, 1),
                as_of=date(2026, 11, 1), score=Decimal(50), grade=shadow,
                probability_of_default=Decimal("0.01"),
            )  # fmt: skip
        comparison = registry.shadow_comparison(model)
    assert (comparison.same, comparison.one_apart, comparison.further) == (2, 1, 1)
    assert comparison.matrix[2][3] == 1 and comparison.official[2] == 2
    assert comparison.shadow[1] == 1
    client.force_login(viewer)
    text = page_text(client.get(detail_url(model)))
    assert "4 buyers scored by both models" in text
    assert "Same grade 50.0%" in text and "One grade apart 25.0%" in text


def test_a_promotion_through_the_pages_takes_two_people(
    client, tenant_a, owner, manager, model, django_capture_on_commit_callbacks, sent_tasks
):
    client.force_login(manager)
    client.post(reverse("monitoring:model-shadow", args=[model.pk]), {"action": "start"})
    client.post(reverse("monitoring:model-request", args=[model.pk]), {"note": ""})
    with active(tenant_a):
        model.refresh_from_db()
        assert (model.status, lifecycle.pending_request(model)) == ("shadow", None)
    client.post(reverse("monitoring:model-request", args=[model.pk]), {"note": "AUC +0.15"})
    text = page_text(client.get(detail_url(model)))
    assert "Promotion requested by manager@a.example" in text and "AUC +0.15" in text
    assert "Four eyes" in text and "Approve" not in text.replace("Approve?", "")
    response = client.post(reverse("monitoring:model-approve", args=[model.pk]), follow=True)
    assert "Four eyes" in page_text(response)
    with active(tenant_a):
        assert ScoringModel.objects.get(pk=model.pk).status == "shadow"

    client.force_login(owner)
    assert ">Approve</button>" in client.get(detail_url(model)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("monitoring:model-approve", args=[model.pk]))
    with active(tenant_a):
        assert ScoringModel.objects.get(pk=model.pk).status == "active"
        assert RescoreRun.objects.filter(trigger="manual").count() == 1
    text = page_text(client.get(detail_url(model)))
    assert "Official model" in text
    for step in ("Shadow run started", "Promotion requested", "Promotion approved"):
        assert step in text
    assert "AUC +0.15" in text


def test_a_request_is_turned_down_with_a_reason(client, tenant_a, owner, manager, model):
    client.force_login(manager)
    client.post(reverse("monitoring:model-request", args=[model.pk]), {"note": "Try it"})
    client.force_login(owner)
    client.post(reverse("monitoring:model-reject", args=[model.pk]), {"reason": "Shadow first"})
    with active(tenant_a):
        model.refresh_from_db()
        assert lifecycle.pending_request(model) is None
        assert AuditEvent.objects.filter(action="scoring_model.promotion_reject").exists()
    assert "Shadow first" in page_text(client.get(detail_url(model)))


def test_the_rescore_page_shows_each_runs_model_and_grade_moves(client, tenant_a, viewer, model):
    with active(tenant_a):
        RescoreRunFactory(
            tenant=tenant_a, status="succeeded", model_version="t-2026.1", upgraded=12,
            downgraded=7, total_buyers=40, scored_buyers=40,
        )  # fmt: skip
    client.force_login(viewer)
    response = client.get(reverse("monitoring:rescore"))
    assert "12 up / 7 down" in page_text(response)
    assert f'href="{detail_url(model)}">t-2026.1</a>' in response.content.decode()


def test_another_tenants_model_is_not_found(client, tenant_a, outsider, model):
    client.force_login(outsider)
    assert client.get(detail_url(model)).status_code == 404
    assert client.get(reverse("monitoring:model-progress", args=[model.pk])).status_code == 404
    for name in ("model-shadow", "model-request", "model-approve", "model-reject", "model-retire"):
        response = client.post(reverse(f"monitoring:{name}", args=[model.pk]), {"note": "x"})
        assert response.status_code == 404
    assert "t-2026.1" not in page_text(client.get(LIST))
    with active(tenant_a):
        assert ScoringModel.objects.get(pk=model.pk).status == "trained"


def test_a_model_trained_on_the_history_shows_its_back_test_and_scores_once_promoted(
    client, tenant_a, owner, manager, django_capture_on_commit_callbacks, sent_tasks
):
    from monitoring.rescoring import rescore_run_execute
    from tests.monitoring.test_modellab_training import history, new_model, train

    history(tenant_a)
    model = train(tenant_a, new_model(tenant_a))
    assert model.status == "trained", model.error
    client.force_login(manager)
    page = client.get(detail_url(model))
    assert page.status_code == 200
    text = page_text(page)
    assert "Out-of-time back-test" in text and "Scorecard" in text
    first = model.spec["features"][0]
    assert str(first["label"]) in text
    api = client.get(f"/api/v1/models/{model.pk}/").json()
    assert api["auc"] == model.metrics["test"]["model"]["auc"]

    client.post(reverse("monitoring:model-request", args=[model.pk]), {"note": "Learns defaults"})
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("monitoring:model-approve", args=[model.pk]))
    with active(tenant_a):
        run = RescoreRun.objects.get()
    rescore_run_execute(tenant_id=tenant_a.pk, run_id=run.pk)
    with active(tenant_a):
        run.refresh_from_db()
        versions = set(
            BuyerScore.objects.filter(period=run.period).values_list("model_version", flat=True)
        )
    assert (run.status, run.model_version, versions) == ("succeeded", "sc-test-1", {"sc-test-1"})
