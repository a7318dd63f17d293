"""Tests: real PostgreSQL and Redis (embedded unless DATABASE_URL/REDIS_URL are set)."""

import os

from .base import *  # noqa: F403

SECRET_KEY = "test-only-key"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"api_key": "100000/min"}  # noqa: F405
CELERY_BEAT_SCHEDULE = {}
# Webhook tests post to a receiver on 127.0.0.1 and retry within seconds (also in the worker).
WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
WEBHOOKS_RETRY_BASE_SECONDS = 1

# A Celery worker started by the tests must use the test database of the process that started it.
if os.environ.get("CREDITGUARD_TEST_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["CREDITGUARD_TEST_DATABASE_NAME"]  # noqa: F405

# Several test runs may share one PostgreSQL and Redis (developers, helpers, CI): each run gets
# its own test database and its own Celery queue, inherited by the workers it starts.
_run_id = os.environ.setdefault("CREDITGUARD_TEST_RUN_ID", str(os.getpid()))
DATABASES["default"]["TEST"] = {"NAME": f"test_creditguard_{_run_id}"}  # noqa: F405
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Throttle counters (API keys, password-reset mails): per run and per test process, so a test
# can reset its own without touching a neighbour's.
CACHES["default"]["KEY_PREFIX"] = f"cg-test-{_run_id}-{_worker}"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"test-{_run_id}-{_worker}"
