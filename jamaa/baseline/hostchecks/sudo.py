"""sudo: installed, pty, its own log, passwords always asked, group-based rights, valid sudoers."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, installed, run_ok


def sudoers(host: Any, ctx: HostContext) -> list[str]:
    """Every non-comment line of /etc/sudoers and /etc/sudoers.d/* (continuations joined)."""
    if "sudoers" not in ctx.cache:
        text = run_ok(
            host, "cat /etc/sudoers; find /etc/sudoers.d -maxdepth 1 -type f -exec cat {} + 2>/dev/null"
        )
        text = text.replace("\\\n", " ")
        ctx.cache["sudoers"] = [
            line.strip()
            for line in text.splitlines()
            if (line.strip() and not line.lstrip().startswith("#"))
            or line.lstrip().startswith(("#include", "@"))
        ]
    return list(ctx.cache["sudoers"])


def defaults(host: Any, ctx: HostContext) -> list[str]:
    return [line for line in sudoers(host, ctx) if line.startswith("Defaults")]


@check("HOST-SUDO-001")
def sudo_installed(host: Any, ctx: HostContext) -> None:
    assert host.package("sudo").is_installed or host.package("sudo-ldap").is_installed, (
        "sudo is not installed"
    )


@check("HOST-SUDO-002")
def use_pty(host: Any, ctx: HostContext) -> None:
    found = [d for d in defaults(host, ctx) if re.search(r"[\s,]use_pty\b", d)]
    negated = [d for d in defaults(host, ctx) if re.search(r"!\s*use_pty\b", d)]
    assert found and not negated, "Defaults use_pty is not set" if not found else f"negated: {negated}"


@check("HOST-SUDO-003")
def logfile(host: Any, ctx: HostContext) -> None:
    found = [d for d in defaults(host, ctx) if re.search(r"\blogfile\s*=", d)]
    assert found, "sudo has no Defaults logfile="


@check("HOST-SUDO-004")
def no_nopasswd(host: Any, ctx: HostContext) -> None:
    bad = [line for line in sudoers(host, ctx) if "NOPASSWD" in line and not line.startswith("Defaults")]
    assert not bad, f"NOPASSWD rules: {bad}"


@check("HOST-SUDO-005")
def authenticate(host: Any, ctx: HostContext) -> None:
    bad = [line for line in sudoers(host, ctx) if re.search(r"!\s*authenticate\b", line)]
    assert not bad, f"!authenticate: {bad}"


@check("HOST-SUDO-006")
def timestamp_timeout(host: Any, ctx: HostContext) -> None:
    for line in defaults(host, ctx):
        match = re.search(r"timestamp_timeout\s*=\s*(-?\d+)", line)
        if match:
            minutes = int(match.group(1))
            assert 0 <= minutes <= 15, f"timestamp_timeout={minutes} (at most 15, never negative)"


@check("HOST-SUDO-007")
def group_rights(host: Any, ctx: HostContext) -> None:
    rules = [
        line
        for line in sudoers(host, ctx)
        if not line.startswith(
            ("Defaults", "#", "@", "Cmnd_Alias", "User_Alias", "Host_Alias", "Runas_Alias")
        )
    ]
    personal = [line for line in rules if not line.startswith("%") and not re.match(r"root\s", line)]
    assert not personal, f"sudo rights granted to individual users: {personal}"


@check("HOST-SUDO-008")
def sudoers_valid(host: Any, ctx: HostContext) -> None:
    installed(host, "sudo")
    result = host.run("visudo -c")
    assert result.rc == 0, f"visudo -c: {(result.stdout + result.stderr).strip()[:300]}"
