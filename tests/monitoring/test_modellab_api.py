"""REST API of the model lab: model versions, training (idempotent, windows validated), shadow
mode, four-eyes promotion by people only; scopes and other tenants."""

from datetime import date

import pytest

from creditguard.audit.models import AuditEvent
from monitoring.models import RescoreRun, ScoringModel
from tests.conftest import active, bearer
from tests.factories import MembershipFactory
from tests.monitoring.test_model_registry import scoring_model
from tests.monitoring.test_modellab_views import METRICS

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/"
PROBLEM = "application/problem+json"


@pytest.fixture
def manager(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="credit_manager", user__email="manager@a.example"
        ).user


@pytest.fixture
def model(tenant_a, manager):
    with active(tenant_a):
        return scoring_model(tenant_a, metrics=METRICS, trained_by=manager)


def post(client, url, data=None, **headers):
    return client.post(url, data or {}, content_type="application/json", headers=headers)


def test_the_list_has_the_built_in_model_first_and_marks_the_official_one(api, tenant_a, model):
    body = api.get(URL).json()["results"]
    assert [(m["version"], m["builtin"], m["official"], m["id"]) for m in body] == [
        ("cg-2026.2", True, True, None),
        ("t-2026.1", False, False, model.pk),
    ]
    assert body[1]["url"] == f"{URL}{model.pk}/"
    assert (body[1]["auc"], body[1]["trained_by"], body[1]["train_from"]) == (
        "0.8912",
        "manager@a.example",
        "2024-01-01",
    )
    with active(tenant_a):
        ScoringModel.objects.filter(pk=model.pk).update(status="active")
    body = api.get(URL).json()["results"]
    assert [m["official"] for m in body] == [False, True]


def test_the_detail_has_the_metrics_features_and_spec(api, model):
    body = api.get(f"{URL}{model.pk}/").json()
    assert body["metrics"]["test"]["builtin"]["auc"] == "0.7406"
    assert body["features"][0] | {"description": None} == {
        "name": "country_rating", "label": "Country risk rating", "description": None,
        "iv": 0.64, "splits": [4.5], "points": [30.0, -30.0], "counts": [50, 50],
        "defaults": [1, 9],
    }  # fmt: skip
    assert body["spec"]["format"] == 1
    assert body["progress"] == {"percent": 100, "done_steps": 0, "total_steps": 0, "done": True}
    assert body["promotion"]["pending"] is None


def test_starting_a_training_answers_202_with_the_model_to_poll_and_is_idempotent(
    api, tenant_a, monkeypatch, sent_tasks, django_capture_on_commit_callbacks
):
    calls = []

    def training_start(**kwargs):
        calls.append(kwargs)
        return scoring_model(kwargs["tenant"], version=f"sc-{len(calls)}", status="training")

    monkeypatch.setattr("monitoring.modellab.training.training_start", training_start)
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, URL, {"train_from": "2022-01", "test_to": "2025-10-01"}, **{
            "Idempotency-Key": "train-1"
        })  # fmt: skip
    assert first.status_code == 202
    body = first.json()
    assert first["Location"] == body["url"]
    assert (body["status"], body["progress"]["done"]) == ("training", False)
    assert calls[0]["train_from"] == date(2022, 1, 1) and calls[0]["test_to"] == date(2025, 10, 1)
    assert "train_to" not in calls[0]
    replay = post(api, URL, {"train_from": "2022-01", "test_to": "2025-10-01"}, **{
        "Idempotency-Key": "train-1"
    })  # fmt: skip
    assert (replay.status_code, replay.json()["id"], len(calls)) == (202, body["id"], 1)


