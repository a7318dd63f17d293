"""REST API for re-scoring runs: start (one at a time, Idempotency-Key), progress, list, scopes."""

import pytest

from creditguard.audit.models import AuditEvent
from monitoring.models import RescoreRun
from monitoring.rescoring import rescore_run_execute
from tests.conftest import active, bearer
from tests.factories import BuyerFactory, MembershipFactory, RescoreRunFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/rescore-runs/"


@pytest.fixture
def buyers(tenant_a):
    with active(tenant_a):
        return [BuyerFactory(tenant=tenant_a, country_id="DE") for _ in range(3)]


def start(client, **headers):
    return client.post(URL, content_type="application/json", headers=headers)


def test_starting_a_run_answers_202_with_its_location_and_audits_the_api_key(
    api, api_key_a, tenant_a, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = start(api)
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["url"] == f"{URL}{body['id']}/"
    assert (body["trigger"], body["status"], body["percent"], body["done"]) == (
        "manual",
        "queued",
        0,
        False,
    )
    assert body["requested_by"] is None
    assert [(task.name, task.args) for task in sent_tasks] == [
        ("monitoring.rescore_run", (body["id"],))
    ]
    with active(tenant_a):
        event = AuditEvent.objects.get(action="monitoring.rescore_now")
        assert (event.actor_api_key, event.actor_user) == (api_key_a[0], None)
        assert event.object_id == str(body["id"])


def test_a_second_start_while_the_run_is_pending_answers_the_same_run(api, tenant_a, sent_tasks):
    first = start(api)
    second = start(api)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    with active(tenant_a):
        assert RescoreRun.objects.count() == 1
        RescoreRun.objects.update(status="running")
    third = start(api)
    assert (third.status_code, third.json()["id"]) == (200, first.json()["id"])


def test_a_finished_run_does_not_stop_a_new_one(api, tenant_a, sent_tasks):
    with active(tenant_a):
        done = RescoreRunFactory(tenant=tenant_a, status="succeeded")
    response = start(api)
    assert response.status_code == 202
    assert response.json()["id"] != done.pk


def test_an_idempotency_key_replays_the_first_answer(
    api, tenant_a, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = start(api, **{"Idempotency-Key": "erp-run-1"})
    with django_capture_on_commit_callbacks(execute=True):
        replayed = start(api, **{"Idempotency-Key": "erp-run-1"})
    assert (first.status_code, replayed.status_code) == (202, 202)
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    assert replayed["Location"] == first["Location"]
    with active(tenant_a):
        assert RescoreRun.objects.count() == 1
        assert AuditEvent.objects.filter(action="monitoring.rescore_now").count() == 1


def test_a_read_only_key_may_read_but_not_start(client, read_key, tenant_a, sent_tasks):
    with active(tenant_a):
        run = RescoreRunFactory(tenant=tenant_a)
    response = client.post(URL, content_type="application/json", headers=bearer(read_key))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 403
    with active(tenant_a):
        assert RescoreRun.objects.count() == 1
    assert client.get(URL, headers=bearer(read_key)).status_code == 200
    assert client.get(f"{URL}{run.pk}/", headers=bearer(read_key)).status_code == 200


def test_members_start_runs_only_with_manage_monitoring(client, owner, tenant_a, sent_tasks):
    with active(tenant_a):
        analyst = MembershipFactory(tenant=tenant_a, role="analyst").user
    client.force_login(analyst)
    refused = client.post(URL, content_type="application/json")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert client.get(URL).status_code == 200
    client.force_login(owner)
    started = client.post(URL, content_type="application/json")
    assert started.status_code == 202
    assert started.json()["requested_by"] == owner.get_username()


def test_the_list_is_newest_first_and_cursor_paginated(api, tenant_a):
    with active(tenant_a):
        runs = [
            RescoreRunFactory(tenant=tenant_a, trigger="monthly", status="succeeded"),
            RescoreRunFactory(tenant=tenant_a, status="failed", error="OperationalError: gone"),
            RescoreRunFactory(tenant=tenant_a, status="queued"),
        ]
    page = api.get(URL, {"page_size": 2}).json()
    assert [row["id"] for row in page["results"]] == [runs[2].pk, runs[1].pk]
    assert page["results"][1]["error"] == "OperationalError: gone"
    assert page["results"][1]["status"] == "failed"
    rest = api.get(page["next"]).json()
    assert [row["id"] for row in rest["results"]] == [runs[0].pk]
    assert rest["results"][0]["trigger"] == "monthly"
    assert rest["next"] is None


def test_the_detail_shows_progress_after_the_run_executes(
    api, tenant_a, buyers, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = start(api).json()["id"]
    queued = api.get(f"{URL}{run_id}/").json()
    assert (queued["status"], queued["scored"], queued["total"], queued["percent"]) == (
        "queued",
        0,
        0,
        0,
    )
    # The task body, as the worker runs it.
    assert rescore_run_execute(tenant_id=tenant_a.pk, run_id=run_id)
    response = api.get(f"{URL}{run_id}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["status_label"], body["done"]) == ("succeeded", "Finished", True)
    assert (body["scored"], body["total"], body["percent"]) == (3, 3, 100)
    assert body["alerts_raised"] >= 0
    assert body["error"] == ""
    assert body["started_at"] is not None
    assert body["finished_at"] is not None
    # Once finished, a new start is a new run.
    again = start(api)
    assert again.status_code == 202
    assert again.json()["id"] != run_id


def test_a_running_run_shows_partial_progress(api, tenant_a):
    with active(tenant_a):
        run = RescoreRunFactory(
            tenant=tenant_a, status="running", total_buyers=200, scored_buyers=50, alerts_raised=2
        )
    body = api.get(f"{URL}{run.pk}/").json()
    assert (body["percent"], body["scored"], body["total"], body["alerts_raised"]) == (
        25,
        50,
        200,
        2,
    )
    assert body["done"] is False


def test_another_tenants_run_is_not_found(api, tenant_b):
    with active(tenant_b):
        theirs = RescoreRunFactory(tenant=tenant_b, error="tenant-b-secret")
    response = api.get(f"{URL}{theirs.pk}/")
    missing = api.get(f"{URL}{theirs.pk + 1000}/")
    assert response.status_code == missing.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "tenant-b-secret" not in api.get(URL).content.decode()
