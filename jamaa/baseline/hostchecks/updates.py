"""Updates: unattended security upgrades daily, from Debian's security origins, signed packages only."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, installed, run_ok


def apt_config(host: Any, ctx: HostContext) -> str:
    if "apt-config" not in ctx.cache:
        ctx.cache["apt-config"] = run_ok(host, "apt-config dump")
    return str(ctx.cache["apt-config"])


def apt_value(host: Any, ctx: HostContext, key: str) -> str | None:
    match = re.search(rf'^{re.escape(key)} "([^"]*)";', apt_config(host, ctx), re.M)
    return match.group(1) if match else None


@check("HOST-UPD-001")
def unattended_installed(host: Any, ctx: HostContext) -> None:
    installed(host, "unattended-upgrades")


@check("HOST-UPD-002")
def daily(host: Any, ctx: HostContext) -> None:
    for key in ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"):
        value = apt_value(host, ctx, key)
        assert value == "1", f'{key} is {value!r}, not "1" (daily)'
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "unattended-upgrades.service"):
        service = host.service(unit)
        assert service.is_enabled, f"{unit} is not enabled"
        assert service.is_running, f"{unit} is not running"


@check("HOST-UPD-003")
def origins(host: Any, ctx: HostContext) -> None:
    patterns = re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "([^"]*)";', apt_config(host, ctx), re.M)
    allowed = re.findall(r'^Unattended-Upgrade::Allowed-Origins:: "([^"]*)";', apt_config(host, ctx), re.M)
    found = patterns + allowed
    assert found, "unattended-upgrades has no origin"
    security = [p for p in found if "security" in p.lower()]
    assert security, f"Debian's security origin is not among {found}"
    other = [p for p in found if "security" not in p.lower() and "updates" not in p.lower()]
    assert not other, f"origins other than security and stable-updates: {other}"


def _release(host: Any, ctx: HostContext) -> str:
    if "codename" not in ctx.cache:
        ctx.cache["codename"] = run_ok(host, ". /etc/os-release && echo $VERSION_CODENAME").strip()
    return str(ctx.cache["codename"])


@check("HOST-UPD-004")
def security_archive(host: Any, ctx: HostContext) -> None:
    # what apt itself reads from its sources, whatever their format
    suite = f"{_release(host, ctx)}-security"
    policy = run_ok(host, "apt-cache policy")
    assert re.search(rf"(security\.debian\.org|/debian-security) {re.escape(suite)}/main ", policy), (
        f"apt does not use Debian's security archive ({suite}): not in `apt-cache policy`"
    )


@check("HOST-UPD-007")
def no_pending_security_update(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, "apt-get -s -o Debug::NoLocking=1 dist-upgrade")
    pending = sorted(
        {
            line.split()[1]
            for line in out.splitlines()
            if line.startswith("Inst ") and "Debian-Security:" in line
        }
    )
    assert not pending, (
        f"{len(pending)} update(s) from the security archive not applied: {', '.join(pending)}"
    )


NEEDRESTART_FILES = "/etc/needrestart/needrestart.conf /etc/needrestart/conf.d/*.conf"
NEEDRESTART_MODE = re.compile(r"^\s*\$nrconf\{restart\}\s*=\s*['\"](\w)['\"]", re.M)


def needrestart_mode(config: str) -> str | None:
    """The restart mode needrestart takes from its files, read in its order (needrestart.conf, then
    conf.d/*.conf sorted): the last assignment wins; None when none sets it (needrestart's default, i)."""
    modes = NEEDRESTART_MODE.findall(config)
    return modes[-1] if modes else None


@check("HOST-UPD-008")
def restarts_after_updates(host: Any, ctx: HostContext) -> None:
    installed(host, "needrestart")
    hooks = re.findall(r'^DPkg::Post-Invoke:: "([^"]*)";', apt_config(host, ctx), re.M)
    assert any("apt-pinvoke" in hook for hook in hooks), "apt does not run needrestart after dpkg"
    mode = needrestart_mode(run_ok(host, f"cat {NEEDRESTART_FILES} 2>/dev/null || true"))
    assert mode == "a", (
        f"needrestart's restart mode is {mode or 'its default (i: ask; list only when unattended)'}, "
        "not a (restart automatically)"
    )


@check("HOST-UPD-005")
def authenticated(host: Any, ctx: HostContext) -> None:
    for key in (
        "APT::Get::AllowUnauthenticated",
        "Acquire::AllowInsecureRepositories",
        "Acquire::AllowDowngradeToInsecureRepositories",
    ):
        value = apt_value(host, ctx, key)
        assert value in (None, "0", "false"), f"{key} is {value}"
    out = run_ok(
        host,
        "grep -rhsE 'trusted=yes|allow-insecure=yes' /etc/apt/sources.list /etc/apt/sources.list.d/ || true",
    )
    assert not out.strip(), f"sources accepting unsigned packages: {out.strip()}"


@check("HOST-UPD-006")
def remove_unused(host: Any, ctx: HostContext) -> None:
    value = apt_value(host, ctx, "Unattended-Upgrade::Remove-Unused-Dependencies")
    assert value == "true", f"Unattended-Upgrade::Remove-Unused-Dependencies is {value!r}"
