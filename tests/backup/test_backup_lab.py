"""Backups under fault, on a real lab server (a container commune server running PostgreSQL).

- damage (a deleted and a corrupted commune document, a dropped commune database) → recover → identical
  to the manifest taken at backup time (SHA-256 per file; row count and checksum per table);
- a backup killed mid-run → the next run succeeds and the repository check is clean;
- the object storage down during a backup → the unit fails loudly (failed unit, error in the journal),
  the freshness metric shows the staleness, and nothing already stored is damaged;
- the server's own credentials cannot delete locked backup objects (Object Lock, COMPLIANCE);
- `jamaa drill --env lab` restores to scratch, verifies, and records RPO / RTO for the evidence report.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import boto3
import pytest
from backuplib import OUT, REPO, TIMINGS, Server
from botocore.config import Config
from botocore.exceptions import ClientError

from jamaa.drill.lab import BUCKET, read_lab
from jamaa.drill.results import DrillResults, drill_section, results_path
from jamaa.results import Status

pytestmark = pytest.mark.lab
TABLE = "fault_citizen_requests"


@pytest.fixture(scope="module")
def seeded(server: Server) -> dict[str, Any]:
    """Commune documents and a commune database with rows, then a successful backup of them."""
    commune = server.communes[0]
    database = f"commune_{commune}"
    docs = f"/srv/communes/{commune}/fault-test"
    server.ok(
        f"mkdir -p {docs}/etat-civil && for i in $(seq 1 40); do "
        f"head -c 50000 /dev/urandom > {docs}/etat-civil/acte-$i.pdf; done && "
        f"printf 'Délibération du conseil — مداولات المجلس\\n' > {docs}/deliberation.txt"
    )
    exists = server.psql("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{database}'").strip()
    if exists == "0":
        server.ok(f"runuser -u postgres -- createdb {database}")
    server.psql(
        database,
        f"DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (id serial PRIMARY KEY, citizen text, "
        f"kind text, amount numeric, filed timestamptz DEFAULT now()); "
        f"INSERT INTO {TABLE} (citizen, kind, amount) "
        "SELECT 'citoyen ' || g, (ARRAY['naissance','mariage','décès'])[1 + g % 3], g * 1.5 "
        "FROM generate_series(1, 20000) g;",
    )
    TIMINGS["backup_s"] = server.backup()
    manifest = server.manifest()
    assert database in manifest["databases"], manifest["databases"].keys()
    assert f"public.{TABLE}" in manifest["databases"][database]["tables"]
    return {"commune": commune, "database": database, "docs": docs, "manifest": manifest}


def test_damage_then_recover_is_identical(server: Server, seeded: dict[str, Any]) -> None:
    manifest, docs, database = seeded["manifest"], seeded["docs"], seeded["database"]
    ours = sorted(p for p in manifest["files"] if p.startswith(docs))
    assert len(ours) == 41
    server.ok(
        f"rm {docs}/etat-civil/acte-7.pdf && echo 'chiffré par un rançongiciel' > {docs}/deliberation.txt"
    )
    server.ok(f"runuser -u postgres -- dropdb --force {database}")
    damaged = server.file_sums(ours)
    assert f"{docs}/etat-civil/acte-7.pdf" not in damaged
    assert damaged[f"{docs}/deliberation.txt"] != manifest["files"][f"{docs}/deliberation.txt"]["sha256"]

    started = time.monotonic()
    recovered = json.loads(server.ok("/usr/local/sbin/jamaa-backup recover"))
    TIMINGS["recover_s"] = time.monotonic() - started
    assert recovered["problems"] == []

    # checked here independently of the runner: every document and every table as at backup time
    now = server.file_sums(ours)
    assert {p: now.get(p) for p in ours} == {p: manifest["files"][p]["sha256"] for p in ours}
    assert server.table_sums(database) == manifest["databases"][database]["tables"]
    assert server.psql(database, f"SELECT count(*) FROM {TABLE}").strip() == "20000"
    # the recreated database keeps its owner and its privileges: PUBLIC still cannot connect
    acl_sql = f"SELECT datacl::text FROM pg_database WHERE datname = '{database}'"
    acl = server.psql("postgres", acl_sql).strip()
    assert acl, "default privileges: PUBLIC can connect"
    assert not re.search(r"[{,]=[A-Za-z]*c", acl), acl


def test_killed_backup_then_next_run_succeeds_and_check_is_clean(
    server: Server, seeded: dict[str, Any]
) -> None:
    big = f"{seeded['docs']}/scan-archive.bin"
    server.ok(f"head -c 150000000 /dev/urandom > {big}")  # enough to be mid-upload when killed
    try:
        server.ok("systemctl start --no-block jamaa-backup.service")
        for _ in range(200):
            if server.sh("pgrep -f '^restic backup'").returncode == 0:  # restic itself, uploading
                break
            time.sleep(0.1)
        else:
            pytest.fail("restic backup never started")
        # restic takes its repository lock first: kill soon, before a fast run could finish on its own
        time.sleep(0.5)
        server.ok("systemctl kill --signal=SIGKILL jamaa-backup.service")
        for _ in range(50):
            state = server.sh("systemctl is-active jamaa-backup.service").stdout.strip()
            if state in ("failed", "inactive"):
                break
            time.sleep(0.2)
        assert state == "failed", f"killed run left the unit {state!r}"
        stale = server.ok("/usr/local/sbin/jamaa-backup status")
        assert json.loads(stale)["state"]["last_run_ok"] == 1  # the killed run never claimed success
        locks = server.ok("set -a; . /etc/jamaa/backup.env; set +a; restic list locks --no-lock")
        assert locks.split(), "the killed restic left no lock: it was not killed mid-run"

        TIMINGS["backup_after_kill_s"] = server.backup()  # must clear the killed run's stale lock
        assert server.sh("systemctl is-failed jamaa-backup.service").stdout.strip() != "failed"
        started = time.monotonic()
        server.ok("systemctl start jamaa-backup-check.service", timeout=600)
        TIMINGS["check_s"] = time.monotonic() - started
        journal = server.ok("journalctl -u jamaa-backup-check.service -o cat --no-pager -n 20")
        assert "repository check clean" in journal
    finally:
        server.ok(f"rm -f {big}")
        server.backup()


def _block_storage(server: Server, lab: Any, on: bool) -> None:
    """The object storage unreachable from this server only, on the LAN side (the server is untouched)."""
    ip = lab.hosts[server.name].lan_ip
    host_ns = lab.hosts[server.name].netns  # PREFIX + "h-" + name; the LAN's namespace is PREFIX + "lan"
    lan_ns = host_ns[: -len(f"h-{server.name}")] + "lan"
    if on:
        rules = (
            "table inet jamaa_fault { chain input { type filter hook input priority -10; "
            f"ip saddr {ip} tcp dport {lab.s3['lan'].rsplit(':', 1)[1]} reject with tcp reset; }}; }}"
        )
        subprocess.run(["ip", "netns", "exec", lan_ns, "nft", "-f", "-"], input=rules, text=True, check=True)
    else:
        subprocess.run(
            ["ip", "netns", "exec", lan_ns, "nft", "delete", "table", "inet", "jamaa_fault"], check=False
        )


def test_storage_down_fails_loudly_keeps_staleness_and_damages_nothing(
    server: Server, seeded: dict[str, Any], lab: Any
) -> None:
    before = server.metrics()
    status_before = json.loads(server.ok("/usr/local/sbin/jamaa-backup status"))
    _block_storage(server, lab, True)
    try:
        started = time.monotonic()
        failed = server.sh("systemctl start jamaa-backup.service")
        TIMINGS["fail_detect_s"] = time.monotonic() - started
        assert failed.returncode != 0, "the backup unit succeeded with the storage down"
        assert server.sh("systemctl is-failed jamaa-backup.service").stdout.strip() == "failed"
        errors = server.ok("journalctl -u jamaa-backup.service -p err -o cat --no-pager -n 5")
        assert "backup FAILED" in errors and "unreachable" in errors, errors
        after = server.metrics()
        assert after["jamaa_backup_last_run_success"] == 0
        assert (
            after["jamaa_backup_last_success_timestamp_seconds"]
            == before["jamaa_backup_last_success_timestamp_seconds"]
        )
        assert (
            after["jamaa_backup_last_run_timestamp_seconds"]
            > after["jamaa_backup_last_success_timestamp_seconds"]
        )
        if server.sh("systemctl is-active prometheus-node-exporter").stdout.strip() == "active":
            url = f"http://{lab.hosts[server.name].lan_ip}:9100/metrics"
            fetch = f"import urllib.request as u; print(u.urlopen('{url}').read().decode())"
            exported = server.ok(f'python3 -c "{fetch}"')
            assert "jamaa_backup_last_run_success" in exported  # the node exporter serves the staleness
    finally:
        _block_storage(server, lab, False)
    # nothing already stored was damaged: same newest snapshot, repository check clean, drill identical
    status_after = json.loads(server.ok("/usr/local/sbin/jamaa-backup status"))
    assert status_after["snapshot"]["id"] == status_before["snapshot"]["id"]
    server.ok("systemctl start jamaa-backup-check.service", timeout=600)
    drill = json.loads(server.ok("/usr/local/sbin/jamaa-backup drill"))
    assert drill["ok"], drill["problems"]
    server.backup()  # and the next run, storage back, succeeds and clears the failed state
    assert server.metrics()["jamaa_backup_last_run_success"] == 1


def test_server_credentials_cannot_delete_locked_backups(server: Server, seeded: dict[str, Any]) -> None:
    outcome = json.loads(server.ok("/usr/local/sbin/jamaa-backup immutability"))
    assert outcome["refused"], outcome
    # the same keys from the controller, on the repository's real objects (config, keys, snapshots, packs)
    env = dict(
        line.split("=", 1)
        for line in server.ok("cat /etc/jamaa/backup.env").splitlines()
        if "=" in line and not line.startswith("#")
    )
    lab = read_lab(REPO / "environments")
    s3 = boto3.client(
        "s3",
        endpoint_url=lab.endpoint,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}),
    )
    picked: dict[str, dict[str, str]] = {}
    for kind in ("config", "keys/", "snapshots/", "data/"):
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{server.name}/{kind}", MaxKeys=1).get(
            "Contents", []
        )
        assert listed, f"no {kind} object in the repository"
        head = s3.head_object(Bucket=BUCKET, Key=listed[0]["Key"])
        assert head["ObjectLockMode"] == "COMPLIANCE"
        picked[kind] = {"Key": listed[0]["Key"], "VersionId": head["VersionId"]}
    for kind, version in sorted(picked.items()):
        for bypass in (False, True):
            with pytest.raises(ClientError) as refused:
                s3.delete_object(
                    Bucket=BUCKET,
                    Key=version["Key"],
                    VersionId=version["VersionId"],
                    BypassGovernanceRetention=bypass,
                )
            assert refused.value.response["Error"]["Code"] == "AccessDenied", (kind, bypass)
    # a plain delete only hides the object behind a delete marker: the locked version is still readable
    config = picked["config"]
    marker = s3.delete_object(Bucket=BUCKET, Key=config["Key"])
    assert marker.get("DeleteMarker") is True
    body = s3.get_object(Bucket=BUCKET, Key=config["Key"], VersionId=config["VersionId"])["Body"].read()
    assert body
    # put the repository back as it was (removing a delete marker is not deleting data)
    s3.delete_object(Bucket=BUCKET, Key=config["Key"], VersionId=marker["VersionId"])
    assert server.ok("/usr/local/sbin/jamaa-backup status")


def test_drill_records_rpo_and_rto_for_the_report(server: Server, seeded: dict[str, Any]) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "drill", "--env", "lab", "--limit", server.name],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    TIMINGS["drill_cli_s"] = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = DrillResults.read(results_path(REPO, "lab"))
    (host,) = [h for h in results.hosts if h.host == server.name]
    assert host.ok and host.rpo_s is not None and host.rto_s is not None and host.rto_s > 0
    assert host.databases[seeded["database"]].identical and host.databases[seeded["database"]].rows >= 20000
    assert host.files_verified is not None and host.files_verified >= 41
    TIMINGS["drill_rto_s"] = host.rto_s
    TIMINGS["drill_restored_bytes"] = float(host.restored_bytes or 0)
    section = drill_section("lab", REPO)
    assert section is not None and section.status == Status.PASS
    assert any(row[0] == server.name and row[-1] == "identical" for row in section.rows)
    (OUT / "drill-results.json").write_text(results.model_dump_json(indent=2))
