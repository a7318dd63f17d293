"""/healthz: database, Redis, Celery workers and beat.

"down" (HTTP 503) when the database or Redis fails, the web process cannot serve; "degraded"
when no worker answers or beat is late, background work is stalled but pages still work.
"""

import time
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from kombu.exceptions import OperationalError as KombuOperationalError
from redis import Redis, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout

from creditguard.celery import BEAT_HEARTBEAT_KEY, app

BEAT_LATE_AFTER_SECONDS = 120
RETRY_AFTER_SECONDS = 30


def is_unavailable_error(error: BaseException | None) -> bool:
    """Whether `error` means the database or Redis cannot be reached (a 503 worth retrying),
    rather than a bug: connection refused or dropped, server shutting down, broker down."""
    if isinstance(error, OperationalError | InterfaceError | RedisConnectionError | RedisTimeout):
        return True
    return isinstance(error, KombuOperationalError)


def _redis() -> Redis:
    return Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def check_database() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"ok": False, "error": str(error)}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_redis() -> dict[str, Any]:
    started = time.monotonic()
    try:
        _redis().ping()
    except RedisError as error:
        return {"ok": False, "error": str(error)}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_workers() -> dict[str, Any]:
    try:
        replies = app.control.ping(timeout=1.0)
    except Exception as error:
        return {"ok": False, "workers": 0, "error": str(error)}
    return {"ok": bool(replies), "workers": len(replies)}


def check_beat() -> dict[str, Any]:
    try:
        last = _redis().get(BEAT_HEARTBEAT_KEY)
    except RedisError as error:
        return {"ok": False, "error": str(error)}
    if last is None:
        return {"ok": False, "last_heartbeat_age_s": None}
    age = round(time.time() - float(last), 1)
    return {"ok": age < BEAT_LATE_AFTER_SECONDS, "last_heartbeat_age_s": age}


def check_all() -> dict[str, Any]:
    checks = {
        "database": check_database(),
        "redis": check_redis(),
        "worker": check_workers(),
        "beat": check_beat(),
    }
    if not (checks["database"]["ok"] and checks["redis"]["ok"]):
        status = "down"
    elif not (checks["worker"]["ok"] and checks["beat"]["ok"]):
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "checks": checks}
