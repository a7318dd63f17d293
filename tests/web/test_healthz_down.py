import pytest
from django.test import override_settings

# Nothing listens on port 1: a real connection refusal, no mock.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_it_reports_down_with_503_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL=UNREACHABLE_REDIS):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["redis"]["error"]
