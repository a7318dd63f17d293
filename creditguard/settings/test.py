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

# A Celery worker started by the tests must use the test database of the process that started it.
if os.environ.get("CREDITGUARD_TEST_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["CREDITGUARD_TEST_DATABASE_NAME"]  # noqa: F405
