"""AIDE: installed, its database initialised, a daily check, audit tools hashed, private files."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, confined, installed, mode_at_most, setting

CONF = "/etc/aide/aide.conf"
DB_DIR = "/var/lib/aide"


def _conf(ctx: HostContext) -> str:
    return str(setting(ctx, "aide", "aide_conf") or CONF)


def _db(ctx: HostContext) -> str:
    return f"{setting(ctx, 'aide', 'aide_db_dir') or DB_DIR}/aide.db"


@check("HOST-AIDE-001")
def aide_installed(host: Any, ctx: HostContext) -> None:
    installed(host, "aide")


@check("HOST-AIDE-002")
def database(host: Any, ctx: HostContext) -> None:
    db = host.file(_db(ctx))
    assert db.exists and db.size > 0, f"{_db(ctx)} is missing or empty (aide --init never ran)"


@check("HOST-AIDE-003")
def daily(host: Any, ctx: HostContext) -> None:
    timers = host.run("systemctl list-timers --all --no-legend").stdout
    found = [line for line in timers.splitlines() if "aide" in line]
    assert found, "no systemd timer runs AIDE"
    unit = next(word for word in found[0].split() if word.endswith(".timer"))
    assert host.service(unit).is_enabled, f"{unit} is not enabled"
    calendar = host.run(f"systemctl show -p TimersCalendar --value {unit}").stdout
    assert re.search(r"\*-\*-\* |daily", calendar), f"{unit} does not run daily: {calendar.strip()}"


@check("HOST-AIDE-004")
def audit_tools(host: Any, ctx: HostContext) -> None:
    assert host.file(_conf(ctx)).exists, f"{_conf(ctx)} does not exist"
    text = host.file(_conf(ctx)).content_string
    rules = dict(re.findall(r"^(\w+)\s*=\s*(\S+)", text, re.M))
    tools = [
        "/usr/sbin/auditctl",
        "/usr/sbin/auditd",
        "/usr/sbin/ausearch",
        "/usr/sbin/aureport",
        "/usr/sbin/augenrules",
    ]
    missing = []
    for tool in tools:
        match = re.search(rf"^{re.escape(tool)}\$?\s+(\S+)", text, re.M)
        group = str(rules.get(match.group(1), match.group(1))) if match else ""
        if "sha512" not in group and "sha256" not in group:
            missing.append(tool)
    assert not missing, f"audit tools not protected by a cryptographic hash in {_conf(ctx)}: {missing}"


@check("HOST-AIDE-005")
def private(host: Any, ctx: HostContext) -> None:
    mode_at_most(host, _conf(ctx), 0o600, group=None)
    mode_at_most(host, _db(ctx), 0o600, group=None)


@check("HOST-AIDE-006")
def package_checksums_weekly(host: Any, ctx: HostContext) -> None:
    installed(host, "debsums")
    timer = host.service("jamaa-debsums-check.timer")
    assert timer.is_enabled and timer.is_running, "jamaa-debsums-check.timer is not enabled and active"
    calendar = host.run("systemctl show -p TimersCalendar --value jamaa-debsums-check.timer").stdout
    assert re.search(r"OnCalendar=(Sun|Mon|Tue|Wed|Thu|Fri|Sat|weekly)", calendar), (
        f"jamaa-debsums-check.timer does not run weekly: {calendar.strip()}"
    )
    # The last check, if one ran, found every package file as its package shipped it.
    result = host.run("systemctl show -p Result --value jamaa-debsums-check.service").stdout.strip()
    assert result == "success", f"the last debsums check failed ({result}): journalctl -u jamaa-debsums-check"


# The check units and what confining them (HOST-AIDE-007) means: systemd's own rating, and the
# properties that make a scanner read-only, offline and unprivileged, each named when missing.
CHECK_UNITS = ("jamaa-aide-check.service", "jamaa-debsums-check.service")
CONFINED = {
    "ProtectSystem": "strict",
    "ProtectHome": "read-only",
    "PrivateNetwork": "yes",
    "NoNewPrivileges": "yes",
}
READ_CAPABILITIES = {"cap_dac_read_search", "cap_fowner"}
MAX_EXPOSURE = 20  # systemd-analyze's --threshold scale: 2.0 on its 0-10 rating


@check("HOST-AIDE-007")
def checks_confined(host: Any, ctx: HostContext) -> None:
    units = [
        u
        for u in CHECK_UNITS
        if host.run(f"systemctl show -p LoadState --value {u}").stdout.strip() == "loaded"
    ]
    assert units, f"none of the integrity check units is installed: {', '.join(CHECK_UNITS)}"
    for unit in units:
        confined(host, unit, CONFINED, READ_CAPABILITIES)
        rated = host.run(f"systemd-analyze security --no-pager --threshold={MAX_EXPOSURE} {unit}")
        overall = rated.stdout.strip().splitlines()[-1:] or [rated.stderr.strip()]
        assert rated.rc == 0, f"{unit}: {overall[0]} (at most {MAX_EXPOSURE / 10:.1f} expected)"