def test_invalid_windows_answer_400_naming_the_field(api, tenant_a):
    response = post(api, URL, {"test_to": "next year"})
    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert [error["field"] for error in response.json()["errors"]] == ["test_to"]
    # The service's window rules (no history yet, a test window in the future) name theirs.
    response = post(api, URL, {"test_to": "2099-01"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in ("test_to", "non_field_errors")
    with active(tenant_a):
        assert not ScoringModel.objects.exists()


def test_a_read_key_cannot_train_or_start_a_shadow_run(client, read_key, model):
    for url in (URL, f"{URL}{model.pk}/shadow/"):
        response = post(client, url, {}, **bearer(read_key))
        assert (response.status_code, response["Content-Type"]) == (403, PROBLEM)


def test_a_write_key_runs_a_model_in_shadow_and_stops_it(api, tenant_a, model):
    response = post(api, f"{URL}{model.pk}/shadow/")
    assert (response.status_code, response.json()["status"]) == (200, "shadow")
    again = post(api, f"{URL}{model.pk}/shadow/")
    assert (again.status_code, again["Content-Type"]) == (409, PROBLEM)
    assert "already in shadow" in again.json()["detail"]
    stopped = api.delete(f"{URL}{model.pk}/shadow/")
    assert (stopped.status_code, stopped.json()["status"]) == (200, "trained")


def test_an_api_key_is_not_a_person_and_cannot_take_a_promotion_step(api, model):
    for step in ("request-promotion", "approve", "reject", "request-retirement"):
        response = post(api, f"{URL}{model.pk}/{step}/", {"note": "x", "reason": "x"})
        assert (response.status_code, response["Content-Type"]) == (403, PROBLEM)
        assert "an API key is not a person" in response.json()["detail"]


def test_a_promotion_takes_two_people(
    client, tenant_a, owner, manager, model, django_capture_on_commit_callbacks, sent_tasks
):
    client.force_login(manager)
    missing = post(client, f"{URL}{model.pk}/request-promotion/", {"note": ""})
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (400, "note")
    requested = post(client, f"{URL}{model.pk}/request-promotion/", {"note": "AUC +0.15"})
    assert requested.json()["promotion"] | {"requested_at": None} == {
        "pending": "promotion", "requested_by": "manager@a.example", "requested_at": None,
        "note": "AUC +0.15",
    }  # fmt: skip
    own = post(client, f"{URL}{model.pk}/approve/")
    assert (own.status_code, own["Content-Type"]) == (403, PROBLEM)
    assert "Four eyes" in own.json()["detail"]

    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        approved = post(client, f"{URL}{model.pk}/approve/")
    body = approved.json()
    assert (approved.status_code, body["status"], body["official"]) == (200, "active", True)
    with active(tenant_a):
        run = RescoreRun.objects.get()
        assert AuditEvent.objects.filter(action="scoring_model.promote", actor_user=owner).exists()
    assert body["rescore_run"] == f"/api/v1/rescore-runs/{run.pk}/"
    assert [task.args for task in sent_tasks] == [(run.pk,)]
    nothing = post(client, f"{URL}{model.pk}/approve/")
    assert nothing.status_code == 409


def test_a_request_is_turned_down_with_a_reason(client, tenant_a, owner, manager, model):
    client.force_login(manager)
    post(client, f"{URL}{model.pk}/request-promotion/", {"note": "Try it"})
    client.force_login(owner)
    assert post(client, f"{URL}{model.pk}/reject/", {"reason": ""}).status_code == 400
    response = post(client, f"{URL}{model.pk}/reject/", {"reason": "Shadow first"})
    assert (response.status_code, response.json()["promotion"]["pending"]) == (200, None)


def test_a_viewer_cannot_take_a_promotion_step(client, tenant_a, model):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    client.force_login(viewer)
    assert client.get(URL).status_code == 200
    response = post(client, f"{URL}{model.pk}/request-promotion/", {"note": "x"})
    assert response.status_code == 403


def test_another_tenants_model_is_not_found(client, api_key_b, outsider, model):
    headers = bearer(api_key_b[1])
    assert client.get(f"{URL}{model.pk}/", headers=headers).status_code == 404
    assert [m["version"] for m in client.get(URL, headers=headers).json()["results"]] == [
        "cg-2026.2"
    ]
    assert post(client, f"{URL}{model.pk}/shadow/", **headers).status_code == 404
    client.force_login(outsider)
    for step in ("request-promotion", "approve", "reject"):
        response = post(client, f"{URL}{model.pk}/{step}/", {"note": "x", "reason": "x"})
        assert response.status_code == 404


def test_rescore_runs_report_their_model_and_grade_moves(api, tenant_a):
    with active(tenant_a):
        run = RescoreRun.objects.create(
            tenant=tenant_a, period=date(2026, 11, 1), trigger="monthly", status="succeeded",
            model_version="t-2026.1", upgraded=4, downgraded=9,
        )  # fmt: skip
    body = api.get(f"/api/v1/rescore-runs/{run.pk}/").json()
    assert (body["model_version"], body["upgraded"], body["downgraded"]) == ("t-2026.1", 4, 9)
