"""/tmp, /dev/shm and the disk layout's filesystems (/home, /var, /var/tmp, /var/log, /var/log/audit):
separate mounts with their CIS options (`findmnt`, the kernel's view, and /etc/fstab for what persists)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, run_ok


def options(host: Any, target: str) -> tuple[str, set[str]]:
    # --mountpoint alone: findmnt refuses it together with --target (mutually exclusive)
    out = host.run(f"findmnt -n -o FSTYPE,OPTIONS --mountpoint {target}")
    assert out.rc == 0 and out.stdout.strip(), f"{target} is not a separate mount"
    # the last line is the mount on top, the one processes see when something is over-mounted
    fstype, opts = out.stdout.strip().splitlines()[-1].split()[:2]
    return fstype, set(opts.split(","))


def separate(host: Any, target: str) -> str:
    """The filesystem type of `target`, which must be its own mount, now and in /etc/fstab."""
    fstype, _ = options(host, target)
    root = host.run("findmnt -n -o SOURCE --mountpoint /").stdout.strip()
    source = host.run(f"findmnt -n -o SOURCE --mountpoint {target}").stdout.strip().splitlines()[-1]
    assert fstype == "tmpfs" or source != root, f"{target} is on the root filesystem's device {root}"
    persisted = host.run(f"findmnt --fstab -n -o TARGET --mountpoint {target}")
    assert persisted.rc == 0 and persisted.stdout.strip(), f"{target} is mounted but not in /etc/fstab"
    return fstype


@check("HOST-MNT-001")
def tmp_separate(host: Any, ctx: HostContext) -> None:
    fstype = separate(host, "/tmp")
    # its own partition of the disk layout, or a tmpfs on a host without the layout
    assert fstype in ("tmpfs", "ext4"), f"/tmp is {fstype}"
    enabled = run_ok(host, "systemctl is-enabled tmp.mount || true").strip()
    assert enabled in ("enabled", "static", "generated", "enabled-runtime"), f"tmp.mount is {enabled}"


def _separate(*targets: str) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        for target in targets:
            fstype = separate(host, target)
            assert fstype != "tmpfs", f"{target} is a tmpfs: its contents must survive a reboot"

    return verify


for _control, _targets in {
    "HOST-MNT-008": ("/var", "/var/log", "/var/log/audit"),
    "HOST-MNT-009": ("/home",),
    "HOST-MNT-010": ("/var/tmp",),
}.items():
    check(_control)(_separate(*_targets))


def _option(target: str, option: str) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        _, opts = options(host, target)
        assert option in opts, f"{target} is mounted without {option} ({','.join(sorted(opts))})"

    return verify


for _control, (_target, _option_name) in {
    "HOST-MNT-002": ("/tmp", "nodev"),
    "HOST-MNT-003": ("/tmp", "nosuid"),
    "HOST-MNT-004": ("/tmp", "noexec"),
    "HOST-MNT-005": ("/dev/shm", "nodev"),
    "HOST-MNT-006": ("/dev/shm", "nosuid"),
    "HOST-MNT-007": ("/dev/shm", "noexec"),
    "HOST-MNT-011": ("/var/tmp", "nodev"),
    "HOST-MNT-012": ("/var/tmp", "nosuid"),
    "HOST-MNT-013": ("/var/tmp", "noexec"),
    "HOST-MNT-014": ("/home", "nodev"),
    "HOST-MNT-015": ("/home", "nosuid"),
    "HOST-MNT-016": ("/var", "nodev"),
    "HOST-MNT-017": ("/var", "nosuid"),
    "HOST-MNT-018": ("/var/log", "nodev"),
    "HOST-MNT-019": ("/var/log", "nosuid"),
    "HOST-MNT-020": ("/var/log", "noexec"),
    "HOST-MNT-021": ("/var/log/audit", "nodev"),
    "HOST-MNT-022": ("/var/log/audit", "nosuid"),
    "HOST-MNT-023": ("/var/log/audit", "noexec"),
}.items():
    check(_control)(_option(_target, _option_name))
