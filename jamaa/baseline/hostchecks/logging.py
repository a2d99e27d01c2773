"""Logs: journald persistent, compressed, bounded and forwarding; rsyslog to the central host."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import (
    HostContext,
    NotApplicable,
    active_enabled,
    check,
    installed,
    run_ok,
    setting,
)

ROLE = "journald_logging"


def journald(host: Any, ctx: HostContext) -> dict[str, str]:
    if "journald" not in ctx.cache:
        out = run_ok(host, "systemd-analyze cat-config systemd/journald.conf")
        values: dict[str, str] = {}
        for line in out.splitlines():
            if "=" in line and not line.lstrip().startswith(("#", ";")):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
        ctx.cache["journald"] = values
    return dict(ctx.cache["journald"])


def rsyslog_text(host: Any) -> str:
    return run_ok(host, "cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf 2>/dev/null || true")


@check("HOST-LOG-001")
def persistent(host: Any, ctx: HostContext) -> None:
    assert journald(host, ctx).get("Storage") == "persistent", f"Storage={journald(host, ctx).get('Storage')}"
    assert host.file("/var/log/journal").is_directory, "/var/log/journal does not exist"


@check("HOST-LOG-002")
def compress(host: Any, ctx: HostContext) -> None:
    value = journald(host, ctx).get("Compress", "yes")
    assert value.lower() in ("yes", "true", "1") or value[:1].isdigit(), f"Compress={value}"


@check("HOST-LOG-003")
def bounded(host: Any, ctx: HostContext) -> None:
    values = journald(host, ctx)
    for key in ("SystemMaxUse", "SystemMaxFileSize"):
        assert values.get(key), f"journald {key} is not set"


@check("HOST-LOG-004")
def rsyslog(host: Any, ctx: HostContext) -> None:
    installed(host, "rsyslog")
    active_enabled(host, "rsyslog")


@check("HOST-LOG-005")
def forward_to_syslog(host: Any, ctx: HostContext) -> None:
    value = journald(host, ctx).get("ForwardToSyslog", "no")
    assert value.lower() in ("yes", "true", "1"), f"ForwardToSyslog={value}"


@check("HOST-LOG-006")
def central(host: Any, ctx: HostContext) -> None:
    central_host = setting(ctx, ROLE, "journald_logging_central_host")
    if setting(ctx, ROLE, "journald_logging_receiver") and not central_host:
        raise NotApplicable(f"{ctx.name} is the central log host: it receives, it does not forward")
    text = rsyslog_text(host)
    actions = re.findall(r'action\([^)]*type="omfwd"[^)]*\)', text, re.S)
    assert actions, "rsyslog forwards nothing (no omfwd action)"
    tcp = [a for a in actions if re.search(r'protocol="tcp"', a, re.I)]
    assert tcp, "rsyslog forwards over UDP only"
    queued = [a for a in tcp if re.search(r'queue\.type="LinkedList"', a, re.I) and "queue.filename" in a]
    assert queued, "the TCP forward has no disk-assisted queue (queue.type LinkedList + queue.filename)"
    if central_host:
        assert any(f'target="{central_host}"' in a for a in queued), f"not forwarded to {central_host}"


@check("HOST-LOG-007")
def file_mode(host: Any, ctx: HostContext) -> None:
    text = rsyslog_text(host)
    modes = re.findall(r"^\$FileCreateMode\s+(\d+)", text, re.M) + re.findall(r'fileCreateMode="(\d+)"', text)
    assert modes, "rsyslog sets no FileCreateMode (default 0644)"
    worst = max(int(m, 8) for m in modes)
    assert worst & ~0o640 == 0, f"rsyslog creates log files with mode {worst:04o}"


@check("HOST-LOG-008")
def receiver_lan_only(host: Any, ctx: HostContext) -> None:
    if not setting(ctx, ROLE, "journald_logging_receiver"):
        raise NotApplicable(f"{ctx.name} is not the central log host (journald_logging_receiver is false)")
    text = rsyslog_text(host)
    assert "imtcp" in text, "the central log host does not receive logs over TCP (no imtcp)"
    rules = run_ok(host, "nft list ruleset").splitlines()
    opened = [
        r.strip() for r in rules if re.search(r"dport (\{[^}]*\b514\b[^}]*\}|514\b)", r) and "accept" in r
    ]
    # the senders are limited where packets arrive, by the firewall (AllowedSender would be a second lock)
    assert opened, "the firewall does not open the log port (514) to the declared senders"
    assert all("saddr" in r for r in opened), f"port 514 is open to anyone: {opened}"


@check("HOST-LOG-009")
def logs_rotated(host: Any, ctx: HostContext) -> None:
    installed(host, "logrotate")
    active_enabled(host, "logrotate.timer")
    calendar = run_ok(host, "systemctl show -p TimersCalendar --value logrotate.timer")
    assert "daily" in calendar or "*-*-* 00:00:00" in calendar, f"logrotate.timer is not daily: {calendar}"
    # logrotate reads its whole configuration without error (a bad entry stops every rotation after it)
    parsed = host.run("logrotate --debug /etc/logrotate.conf")
    output = parsed.stderr + parsed.stdout
    assert parsed.rc == 0, f"logrotate cannot read its configuration: {output.strip()[-300:]}"
    if setting(ctx, ROLE, "journald_logging_receiver"):
        entry = re.search(r"^rotating pattern: /var/log/remote/\*\.log\s", output, re.M)
        assert entry, "no logrotate entry for the received logs in /var/log/remote"
