"""`make chromium` on a machine without Chromium: the recipe reaches apt-get, as root and via sudo.

The recipe runs for real under GNU make and /bin/sh; only the system commands it calls
(`id`, `sudo`, `apt-get`) are stand-ins on a PATH of their own, which also hides any Chromium
the machine has. Each stand-in logs its arguments (and DEBIAN_FRONTEND) one call per line.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make") or "make"


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path):
    """A PATH with stand-ins; `configure(uid=…, apt_fails=…)` sets them up and runs the recipe."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("sh", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool))

    def run(*, uid: int, apt_fails: bool = False, ci: bool = False, fonts: bool = False):
        _stub(bin_dir, "id", f'[ "$1" = -u ] && echo {uid}\n')
        _stub(bin_dir, "sudo", f'echo "sudo $*" >> {log}\n[ "$1" = -n ] && shift\nexec "$@"\n')
        failure = '[ "$1" = install ] || exit 0\necho "E: Unable to locate package chromium" >&2\nexit 100\n'
        _stub(
            bin_dir,
            "apt-get",
            f'echo "apt-get DEBIAN_FRONTEND=${{DEBIAN_FRONTEND:-}} $*" >> {log}\n'
            + (failure if apt_fails else "exit 0\n"),
        )
        font = tmp_path / "NotoSansCJK-Regular.ttc"
        if fonts:
            font.write_bytes(b"")
        environment = {"PATH": str(bin_dir), "HOME": str(tmp_path), "CJK_FONT": str(font)}
        if ci:
            environment["CI"] = "true"
        result = subprocess.run(
            [MAKE, "--no-print-directory", "-C", str(ROOT), "chromium"],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        calls = log.read_text().splitlines() if log.exists() else []
        return result, calls

    return run


INSTALL = "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq chromium fonts-noto-cjk"
UPDATE = "apt-get DEBIAN_FRONTEND=noninteractive update -qq"


def test_as_root_apt_get_installs_chromium_and_cjk_fonts_directly(machine):
    result, calls = machine(uid=0)

    assert result.returncode == 0, result.stderr
    assert calls == [UPDATE, INSTALL]
    assert "installing Debian's chromium" in result.stdout


def test_as_a_user_apt_get_runs_through_passwordless_sudo(machine):
    result, calls = machine(uid=1000)

    assert result.returncode == 0, result.stderr
    assert calls == [
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        UPDATE,
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk",
        INSTALL,
    ]


def test_a_failed_install_says_why_and_stops_ci(machine):
    result, calls = machine(uid=0, apt_fails=True, ci=True)

    assert calls == [UPDATE, INSTALL]
    assert "E: Unable to locate package chromium" in result.stderr
    assert "could not install chromium" in result.stderr
    assert result.returncode != 0


def test_a_failed_install_outside_ci_lets_the_browser_tests_skip(machine):
    result, _ = machine(uid=0, apt_fails=True)

    assert "E: Unable to locate package chromium" in result.stderr
    assert result.returncode == 0


def test_nothing_is_installed_when_chromium_and_the_cjk_fonts_are_there(machine, tmp_path):
    _stub(tmp_path / "bin", "chromium", "exit 0\n")

    result, calls = machine(uid=0, fonts=True)

    assert result.returncode == 0
    assert calls == []


def test_the_cjk_fonts_are_installed_when_only_chromium_is_there(machine, tmp_path):
    _stub(tmp_path / "bin", "chromium", "exit 0\n")

    result, calls = machine(uid=0)

    assert result.returncode == 0
    assert calls == [UPDATE, INSTALL]
