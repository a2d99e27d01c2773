"""Helpers of the backup host tests (a module of its own: conftest modules are not importable by name)."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from jamaa.paths import REPO

OUT = REPO / "out" / "backup"
TIMINGS: dict[str, float] = {}


class Server:
    """One commune server of the lab, as the backup tests drive it (root over SSH)."""

    def __init__(self, lab: Any, name: str) -> None:
        self.lab = lab
        self.name = name
        self.communes: list[str] = list(lab.hosts[name].communes)

    def sh(self, command: str, timeout: float = 300) -> Any:
        return self.lab.ssh(self.name, command, timeout=timeout)

    def ok(self, command: str, timeout: float = 300) -> str:
        result = self.sh(command, timeout)
        assert result.returncode == 0, (
            f"{self.name}: `{command}` exited {result.returncode}: {result.stderr[-800:]}"
        )
        return str(result.stdout)

    def psql(self, database: str, sql: str) -> str:
        return self.ok(
            f"runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d {database} -c {shlex.quote(sql)}"
        )

    def metrics(self) -> dict[str, float]:
        values = {}
        for line in self.ok("cat /var/lib/prometheus/node-exporter/jamaa_backup.prom").splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name.split("{")[0]] = float(value)
        return values

    def backup(self) -> float:
        started = time.monotonic()
        command = "systemctl start jamaa-backup.service"
        result = self.sh(command)
        if (
            result.returncode != 0
            and "Failed to spawn executor"
            in self.sh("journalctl -u jamaa-backup.service -n 5 --no-pager").stdout
        ):
            # systemd 257 in an nspawn container failed once to spawn its executor for the unit's first
            # start (ENOENT, result 'resources': the backup never ran); that is the container's, not
            # the backup's, so the start is tried once more. Any other failure fails the test.
            result = self.sh(command)
        assert result.returncode == 0, (
            f"{self.name}: `{command}` exited {result.returncode}: {result.stderr[-800:]}"
        )
        return time.monotonic() - started

    def manifest(self) -> Any:
        return json.loads(self.ok("cat /var/backups/jamaa/staging/manifest.json"))

    def file_sums(self, paths: list[str]) -> dict[str, str]:
        out = self.ok("sha256sum " + " ".join(shlex.quote(p) for p in paths) + " 2>/dev/null || true")
        return {line.split(None, 1)[1].strip(): line.split(None, 1)[0] for line in out.splitlines() if line}

    def table_sums(self, database: str) -> dict[str, dict[str, Any]]:
        """Row count and an order-independent checksum per table, computed here (not by the runner)."""
        sql = (
            "SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(md5(t::text), '''' "
            "ORDER BY md5(t::text)), '''')) FROM %I.%I t', "
            "schemaname || '.' || tablename, schemaname, tablename) "
            "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec"
        )
        psql = "runuser -u postgres -- psql -XAtq -F '|' -v ON_ERROR_STOP=1"
        out = self.ok(f"echo {shlex.quote(sql)} | {psql} -d {database}")
        rows = [line.split("|") for line in out.splitlines() if line]
        return {r[0]: {"rows": int(r[1]), "md5": r[2]} for r in rows}


@contextmanager
def locked_bucket_endpoint(bucket: str, region: str, days: int, s3: Callable[[str], Any]) -> Iterator[str]:
    """moto's S3 server on loopback with `bucket` versioned and Object Lock (COMPLIANCE, `days`); its URL.
    `s3(url)` is the test's own client (its region and credentials)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        client = s3(url)
        client.create_bucket(
            Bucket=bucket,
            ObjectLockEnabledForBucket=True,
            CreateBucketConfiguration={"LocationConstraint": region},
        )
        client.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": days}},
            },
        )
        yield url
    finally:
        server.stop()
