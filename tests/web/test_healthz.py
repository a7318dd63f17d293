import pytest
from django.conf import settings
from redis import Redis

from creditguard.celery import BEAT_HEARTBEAT_KEY, heartbeat


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_reports_database_redis_and_a_running_worker(client, celery_worker):
    Redis.from_url(settings.REDIS_URL).delete(BEAT_HEARTBEAT_KEY)
    heartbeat.delay().get(timeout=30)  # executed by the real worker

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["worker"]["workers"] >= 1
    assert body["checks"]["beat"]["last_heartbeat_age_s"] < 30
