"""The PD calibration page: evidence per grade, recalibrate and activate for MANAGE_MONITORING
only, other tenants' calibrations not found."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from monitoring.calibration import calibrate
from monitoring.models import PdCalibration
from tests.conftest import active
from tests.factories import MembershipFactory
from tests.monitoring.test_calibration_services import VERSION, scored

pytestmark = pytest.mark.django_db

URL = "/monitoring/calibration/"


def page_text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def viewer(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="viewer").user


@pytest.fixture
def calibrated(tenant_a, owner):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=16, defaults=4)
        return calibrate(tenant=tenant_a, actor=owner, model_version=VERSION)


def test_the_page_shows_the_active_calibration_with_its_evidence(client, viewer, calibrated):
    client.force_login(viewer)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.context["chosen"] == VERSION
    assert response.context["active"] == calibrated
    text = page_text(response)
    pd_6 = f"{Decimal(calibrated.pd_by_grade['6']) * 100:.2f}%"
    assert f"20 4 20.00% 1.60% {pd_6}" in text
    assert "How it works: each grade starts from the model’s own PD" in text
    assert 'href="/monitoring/calibration/" class="active"' in response.content.decode()
    # A viewer reads, but neither recalibrates nor activates.
    assert "Recalibrate" not in text and "Activate" not in text


def test_a_model_never_calibrated_shows_its_own_pds(client, viewer, tenant_a):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=1, defaults=0)
    client.force_login(viewer)

    text = page_text(client.get(URL))

    assert "Not calibrated yet" in text and "1.60%" in text


def test_a_manager_recalibrates_with_a_window_and_a_prior_strength(
    client, owner, tenant_a, calibrated
):
    client.force_login(owner)

    response = client.post(
        URL,
        {
            "model_version": VERSION,
            "first_period": "2024-01",
            "last_period": "2024-01",
            "prior_strength": "10",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?model_version={VERSION}"
    with active(tenant_a):
        newest = PdCalibration.objects.get(active=True)
    assert (newest.version, newest.prior_strength) == (2, Decimal("10.00"))
    text = page_text(client.get(response["Location"]))
    assert f"Version 2 of the PDs of model {VERSION} is now active." in text


def test_recalibrating_without_outcomes_says_why(client, owner, tenant_a):
    with active(tenant_a):
        scored(tenant_a, grade=6, performers=1, defaults=0)
    client.force_login(owner)

    response = client.post(
        URL, {"model_version": VERSION, "first_period": "2025-01", "prior_strength": "50"}
    )

    assert response.status_code == 200
    assert "has a known outcome yet" in page_text(response)
    with active(tenant_a):
        assert not PdCalibration.objects.exists()


def test_a_bad_prior_strength_is_shown_on_the_form(client, owner, calibrated):
    client.force_login(owner)

    response = client.post(URL, {"model_version": VERSION, "prior_strength": "0"})

    assert response.status_code == 200
    assert response.context["form"].errors["prior_strength"]


def test_a_manager_activates_an_older_version(client, owner, tenant_a, calibrated):
    with active(tenant_a):
        calibrate(tenant=tenant_a, actor=owner, model_version=VERSION, prior_strength=5)
    client.force_login(owner)

    response = client.post(reverse("monitoring:calibration-activate", args=[calibrated.pk]))

    assert response.status_code == 302
    calibrated.refresh_from_db()
    assert calibrated.active


def test_a_viewer_can_neither_recalibrate_nor_activate(client, viewer, tenant_a, calibrated):
    client.force_login(viewer)

    assert client.post(URL, {"model_version": VERSION, "prior_strength": "50"}).status_code == 403
    activate = reverse("monitoring:calibration-activate", args=[calibrated.pk])
    assert client.post(activate).status_code == 403
    with active(tenant_a):
        assert PdCalibration.objects.count() == 1


def test_another_tenants_calibrations_are_not_found(client, outsider, calibrated):
    client.force_login(outsider)

    response = client.get(URL, {"model_version": VERSION})
    activate = client.post(reverse("monitoring:calibration-activate", args=[calibrated.pk]))

    assert response.context["versions"] == [] and response.context["active"] is None
    assert "Nothing to calibrate yet" in page_text(response)
    assert activate.status_code == 404


def test_the_page_renders_in_chinese(client, owner, calibrated):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get(URL)

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()
