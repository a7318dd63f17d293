"""Shared fixtures: real PostgreSQL (as the runtime role, so RLS applies), real Redis.

Three standing users, as in healthchecks' tests: `owner` (admin of tenant A), `teammate`
(analyst in A) and `outsider` (admin of tenant B).
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module

import pytest
from django.conf import settings
from django.db import connections
from django.test import TransactionTestCase
from django.utils import translation

from creditguard.tenancy.context import activate_tenant, deactivate_tenant, tenant_scope
from creditguard.tenancy.db import owner_role
from tests.factories import ApiKeyFactory, MembershipFactory, TenantFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(available: bool, reason: str) -> None:
    """Skip a test whose external prerequisite is missing, except in CI where that fails."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: missing services fail instead of skipping)")
    pytest.skip(reason)


_flush_as_runtime_role = TransactionTestCase._fixture_teardown


# Reference data that migrations load; a flush empties it, so it is loaded again.
DATA_MIGRATIONS = [
    ("creditguard.reference.migrations.0001_initial", "load_countries"),
    ("monitoring.migrations.0002_load_risk_data", "load"),
]


def _flush_as_owner(self: TransactionTestCase) -> None:
    # Flushing truncates tables; the runtime role may not TRUNCATE (it would bypass RLS).
    from django.apps import apps

    with owner_role():
        _flush_as_runtime_role(self)
        for module, function in DATA_MIGRATIONS:
            getattr(import_module(module), function)(apps, None)


TransactionTestCase._fixture_teardown = _flush_as_owner


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_modify_db_settings, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock(), owner_role():
        database_config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    yield
    with django_db_blocker.unblock(), owner_role():
        teardown_databases(database_config, verbosity=0)


@pytest.fixture(autouse=True)
def _no_tenant_leaks_between_tests() -> Iterator[None]:
    with tenant_scope():
        yield


@dataclass(frozen=True)
class SentTask:
    name: str
    args: tuple
    kwargs: dict
    countdown: float | None = None


@pytest.fixture
def sent_tasks(monkeypatch) -> list[SentTask]:
    """Tasks sent to the broker (through `creditguard.queue` or a task's `delay`), recorded
    in order instead of sent. `enqueue_on_commit` still waits for the commit: capture it with
    `django_capture_on_commit_callbacks(execute=True)`."""
    from creditguard.celery import app

    sent: list[SentTask] = []

    def send_task(name, args=None, kwargs=None, countdown=None, **options) -> None:
        sent.append(SentTask(name, tuple(args or ()), dict(kwargs or {}), countdown))

    monkeypatch.setattr(app, "send_task", send_task)
    return sent


@pytest.fixture(autouse=True)
def _fresh_password_reset_counters() -> None:
    """Password-reset mails are throttled per address and client in Redis (this process's own
    key prefix, settings.test); every test starts with none sent."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(f"{prefix}:*password-reset:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _no_language_leaks_between_tests() -> Iterator[None]:
    # A request or task in Chinese leaves its language active in the thread.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def tenant_a(db):
    return TenantFactory(slug="tenant-a", name="Tenant A Ltd")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(slug="tenant-b", name="Tenant B Ltd")


@contextmanager
def active(tenant) -> Iterator[None]:
    """Activate `tenant` inside the test's transaction (the test is already atomic)."""
    activate_tenant(tenant)
    try:
        yield
    finally:
        deactivate_tenant()


@pytest.fixture
def owner(tenant_a):
    with active(tenant_a):
        return MembershipFactory(tenant=tenant_a, role="admin", user__email="owner@a.example").user


@pytest.fixture
def teammate(tenant_a):
    with active(tenant_a):
        return MembershipFactory(
            tenant=tenant_a, role="analyst", user__email="teammate@a.example"
        ).user


@pytest.fixture
def outsider(tenant_b):
    with active(tenant_b):
        return MembershipFactory(
            tenant=tenant_b, role="admin", user__email="outsider@b.example"
        ).user


@pytest.fixture
def api_key_a(tenant_a):
    """(ApiKey, raw key) with write scope for tenant A."""
    with active(tenant_a):
        return ApiKeyFactory.create_with_raw_key(tenant=tenant_a, scope="write")


@pytest.fixture
def api_key_b(tenant_b):
    with active(tenant_b):
        return ApiKeyFactory.create_with_raw_key(tenant=tenant_b, scope="write")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on this test run's own queue and test database.

    Tests that use it must commit their data: mark them `django_db(transaction=True)`.
    """
    from creditguard.celery import app

    with django_db_blocker.unblock():
        database_name = connections["default"].settings_dict["NAME"]
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    hostname = f"{queue}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditguard.settings.test",
        "CREDITGUARD_TEST_DATABASE_NAME": database_name,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "creditguard",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--queues",
            queue,
            "--hostname",
            hostname,
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[hostname], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the test Celery worker did not start")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def bearer(raw_key: str) -> dict[str, str]:
    """Request headers authenticating with an API key."""
    return {"Authorization": f"Bearer {raw_key}"}


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started after (so stopped before) the test database.

    Otherwise a browser test that runs first in a process drops the database while the
    server thread still holds a connection to it.
    """
    return live_server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(transactional_db, live_server):
    """A Playwright page in Debian's headless Chromium (English) for `live_server`.

    The server thread only sees committed rows: create them in fixtures the test lists
    *before* `browser_page`. While the browser runs, Playwright keeps an asyncio loop running
    in this thread and Django refuses ORM calls (SynchronousOnlyOperation); do not silence
    that with DJANGO_ALLOW_ASYNC_UNSAFE, such calls get a second connection that outlives the
    test and blocks dropping the test database.
    """
    require_service(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (`make chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-GB")
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
