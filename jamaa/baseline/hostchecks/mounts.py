"""/tmp and /dev/shm: separate mounts with nodev, nosuid, noexec (`findmnt`, the kernel's view)."""

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


@check("HOST-MNT-001")
def tmp_tmpfs(host: Any, ctx: HostContext) -> None:
    fstype, _ = options(host, "/tmp")
    assert fstype == "tmpfs", f"/tmp is {fstype}, not tmpfs"
    enabled = run_ok(host, "systemctl is-enabled tmp.mount || true").strip()
    assert enabled in ("enabled", "static", "generated", "enabled-runtime"), f"tmp.mount is {enabled}"


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
}.items():
    check(_control)(_option(_target, _option_name))
