"""REST API for PD calibrations: list, read, calibrate (201, Idempotency-Key, 400 naming the
field), activate; read keys and viewers cannot write; other tenants' calibrations not found."""

from decimal import Decimal

import pytest

from creditguard.audit.models import AuditEvent
from monitoring.calibration import calibrate
from monitoring.models import PdCalibration
from tests.conftest import active, bearer
from tests.factories import MembershipFactory
from tests.monitoring.test_calibration_services import VERSION, scored

pytestmark = pytest.mark.django_db

URL = "/api/v1/calibrations/"


@pytest.fixture
def history(tenant_a):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=16, defaults=4)


def post(client, body, **headers):
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_calibrating_answers_201_with_the_evidence_and_audits_the_key(
    api, api_key_a, tenant_a, history
):
    response = post(api, {"model_version": VERSION, "prior_strength": "20"})

    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == body["url"] == f"{URL}{body['id']}/"
    assert (body["model_version"], body["version"], body["active"]) == (VERSION, 1, True)
    assert (body["observations"], body["defaults"], body["prior_strength"]) == (20, 4, "20.00")
    assert body["created_by"] is None
    assert set(body["pd_by_grade"]) == {str(grade) for grade in range(1, 11)}
    grade_6 = body["evidence"][5]
    assert (grade_6["grade"], grade_6["observed_rate"], grade_6["prior_pd"]) == (
        6,
        "0.20000",
        "0.01600",
    )
    assert grade_6["pd"] == body["pd_by_grade"]["6"]
    with active(tenant_a):
        event = AuditEvent.objects.get(action="monitoring.calibrate")
        assert (event.actor_api_key, event.object_id) == (api_key_a[0], str(body["id"]))


def test_an_idempotency_key_replays_the_first_answer(
    api, tenant_a, history, django_capture_on_commit_callbacks
):
    # The key's lock is released when the request commits.
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, {"model_version": VERSION}, **{"Idempotency-Key": "cal-1"})
    with django_capture_on_commit_callbacks(execute=True):
        replayed = post(api, {"model_version": VERSION}, **{"Idempotency-Key": "cal-1"})

    assert (first.status_code, replayed.status_code) == (201, 201)
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    with active(tenant_a):
        assert PdCalibration.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "model_version"),
        ({"model_version": "never-used"}, "model_version"),
        ({"model_version": VERSION, "prior_strength": "0"}, "prior_strength"),
        ({"model_version": VERSION, "prior_strength": "many"}, "prior_strength"),
        ({"model_version": VERSION, "first_period": "2024-13-01"}, "first_period"),
        (
            {"model_version": VERSION, "first_period": "2024-03-01", "last_period": "2024-01-01"},
            "last_period",
        ),
        ({"model_version": VERSION, "first_period": "2025-01-01"}, "model_version"),
    ],
)
def test_bad_input_is_a_400_problem_naming_the_field(api, history, body, field):
    response = post(api, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_list_filters_by_model_version_and_detail_reads_one(api, tenant_a, owner, history):
    with active(tenant_a):
        first = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
        second = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION, prior_strength=5)

    listed = api.get(URL, {"model_version": VERSION}).json()
    other = api.get(URL, {"model_version": "other"}).json()
    detail = api.get(f"{URL}{first.pk}/").json()

    assert [row["version"] for row in listed["results"]] == [2, 1]
    assert [row["active"] for row in listed["results"]] == [True, False]
    assert other["results"] == []
    assert (detail["id"], detail["active"], detail["created_by"]) == (
        first.pk,
        False,
        "owner@a.example",
    )
    assert second.pk != first.pk


def test_activate_rolls_back_to_an_older_version(api, tenant_a, owner, history):
    with active(tenant_a):
        first = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
        calibrate(tenant=tenant_a, actor=owner, model_version=VERSION, prior_strength=5)

    response = api.post(f"{URL}{first.pk}/activate/")

    assert response.status_code == 200
    assert (response.json()["version"], response.json()["active"]) == (1, True)
    with active(tenant_a):
        assert list(
            PdCalibration.objects.filter(active=True).values_list("version", flat=True)
        ) == [1]


def test_a_read_key_reads_but_cannot_write(client, read_key, tenant_a, owner, history):
    with active(tenant_a):
        calibration = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
    headers = bearer(read_key)

    assert client.get(URL, headers=headers).status_code == 200
    refused = client.post(
        URL, {"model_version": VERSION}, content_type="application/json", headers=headers
    )
    assert refused.status_code == 403
    assert client.post(f"{URL}{calibration.pk}/activate/", headers=headers).status_code == 403
    with active(tenant_a):
        assert PdCalibration.objects.count() == 1


def test_a_viewer_reads_but_cannot_write(client, tenant_a, owner, history):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
        calibration = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
    client.force_login(viewer)

    assert client.get(f"{URL}{calibration.pk}/").status_code == 200
    assert post(client, {"model_version": VERSION}).status_code == 403
    assert client.post(f"{URL}{calibration.pk}/activate/").status_code == 403


def test_another_tenants_calibration_is_not_found(client, api_key_b, tenant_a, owner, history):
    with active(tenant_a):
        calibration = calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)
    headers = bearer(api_key_b[1])

    assert client.get(f"{URL}{calibration.pk}/", headers=headers).status_code == 404
    assert client.post(f"{URL}{calibration.pk}/activate/", headers=headers).status_code == 404
    assert client.get(URL, headers=headers).json()["results"] == []
    # Tenant B has no scores of the model: nothing of A's is counted for it.
    refused = client.post(
        URL, {"model_version": VERSION}, content_type="application/json", headers=headers
    )
    assert refused.status_code == 400
    with active(tenant_a):
        calibration.refresh_from_db()
        assert calibration.active and calibration.prior_strength == Decimal("50.00")
