"""Backups (roles/backup): schedule, secrets, scope, checks, freshness, immutability, as the host shows them.

The end-to-end proofs (restore identical after damage, a killed run, storage down, locked objects) are in
tests/backup; these checks read what a converged server does now.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from jamaa.baseline.hostchecks import (
    HostContext,
    NotApplicable,
    active_enabled,
    cached,
    check,
    confined,
    json_of,
    mode_at_most,
    run_ok,
)

ENV_FILE = "/etc/jamaa/backup.env"
PASSWORD_FILE = "/etc/jamaa/backup.password"
METRIC = "/var/lib/prometheus/node-exporter/jamaa_backup.prom"
MAX_AGE_S = 26 * 3600


def _serves_communes(ctx: HostContext) -> None:
    if not ctx.var("jamaa_communes", []):
        raise NotApplicable("not applicable: the host serves no commune, it holds no commune data to back up")


def _unit(host: Any, unit: str) -> dict[str, str]:
    out = run_ok(host, f"systemctl show {unit} --property=" + ",".join(_PROPS))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


_PROPS = [
    "RandomizedDelayUSec",
    "Persistent",
    "TimersCalendar",
    "EnvironmentFiles",
    "ExecStart",
    "Environment",
]


def _metrics(host: Any, path: str) -> dict[str, float]:
    f = host.file(path)
    assert f.exists, f"{path} does not exist (no backup run has finished)"
    values = {}
    for line in f.content_string.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name.split("{")[0]] = float(value)
    return values


_LEAK_PROBE = f"""
import glob, json, os
secrets = [line.split("=", 1)[1].strip().encode() for line in open("{ENV_FILE}")
           if line.startswith("AWS_SECRET_ACCESS_KEY=")]
secrets += [open("{PASSWORD_FILE}", "rb").read().strip()]
secrets = [x for x in secrets if x]
pids = []
for path in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        argv = open(path, "rb").read()
    except OSError:
        continue
    if any(x in argv for x in secrets):
        pids.append(int(path.split("/")[2]))
