"""Core dumps: none for anyone, none stored by systemd-coredump, none from setuid programs."""

from __future__ import annotations

from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, not_installed, run_ok, sysctl


@check("HOST-CORE-001")
def hard_limit_zero(host: Any, ctx: HostContext) -> None:
    out = run_ok(
        host,
        "grep -hsE '^[[:space:]]*\\*[[:space:]]+hard[[:space:]]+core[[:space:]]+' "
        "/etc/security/limits.conf /etc/security/limits.d/*.conf || true",
    )
    values = [line.split()[3] for line in out.splitlines() if len(line.split()) >= 4]
    assert values, "no `* hard core 0` in /etc/security/limits.conf or limits.d"
    assert values[-1] == "0", f"`* hard core {values[-1]}`"


@check("HOST-CORE-002")
def coredump_stores_nothing(host: Any, ctx: HostContext) -> None:
    if not host.package("systemd-coredump").is_installed:
        return
    out = run_ok(host, "systemd-analyze cat-config systemd/coredump.conf")
    settings = dict(
        line.split("=", 1) for line in out.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    assert settings.get("Storage", "").strip() == "none", f"Storage={settings.get('Storage', '(default)')}"
    assert settings.get("ProcessSizeMax", "").strip() == "0", (
        f"ProcessSizeMax={settings.get('ProcessSizeMax')}"
    )


@check("HOST-CORE-003")
def suid_dumpable(host: Any, ctx: HostContext) -> None:
    assert sysctl(host, "fs.suid_dumpable") == "0", "fs.suid_dumpable is not 0"


@check("HOST-CORE-004")
def no_apport(host: Any, ctx: HostContext) -> None:
    not_installed(host, "apport")
