"""Production settings: complete from the documented environment, refuse to start without it."""

import importlib
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PRODUCTION_MODULE = "creditguard.settings.production"
REQUIRED = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "SITE_URL"]


def production_environment(**overrides: str) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://creditguard:secret@db.internal:5432/creditguard",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "ALLOWED_HOSTS": "creditguard.example",
        "SITE_URL": "https://creditguard.example",
        **overrides,
    }


def check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "CREDITGUARD_", "PYTEST_")) and name not in REQUIRED
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": PRODUCTION_MODULE,
            **production_environment(**overrides),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_documented_environment():
    result = check_deploy()

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_fails_on_a_weak_secret_key():
    result = check_deploy(SECRET_KEY="too-short")

    assert result.returncode != 0
    assert "security.W009" in result.stderr


@pytest.fixture
def fresh_production_import(monkeypatch):
    def load(**environment: str):
        for name in REQUIRED:
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop(PRODUCTION_MODULE, None)
        return importlib.import_module(PRODUCTION_MODULE)

    yield load
    sys.modules.pop(PRODUCTION_MODULE, None)


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_settings_refuse_to_load_without(fresh_production_import, missing):
    environment = production_environment()
    del environment[missing]

    with pytest.raises(ImproperlyConfigured, match=f"{missing} must be set in production"):
        fresh_production_import(**environment)


@pytest.mark.parametrize(
    "site_url", ["creditguard.example", "https://", "ftp://creditguard.example"]
)
def test_production_settings_refuse_a_site_url_that_is_not_absolute(
    fresh_production_import, site_url
):
    with pytest.raises(ImproperlyConfigured, match="SITE_URL must be an absolute URL"):
        fresh_production_import(**production_environment(SITE_URL=site_url))


def test_production_settings_are_secure_by_default(fresh_production_import):
    production = fresh_production_import(**production_environment())

    assert production.DEBUG is False
    assert production.ALLOWED_HOSTS == ["creditguard.example"]
    assert production.SITE_URL == "https://creditguard.example"
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
    assert production.SECURE_SSL_REDIRECT and production.SECURE_HSTS_SECONDS >= 31_536_000