print(json.dumps({{"secrets": len(secrets), "pids": pids}}))
"""


@check("HOST-BKP-001")
def scheduled(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    active_enabled(host, "jamaa-backup.timer")
    props = _unit(host, "jamaa-backup.timer")
    assert props.get("RandomizedDelayUSec", "0") not in ("0", "infinity", ""), (
        f"jamaa-backup.timer has no randomised delay ({props.get('RandomizedDelayUSec')})"
    )
    assert props.get("Persistent") == "yes", "jamaa-backup.timer is not Persistent (a missed run is skipped)"


@check("HOST-BKP-002")
def secrets(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    for path in (ENV_FILE, PASSWORD_FILE):
        mode_at_most(host, path, 0o600)
    props = _unit(host, "jamaa-backup.service")
    assert ENV_FILE in props.get("EnvironmentFiles", ""), (
        "jamaa-backup.service does not read the EnvironmentFile"
    )
    for key in ("AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD="):
        assert key not in props.get("ExecStart", "") + props.get("Environment", ""), (
            f"{key.rstrip('=')} appears in the unit itself (visible to every user)"
        )
    # no secret of the file on any command line of the running system; the probe reads the file itself,
    # so the secret is never on its own command line either
    leaked = json_of(host, f"python3 -c {shlex.quote(_LEAK_PROBE)}")
    assert leaked["secrets"] >= 2, f"{ENV_FILE} holds no S3 secret key or {PASSWORD_FILE} is empty"
    assert not leaked["pids"], f"a backup secret appears on the command line of processes {leaked['pids']}"


def _status(host: Any, ctx: HostContext) -> Any:
    return cached(
        ctx, "jamaa-backup status", lambda: json.loads(run_ok(host, "/usr/local/sbin/jamaa-backup status"))
    )


@check("HOST-BKP-003")
def scope(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    status = _status(host, ctx)
    paths = set(status["snapshot"]["paths"])
    config = json.loads(host.file("/etc/jamaa/backup.json").content_string)
    assert "/etc" in paths, f"the newest snapshot lacks /etc: {sorted(paths)}"
    assert config["staging_dir"] in paths, "the newest snapshot lacks the database dumps and manifest"
    missing = [d for d in config["documents"] if host.file(d).is_directory and d not in paths]
    assert not missing, f"commune document directories not in the newest snapshot: {missing}"
    pg_up = host.run("runuser -u postgres -- psql -XAtqc 'SELECT 1'").rc == 0
    if pg_up and config["postgresql"] is not False:
        live = run_ok(
            host,
            'runuser -u postgres -- psql -XAtc "SELECT datname FROM pg_database WHERE datallowconn '
            "AND NOT datistemplate AND datname <> 'postgres' AND datname NOT LIKE 'jamaa_drill_%'\"",
        ).split()
        wanted = config["databases"] or live
        dumped = status["state"].get("databases", [])
        assert sorted(set(wanted) & set(live)) == sorted(dumped), f"databases {wanted}, dumped {dumped}"


@check("HOST-BKP-004")
def integrity_checked(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    active_enabled(host, "jamaa-backup-check.timer")
    props = _unit(host, "jamaa-backup-check.timer")
    assert props.get("RandomizedDelayUSec", "0") not in ("0", ""), (
        "jamaa-backup-check.timer has no randomised delay"
    )
    unit = host.file("/etc/systemd/system/jamaa-backup-check.service").content_string
    assert "jamaa-backup check" in unit, "the check unit does not run `jamaa-backup check`"


@check("HOST-BKP-005")
def freshness(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    metrics = _metrics(host, METRIC)
    last = metrics.get("jamaa_backup_last_success_timestamp_seconds", 0)
    assert last > 0, "no successful backup recorded"
    now = float(run_ok(host, "date +%s"))
    assert now - last < MAX_AGE_S, f"last successful backup {(now - last) / 3600:.1f} h ago (limit 26 h)"
    assert metrics.get("jamaa_backup_last_run_success") == 1, "the last backup run failed"
    assert host.service("jamaa-backup.service").systemd_properties.get("Result", "success") == "success", (
        "jamaa-backup.service is in a failed state"
    )


@check("HOST-BKP-006")
def immutable(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    result = host.run("/usr/local/sbin/jamaa-backup immutability")
    assert result.stdout.strip(), f"jamaa-backup immutability: {result.stderr.strip()[:300]}"
    outcome = json.loads(result.stdout)
    assert outcome["refused"], f"the server's credentials deleted a locked version: {outcome['attempts']}"


# HOST-BKP-007: what confining the backup units means, each property named when it is missing.
BACKUP_UNITS = ("jamaa-backup.service", "jamaa-backup-check.service")
BACKUP_CONFINED = {"ProtectSystem": "strict", "ProtectHome": "read-only", "NoNewPrivileges": "yes"}
BACKUP_CAPABILITIES = {"cap_dac_read_search", "cap_setuid", "cap_setgid"}  # read any file, runuser postgres
BACKUP_WRITABLE = {"/var/cache/restic"}  # and the configured state, staging and textfile directories


@check("HOST-BKP-007")
def backup_confined(host: Any, ctx: HostContext) -> None:
    _serves_communes(ctx)
    config = json.loads(host.file("/etc/jamaa/backup.json").content_string)
    writable = BACKUP_WRITABLE | {
        config["state_dir"],
        config["staging_dir"].rsplit("/", 1)[0],
        config["textfile_dir"],
    }
    for unit in BACKUP_UNITS:
        props = confined(host, unit, BACKUP_CONFINED, BACKUP_CAPABILITIES)
        wider = {p.lstrip("-") for p in props.get("ReadWritePaths", "").split()} - writable
        assert not wider, f"{unit} may write outside its state, staging, cache and metric: {sorted(wider)}"
