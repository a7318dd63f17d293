"""REST API for back-fills: start (one at a time, Idempotency-Key, validated window), progress,
list, scopes and roles, and another tenant's run "not found"."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from creditguard.audit.models import AuditEvent
from monitoring import backfill
from monitoring.backfill import backfill_execute
from monitoring.models import BackfillRun
from tests.conftest import active, bearer
from tests.factories import BuyerFactory, InvoiceFactory, MembershipFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/backfills/"
WINDOW = {"first_period": "2025-01-01", "last_period": "2025-03-31"}


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(backfill, "today", lambda: date(2026, 12, 7))


@pytest.fixture
def buyers(tenant_a):
    with active(tenant_a):
        buyers = [BuyerFactory(tenant=tenant_a) for _ in range(3)]
        for buyer in buyers:
            InvoiceFactory(
                buyer=buyer,
                tenant=tenant_a,
                issue_date=date(2024, 11, 5),
                due_date=date(2024, 11, 5) + timedelta(days=30),
                amount=Decimal(500),
            )
        return buyers


def start(client, body=None, **headers):
    return client.post(URL, body or {}, content_type="application/json", headers=headers)


def run_row(tenant, **values):
    values = {"first_period": date(2025, 1, 1), "last_period": date(2025, 3, 1)} | values
    with active(tenant):
        return BackfillRun.objects.create(tenant=tenant, model_version="cg-2026.2", **values)


def test_starting_answers_202_with_its_location_and_audits_the_api_key(
    api, api_key_a, tenant_a, buyers, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = start(api, WINDOW)

    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["url"] == f"{URL}{body['id']}/"
    assert (body["first_period"], body["last_period"], body["total_periods"]) == (
        "2025-01-01",
        "2025-03-01",
        3,
    )
    assert (body["status"], body["percent"], body["done"], body["requested_by"]) == (
        "queued",
        0,
        False,
        None,
    )
    assert [(task.name, task.args) for task in sent_tasks] == [
        ("monitoring.backfill_run", (body["id"],))
    ]
    with active(tenant_a):
        event = AuditEvent.objects.get(action="monitoring.backfill_start")
        assert (event.actor_api_key, event.object_id) == (api_key_a[0], str(body["id"]))


def test_without_a_window_the_whole_history_is_scored(api, buyers):
    body = start(api).json()

    # The first invoices were issued on 5 November 2024; the last month is November 2026.
    assert (body["first_period"], body["last_period"], body["total_periods"]) == (
        "2024-12-01",
        "2026-11-01",
        24,
    )


def test_a_second_start_while_one_is_pending_answers_the_same_run(api, tenant_a, buyers):
    first = start(api, WINDOW)
    second = start(api, {"first_period": "2024-12-01"})

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    with active(tenant_a):
        assert BackfillRun.objects.count() == 1


def test_an_idempotency_key_replays_the_first_answer(
    api, tenant_a, buyers, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = start(api, WINDOW, **{"Idempotency-Key": "history-1"})
    with django_capture_on_commit_callbacks(execute=True):
        replayed = start(api, WINDOW, **{"Idempotency-Key": "history-1"})

    assert (first.status_code, replayed.status_code) == (202, 202)
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json() and replayed["Location"] == first["Location"]
    assert len(sent_tasks) == 1
    other_body = start(api, {"first_period": "2025-02-01"}, **{"Idempotency-Key": "history-1"})
    assert other_body.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"last_period": "2026-12-01"}, "last_period", id="the-current-month"),
        pytest.param(
            {"first_period": "2025-06-01", "last_period": "2025-01-01"},
            "first_period",
            id="first-after-last",
        ),
        pytest.param({"first_period": "2025-13-01"}, "first_period", id="not-a-date"),
        pytest.param(
            {"first_period": "2010-01-01", "last_period": "2025-01-01"},
            "first_period",
            id="over-ten-years",
        ),
    ],
)
def test_an_impossible_window_is_a_400_problem(api, tenant_a, buyers, body, field):
    response = start(api, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert [error["field"] for error in problem["errors"]] == [field]
    with active(tenant_a):
        assert not BackfillRun.objects.exists()


def test_a_tenant_without_history_is_told_so(api, tenant_a):
    response = start(api)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "non_field_errors",
            "message": "There is no history to score yet: no invoices or financial statements.",
        }
    ]


def test_a_read_only_key_may_read_but_not_start(client, read_key, tenant_a, buyers):
    run = run_row(tenant_a)

    response = client.post(URL, {}, content_type="application/json", headers=bearer(read_key))

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    with active(tenant_a):
        assert BackfillRun.objects.count() == 1
    assert client.get(URL, headers=bearer(read_key)).status_code == 200
    assert client.get(f"{URL}{run.pk}/", headers=bearer(read_key)).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_members_start_only_with_manage_monitoring(client, owner, tenant_a, buyers, role):
    with active(tenant_a):
        member = MembershipFactory(tenant=tenant_a, role=role).user
    client.force_login(member)

    refused = start(client, WINDOW)

    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert client.get(URL).status_code == 200
    client.force_login(owner)
    started = start(client, WINDOW)
    assert started.status_code == 202
    assert started.json()["requested_by"] == owner.get_username()


def test_the_list_is_newest_first(api, tenant_a):
    runs = [
        run_row(tenant_a, status="succeeded", done_periods=3, total_periods=3),
        run_row(tenant_a, status="failed", error="OperationalError: gone"),
        run_row(tenant_a, status="queued"),
    ]

    page = api.get(URL, {"page_size": 2}).json()

    assert [row["id"] for row in page["results"]] == [runs[2].pk, runs[1].pk]
    assert page["results"][1]["error"] == "OperationalError: gone"
    rest = api.get(page["next"]).json()
    assert [row["id"] for row in rest["results"]] == [runs[0].pk]
    assert (rest["results"][0]["percent"], rest["results"][0]["done"]) == (100, True)


def test_the_detail_shows_progress_after_the_run_executes(
    api, tenant_a, buyers, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = start(api, WINDOW).json()["id"]
    queued = api.get(f"{URL}{run_id}/").json()
    assert (queued["status"], queued["done_periods"], queued["total_periods"]) == ("queued", 0, 3)

    assert backfill_execute(run_id, tenant_id=tenant_a.pk)

    body = api.get(f"{URL}{run_id}/").json()
    assert (body["status"], body["status_label"], body["done"], body["percent"]) == (
        "succeeded",
        "Finished",
        True,
        100,
    )
    assert (body["done_periods"], body["total_periods"], body["scores_written"]) == (3, 3, 9)
    assert body["model_version"]


def test_another_tenants_back_fill_is_not_found(client, api_key_b, tenant_a):
    run = run_row(tenant_a)
    client.defaults["HTTP_AUTHORIZATION"] = bearer(api_key_b[1])["Authorization"]

    detail = client.get(f"{URL}{run.pk}/")

    assert detail.status_code == 404
    assert detail["Content-Type"] == "application/problem+json"
    assert client.get(URL).json()["results"] == []


def test_the_schema_documents_the_back_fill_endpoints(api):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()

    start_operation = schema["paths"]["/api/v1/backfills/"]["post"]
    assert {"200", "202", "400", "403"} <= set(start_operation["responses"])
    assert "Idempotency-Key" in {parameter["name"] for parameter in start_operation["parameters"]}
    assert "get" in schema["paths"]["/api/v1/backfills/{id}/"]
    backtest_parameters = schema["paths"]["/api/v1/backtests/"]["get"]["parameters"]
    assert {"first_period", "last_period"} <= {
        parameter["name"] for parameter in backtest_parameters
    }
