"""roles/backup on the lab's commune servers: converged, a first backup taken, and a re-run changes nothing.

`make test` runs this file before the baseline suite (which verifies HOST-BKP-* on the converged hosts),
and test_backup_lab.py after it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from backuplib import OUT, TIMINGS

from jamaa.drill.converge import converge_backups

pytestmark = pytest.mark.lab
REPO_ENVIRONMENTS = OUT.parents[1] / "environments"


def _servers(lab: Any) -> list[str]:
    return [h for h in lab.group("commune_servers") if h in lab.group("containers")]


def test_every_container_server_has_backed_up(lab: Any, backups: Any) -> None:
    for name in _servers(lab):
        timers = lab.ssh(name, "systemctl is-enabled jamaa-backup.timer jamaa-backup-check.timer")
        assert timers.stdout.split() == ["enabled", "enabled"], f"{name}: {timers.stdout}"
        metric = lab.ssh(name, "cat /var/lib/prometheus/node-exporter/jamaa_backup.prom")
        assert 'jamaa_backup_last_run_success{host="' + name + '"} 1.000' in metric.stdout, metric.stdout
        status = lab.ssh(name, "/usr/local/sbin/jamaa-backup status")
        assert status.returncode == 0 and '"paths"' in status.stdout, status.stderr


def test_a_second_run_changes_nothing(lab: Any, backups: Any) -> None:
    again = converge_backups(REPO_ENVIRONMENTS, log=OUT / "converge-again.log")
    TIMINGS["converge_again_s"] = again.seconds
    assert again.returncode == 0, again.output[-2000:]
    changed = {host: n for host, n in again.changed.items() if host in _servers(lab)}
    assert changed and not any(changed.values()), f"re-run changed something: {changed}"


def test_lab_sample_records_are_written_once_and_backed_up(lab: Any, backups: Any) -> None:
    from jamaa.drill.converge import seed_sample_data

    again = seed_sample_data(REPO_ENVIRONMENTS, log=OUT / "sample-data-again.log")
    assert again.returncode == 0, again.output[-2000:]
    changed = {host: n for host, n in again.changed.items() if host in _servers(lab)}
    assert changed and not any(changed.values()), f"a second seeding changed something: {changed}"
    for name in _servers(lab):
        commune = lab.hosts[name].communes[0]
        files = lab.ssh(name, f"ls /srv/communes/{commune}/registres | grep -c -E '^(acte|scan)-'")
        assert files.stdout.strip() == "24", f"{name}: {files.stdout} {files.stderr}"
        rows = lab.ssh(
            name,
            f"runuser -u postgres -- psql -XAtq -d commune_{commune} "
            "-c 'SELECT count(*) FROM registre_demandes'",
        )
        assert rows.stdout.strip() == "5000", f"{name}: {rows.stdout} {rows.stderr}"
        owner = lab.ssh(
            name,
            f"runuser -u postgres -- psql -XAtq -d commune_{commune} "
            "-c \"SELECT tableowner FROM pg_tables WHERE tablename = 'registre_demandes'\"",
        )
        assert owner.stdout.strip() == f"commune_{commune}", owner.stdout
        status = json.loads(lab.ssh(name, "/usr/local/sbin/jamaa-backup status").stdout)
        assert f"/srv/communes/{commune}" in status["snapshot"]["paths"], f"{name}: {status['snapshot']}"
