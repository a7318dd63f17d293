"""`make run`'s supervisor: a dead child is restarted with back-off; a dead dependency stops all.

Real child processes (small Python programs), real signals; only the clock is shortened.
"""

import sys
import threading
import time
from pathlib import Path

from creditguard.devstack import Supervisor

# Starts, records one line per start, then exits with 3 after a moment (a crashing web server).
CRASHER = "import sys, time; open(sys.argv[1], 'a').write('start\\n'); time.sleep(0.2); sys.exit(3)"
SLEEPER = "import time; time.sleep(60)"


def supervise(children, *, dependency_problem=lambda: None, **timing):
    stop = threading.Event()
    supervisor = Supervisor(
        children,
        dependency_problem=dependency_problem,
        stop=stop,
        poll_interval=0.05,
        dependency_interval=0.1,
        **timing,
    )
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(code=supervisor.run()))
    thread.start()
    return supervisor, stop, thread, result


def test_a_child_that_dies_is_restarted_with_growing_back_off_and_the_rest_keep_running(
    tmp_path: Path, capsys
):
    starts = tmp_path / "starts"
    supervisor, stop, thread, result = supervise(
        {
            "web": [sys.executable, "-c", CRASHER, str(starts)],
            "worker": [sys.executable, "-c", SLEEPER],
        },
        first_backoff=0.1,
        max_backoff=0.4,
    )
    deadline = time.monotonic() + 20
    while supervisor.restarts["web"] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = supervisor.processes["worker"]
    stop.set()
    thread.join(30)

    assert supervisor.restarts["web"] >= 4
    assert starts.read_text().count("start") >= 4
    assert supervisor.restarts["worker"] == 0  # never touched while web kept crashing
    assert worker.poll() is not None  # and stopped with the stack
    assert result["code"] == 0
    log = capsys.readouterr().err
    assert "web exited with code 3; restarting it in 0.1 s" in log
    assert "restarting it in 0.2 s" in log
    assert "restarting it in 0.4 s" in log  # doubled, then capped
    assert "restarting it in 0.8 s" not in log


def test_a_dead_dependency_stops_every_child(tmp_path: Path, capsys):
    alive = {"db": True}
    supervisor, _stop, thread, result = supervise(
        {"web": [sys.executable, "-c", SLEEPER], "beat": [sys.executable, "-c", SLEEPER]},
        dependency_problem=lambda: (
            None if alive["db"] else "the embedded PostgreSQL is not running"
        ),
    )
    time.sleep(0.3)
    children = dict(supervisor.processes)
    assert all(child.poll() is None for child in children.values())

    alive["db"] = False
    thread.join(30)

    assert not thread.is_alive()
    assert result["code"] == 1
    assert all(child.poll() is not None for child in children.values())
    assert (
        "the embedded PostgreSQL is not running; stopping web, worker and beat"
        in capsys.readouterr().err
    )


def test_ctrl_c_stops_the_children(tmp_path: Path):
    supervisor, stop, thread, result = supervise({"web": [sys.executable, "-c", SLEEPER]})
    time.sleep(0.2)
    web = supervisor.processes["web"]

    stop.set()
    thread.join(30)

    assert web.poll() is not None
    assert result["code"] == 0
