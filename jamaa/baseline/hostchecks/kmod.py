"""Kernel modules that must not be loadable: `modprobe -n -v` resolves to a refusal and none is loaded.

A module counts as unavailable when modprobe would run an `install` command that does nothing
(/bin/false, /bin/true) or the module does not exist in the running kernel; and it is not loaded now.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, run_ok

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


PROBE = (
    'for m in {modules}; do echo "== $m"; '
    'PATH=/usr/sbin:/sbin:/usr/bin:/bin modprobe -n -v "$m" 2>&1; echo "rc=$?"; done; '
    "echo '== loaded'; cut -d' ' -f1 /proc/modules 2>/dev/null"
)


def probe(host: Any, modules: list[str]) -> tuple[dict[str, tuple[int, str]], set[str]]:
    """What `modprobe -n -v` would do for each module, and the loaded modules, in one command."""
    out = run_ok(host, PROBE.format(modules=" ".join(shlex.quote(m) for m in modules)))
    sections = re.split(r"^== (\S+)$", out, flags=re.M)[1:]
    answers: dict[str, tuple[int, str]] = {}
    loaded: set[str] = set()
    for name, body in zip(sections[::2], sections[1::2], strict=True):
        if name == "loaded":
            loaded = set(body.split())
            continue
        text, _, code = body.strip().rpartition("rc=")
        answers[name] = (int(code or 1), text.strip())
    return answers, loaded


def unavailable(rc: int, text: str) -> str | None:
    """None when modprobe cannot load the module; else what it would do."""
    refused = any(
        line.startswith("install ")
        and len(line.split()) > 1
        and line.split()[1].endswith(("/false", "/true"))
        for line in text.splitlines()
    )
    missing = rc != 0 and "not found" in text.lower()
    if refused or missing:
        return None
    if "builtin" in text:
        return "built into the kernel"
    return text.splitlines()[-1] if text else f"modprobe exit {rc}"


def _make(modules: list[str]) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        answers, loaded = probe(host, modules)
        problems = []
        for module in modules:
            if module.replace("-", "_") in loaded:
                problems.append(f"{module} is loaded")
            how = unavailable(*answers[module])
            if how is not None:
                problems.append(f"{module} can be loaded ({how})")
        assert not problems, "; ".join(problems)

    return verify


for _control, _modules in TABLE.items():
    check(_control)(_make(_modules))
