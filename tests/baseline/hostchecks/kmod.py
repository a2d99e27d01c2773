"""Kernel modules that must not be loadable: `modprobe -n -v` resolves to a refusal and none is loaded.

A module counts as unavailable when modprobe would run an `install` command that does nothing
(/bin/false, /bin/true) or the module does not exist in the running kernel; and it is not loaded now.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from hostchecks import HostContext, check

TABLE: dict[str, list[str]] = {
    "HOST-KMOD-001": ["cramfs"],
    "HOST-KMOD-002": ["freevxfs"],
    "HOST-KMOD-003": ["hfs"],
    "HOST-KMOD-004": ["hfsplus"],
    "HOST-KMOD-005": ["jffs2"],
    "HOST-KMOD-006": ["overlay"],
    "HOST-KMOD-007": ["squashfs"],
    "HOST-KMOD-008": ["udf"],
    "HOST-KMOD-009": ["usb-storage"],
    "HOST-KMOD-010": ["afs", "ceph", "gfs2", "nilfs2", "ocfs2", "exfat"],
    "HOST-KMOD-011": ["dccp"],
    "HOST-KMOD-012": ["tipc"],
    "HOST-KMOD-013": ["rds"],
    "HOST-KMOD-014": ["sctp"],
    "HOST-KMOD-015": [
        "appletalk",
        "ax25",
        "netrom",
        "rose",
        "x25",
        "ipx",
        "decnet",
        "can",
        "atm",
        "ieee802154",
    ],
    "HOST-KMOD-016": ["bluetooth", "btusb"],
    "HOST-KMOD-017": ["firewire-core", "firewire-ohci", "thunderbolt"],
}


def unavailable(host: Any, module: str) -> str | None:
    """None when the module cannot be loaded; else what modprobe would do."""
    out = host.run(f"PATH=/usr/sbin:/sbin:/usr/bin:/bin modprobe -n -v {shlex.quote(module)} 2>&1")
    text = out.stdout.strip()
    refused = any(
        line.startswith("install ") and line.split()[1:2] and line.split()[1].endswith(("/false", "/true"))
        for line in text.splitlines()
    )
    missing = out.rc != 0 and "not found" in text.lower()
    builtin = "builtin" in text
    if refused or missing:
        return None
    return (
        "built into the kernel" if builtin else (text.splitlines()[-1] if text else f"modprobe exit {out.rc}")
    )


def _make(modules: list[str]) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        loaded = (
            set(host.file("/proc/modules").content_string.split("\n"))
            if host.file("/proc/modules").exists
            else set()
        )
        names = {line.split()[0] for line in loaded if line.strip()}
        problems = []
        for module in modules:
            if module.replace("-", "_") in names:
                problems.append(f"{module} is loaded")
            how = unavailable(host, module)
            if how is not None:
                problems.append(f"{module} can be loaded ({how})")
        assert not problems, "; ".join(problems)

    return verify


for _control, _modules in TABLE.items():
    check(_control)(_make(_modules))
