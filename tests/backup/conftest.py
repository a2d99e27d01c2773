"""Fixtures of the backup host tests: the lab with roles/backup applied (bucket, vault secrets, first backup).

`make test` runs tests/backup/test_backup_converge.py before the baseline (so the HOST-BKP checks see a
converged host, and a re-run must change nothing), then test_backup_lab.py (the fault tests) after it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from backuplib import OUT, REPO, TIMINGS, Server

from jamaa.drill.converge import Converged, converge_backups, seed_sample_data


def _ready(lab: Any) -> bool:
    servers = [h for h in lab.group("commune_servers") if h in lab.group("containers")]
    for name in servers:
        if lab.ssh(name, "test -s /var/lib/prometheus/node-exporter/jamaa_backup.prom").returncode != 0:
            return False
    return bool(servers)


def _site_converged(lab: Any) -> bool:
    """site.yml has run on every container server (jamaa_context's record) and PostgreSQL answers."""
    for name in [h for h in lab.group("commune_servers") if h in lab.group("containers")]:
        probe = "test -s /etc/jamaa/not-applicable.json && runuser -u postgres -- psql -XAtqc 'SELECT 1'"
        if lab.ssh(name, probe).returncode != 0:
            return False
    return True


@pytest.fixture(scope="session")
def backups(lab: Any) -> Converged | None:
    """roles/backup applied to the lab (once per session; None when it already was).

    Runs after site.yml (tests/roles converges it first in `make test`); alone, it converges it here.
    """
    if not _site_converged(lab):
        log = OUT / "site.log"
        code = lab.converge_site(log)
        if code != 0:
            pytest.fail(f"site.yml failed on the lab (exit {code}, see {log})", pytrace=False)
    if _ready(lab):
        return None
    # as `make lab` does: the sample commune records exist before the first backup, so it holds them
    seeded = seed_sample_data(REPO / "environments", log=OUT / "sample-data.log")
    if seeded.returncode != 0:
        pytest.fail(f"lab_sample_data.yml failed (see {OUT / 'sample-data.log'})", pytrace=False)
    done = converge_backups(REPO / "environments", log=OUT / "converge.log")
    TIMINGS["converge_first_s"] = done.seconds
    if done.returncode != 0:
        pytest.fail(
            f"playbooks/backup.yml failed (exit {done.returncode}, see {OUT / 'converge.log'})", pytrace=False
        )
    return done


@pytest.fixture(scope="session")
def server(lab: Any, backups: Any) -> Server:
    """The lab's first container commune server (it runs PostgreSQL after site.yml)."""
    names = [h for h in lab.group("commune_servers") if h in lab.group("containers")]
    assert names, "the lab has no container commune server"
    return Server(lab, names[0])


@pytest.fixture(scope="session", autouse=True)
def record_timings() -> Any:
    yield
    if TIMINGS:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / "timings.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        known.update({k: round(v, 3) for k, v in TIMINGS.items()})
        path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
