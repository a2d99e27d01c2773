"""The host primitives the lab stands on: running commands, processes by PID, mounts, namespaces.

Everything here acts only on what the lab names as its own (paths under its directories, network
namespaces named `jamaa-INSTANCE-…`, PIDs it recorded with their start time or that carry its mark).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from jamaa.errors import JamaaError

NETNS_DIR = Path("/run/netns")


class LabError(JamaaError):
    """The lab could not do what was asked; the message says what and why."""

    exit_code = 1


def cache_dir() -> Path:
    """Where images and the lab's runtime live: `$JAMAA_CACHE`, else /var/cache/jamaa."""
    return Path(os.environ.get("JAMAA_CACHE") or "/var/cache/jamaa")


def instance_id() -> str:
    """Six hex digits naming this lab instance (from its cache directory), so two labs on one machine
    (another $JAMAA_CACHE) never share a namespace or a device name, nor sweep each other's."""
    return hashlib.sha256(str(cache_dir().resolve()).encode()).hexdigest()[:6]


def netns_prefix() -> str:
    return f"jamaa-{instance_id()}-"


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabError(f"{what}: needs root (network namespaces, mounts, systemd-nspawn)")


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_CONTAINER = 16  # a container's systemd, journald, udev and logind each hold some
INOTIFY_FLOOR = 1024


def ensure_inotify_instances(containers: int) -> int | None:
    """Raise fs.inotify.max_user_instances (a runtime setting) so every container's systemd can start:
    all of them run as root on the host, and Debian's default of 128 stops a boot at about the 20th
    container ("Failed to allocate manager object"). Returns the previous value when it was raised."""
    wanted = max(INOTIFY_FLOOR, INOTIFY_PER_CONTAINER * containers)
    current = int(INOTIFY_INSTANCES.read_text())
    if current >= wanted:
        return None
    INOTIFY_INSTANCES.write_text(f"{wanted}\n")
    return current


def require_tools(tools: Sequence[str]) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise LabError(
            f"missing host tools: {', '.join(missing)} (run `make apt`, which installs APT_PACKAGES)"
        )


def run(
    argv: Sequence[str | Path],
    *,
    log: Path | None = None,
    check: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; its output goes to `log` (appended) or is captured. Failure is a LabError."""
    args = [str(a) for a in argv]
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(args)}\n")
            out.flush()
            proc = subprocess.run(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                input=input_text,
                check=False,
                env=env,
            )
    else:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, input=input_text, check=False, env=env
        )
    if check and proc.returncode != 0:
        detail = f"see {log}" if log is not None else (proc.stderr or proc.stdout).strip()[-400:]
        raise LabError(f"`{' '.join(args[:4])}…` exited {proc.returncode}: {detail}")
    return proc


# --- processes -----------------------------------------------------------------------------------


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def is_alive(pid: int, started: int | None) -> bool:
    """True if PID still runs and is the same process (its start time matches, so not a reused PID)."""
    now = start_time(pid)
    if now is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and (started is None or now == started)


def terminate(pid: int, started: int | None) -> None:
    """SIGTERM, without waiting (to stop several processes at once, then `stop_pid` each)."""
    if is_alive(pid, started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def wait_all_gone(processes: Sequence[tuple[int, int | None]], timeout: float) -> None:
    """Wait until none of the processes runs any more, or `timeout` seconds (one deadline for all)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid, _ in processes:
            _reap(pid)
        if not any(is_alive(pid, started) for pid, started in processes):
            return
        time.sleep(0.1)


def stop_pid(pid: int, started: int | None, *, grace: float = 10.0) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Returns whether the process was running."""
    if not is_alive(pid, started):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid, started):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not is_alive(pid, started):
            break
        time.sleep(0.1)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pids_rooted_under(directory: Path) -> list[int]:
    """Processes whose root directory lies under `directory` (a container's processes)."""
    target = str(directory.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            root = os.readlink(entry / "root")
        except OSError:
            continue
        if root == target or root.startswith(target + "/"):
            found.append(int(entry.name))
    return found


OWNER_ENV = "JAMAA_LAB_OWNER"


def owner_env(owner: Path) -> dict[str, str]:
    """The environment for every process the lab starts: marked with its owner (the lab directory)."""
    return {**os.environ, OWNER_ENV: str(owner)}


def pids_owned_by(owner: Path) -> list[int]:
    """Processes started by the lab at `owner` (their environment carries the mark), even orphans."""
    mark = f"{OWNER_ENV}={owner}".encode()
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if mark in environ:
            found.append(int(entry.name))
    return found


def kill_all(pids: Sequence[int]) -> None:
    for pid in pids:
        stop_pid(pid, start_time(pid), grace=5.0)


# --- mounts and namespaces --------------------------------------------------------------------------


def mounts_under(directory: Path) -> list[Path]:
    """Mount points at or below `directory`, deepest first."""
    target = str(directory.resolve())
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == target or point.startswith(target + "/"):
            points.append(Path(point))
    return sorted(points, key=lambda p: len(p.parts), reverse=True)


def unmount_under(directory: Path) -> None:
    for point in mounts_under(directory):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


def lab_netns() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    prefix = netns_prefix()
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def netns_pids(name: str) -> list[int]:
    proc = run(["ip", "netns", "pids", name], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def delete_netns(name: str) -> None:
    kill_all(netns_pids(name))
    run(["ip", "netns", "del", name], check=False)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if needed), so two lab commands never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
