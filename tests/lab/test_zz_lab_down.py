"""Taking the lab down leaves nothing behind: no process, mount, network namespace or tap device.

Runs LAST among the host suites (`make test` runs it after every other `lab` suite; the file name
sorts last in tests/lab too): it takes down the lab the others used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jamaa.lab.lab import Lab, LabHandle, lab_dir, leftovers
from jamaa.lab.network import host_netns
from jamaa.lab.state import load_state
from jamaa.lab.system import NETNS_DIR, OWNER_ENV, is_alive, netns_prefix, start_time
from jamaa.paths import REPO

pytestmark = pytest.mark.lab


def test_down_leaves_nothing_behind(lab: LabHandle) -> None:
    before = leftovers()
    assert any(item.startswith(f"netns {netns_prefix()}") for item in before)
    assert any(item.startswith("mount ") for item in before)
    assert any(item.startswith("process ") for item in before)
    state = load_state(lab_dir())
    assert state is not None
    pids = [(p.pid, p.started) for p in state.processes]

    done = Lab(lab.environments).down()

    assert any(line.startswith("stopped nspawn:srv-01") for line in done), done
    assert leftovers() == []
    assert not any(is_alive(pid, started) for pid, started in pids)
    assert not lab.inventory.exists() and not lab.ssh_config.exists()
    assert load_state(lab_dir()) is None


def test_down_twice_is_safe() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "lab", "down"], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert "nothing left behind" in proc.stdout
    assert leftovers() == []


def wait_until_exec_finished(pid: int, timeout: float = 10.0) -> None:
    """Wait until the kernel has laid out PID's new environment (its /proc environ is non-empty).

    Popen returns once execve has closed the close-on-exec pipe, which the kernel does before it
    writes the new program's argument and environment area: for a moment /proc/PID/environ reads
    empty, and a loaded CI machine saw `leftovers()` miss the orphan in that window.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not Path(f"/proc/{pid}/environ").read_bytes():
        time.sleep(0.01)


def test_down_after_a_crash_sweeps_what_only_the_lab_makes(tmp_path: Path) -> None:
    """A crashed `up`: unreadable state, a namespace, an overlay mount, an orphan lab process."""
    directory = lab_dir()
    host = directory / "hosts" / "crashed"
    lower, upper, work, root = (host / d for d in ("lower", "upper", "work", "root"))
    for d in (lower, upper, work, root):
        d.mkdir(parents=True)
    (directory / "state.json").write_text("{ half written")
    netns = host_netns("crashed")
    subprocess.run(["ip", "netns", "add", netns], check=True)
    subprocess.run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={lower},upperdir={upper},workdir={work}",
            root,
        ],
        check=True,
    )
    orphan = subprocess.Popen(
        ["sleep", "600"], env={**os.environ, OWNER_ENV: str(directory)}, start_new_session=True
    )
    orphan_started = start_time(orphan.pid)
    wait_until_exec_finished(orphan.pid)
    try:
        found = leftovers()
        assert f"netns {netns}" in found
        assert f"mount {root}" in found
        assert f"process {orphan.pid}" in found

        Lab(REPO / "environments").down()

        orphan.wait(timeout=10)
        assert not is_alive(orphan.pid, orphan_started)
        assert leftovers() == []
        assert not (NETNS_DIR / netns).exists()
        assert not host.exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()
