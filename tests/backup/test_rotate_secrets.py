"""playbooks/rotate_secrets.yml on a real lab server: after the rotation the old PostgreSQL password and
the old restic password are refused, the new ones work, the backups taken before still restore (the
restore drill), a new backup runs, and re-applying the roles with the updated secrets changes nothing.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from backuplib import OUT, REPO, Server

from jamaa.drill.converge import converge_backups
from jamaa.drill.lab import _decrypt, read_lab
from jamaa.drill.runner import ansible_playbook
from jamaa.recap import play_recap

pytestmark = pytest.mark.lab
PG_SECRETS = REPO / "environments" / "lab" / "generated" / "secrets" / "postgresql"


def pg_login(server: Server, commune: str, password: str) -> Any:
    """A TLS + SCRAM login of the commune's role over the LAN address (pg_hba's application path)."""
    address = server.lab.hosts[server.name].lan_ip
    dsn = f"host={address} port=5432 dbname=commune_{commune} user=commune_{commune} sslmode=require"
    return server.sh(
        f"PGPASSWORD={shlex.quote(password)} psql {shlex.quote(dsn)} -XAtqc 'SELECT current_user'"
    )


def restic_with(server: Server, password: str, command: str) -> Any:
    """restic on the server with its repository settings and the given password (in a root-only file)."""
    return server.sh(
        "umask 077 && f=$(mktemp) && printf %s " + shlex.quote(password) + ' > "$f" && '
        "set -a && . /etc/jamaa/backup.env && set +a && "
        f'restic --no-cache --password-file "$f" {command}; rc=$?; rm -f "$f"; exit $rc'
    )


def vault_passwords() -> dict[str, str]:
    data = _decrypt(read_lab(REPO / "environments"))
    assert data, "the lab's backup vault cannot be read"
    return dict(data["backup_lab_passwords"])


@pytest.fixture(scope="module")
def rotated(server: Server) -> dict[str, Any]:
    commune = server.communes[0]
    before = {
        "pg": (PG_SECRETS / commune).read_text().strip(),
        "restic": server.ok("cat /etc/jamaa/backup.password").strip(),
        "vault": vault_passwords()[server.name],
        "snapshots": json.loads(
            server.ok("set -a && . /etc/jamaa/backup.env && restic --no-cache snapshots --json")
        ),
    }
    assert before["restic"] == before["vault"]
    assert before["snapshots"], "the server has no backup to restore"
    assert pg_login(server, commune, before["pg"]).stdout.strip() == f"commune_{commune}"
    lab = read_lab(REPO / "environments")
    argv = [
        ansible_playbook(),
        "-i",
        str(lab.inventory),
        str(REPO / "playbooks" / "rotate_secrets.yml"),
        "-l",
        server.name,
        *lab.ansible_args(),
        "-e",
        f"rotate_secrets_vault_file={lab.vault_file}",
        "-e",
        f"rotate_secrets_vault_password_file={lab.vault_password_file}",
    ]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False, timeout=900)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "rotate.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"rotate_secrets.yml failed (see {OUT / 'rotate.log'})"
    after = {
        "pg": (PG_SECRETS / commune).read_text().strip(),
        "restic": server.ok("cat /etc/jamaa/backup.password").strip(),
        "vault": vault_passwords()[server.name],
    }
    return {"commune": commune, "before": before, "after": after, "output": proc.stdout}


def test_every_secret_changed_and_no_secret_was_printed(rotated: dict[str, Any]) -> None:
    before, after = rotated["before"], rotated["after"]
    assert after["pg"] != before["pg"] and len(after["pg"]) == 32
    assert after["restic"] != before["restic"] and len(after["restic"]) == 40
    assert after["vault"] == after["restic"]  # the controller's vault holds what the server uses
    for secret in (before["pg"], after["pg"], before["restic"], after["restic"]):
        assert secret not in rotated["output"]
    assert not list(PG_SECRETS.glob("*.new"))


def test_the_old_postgresql_password_is_refused_and_the_new_one_works(
    server: Server, rotated: dict[str, Any]
) -> None:
    commune, before, after = rotated["commune"], rotated["before"], rotated["after"]
    old = pg_login(server, commune, before["pg"])
    assert old.returncode != 0 and "password authentication failed" in old.stderr
    assert pg_login(server, commune, after["pg"]).stdout.strip() == f"commune_{commune}"


def test_the_old_restic_password_is_refused_and_the_new_one_works(
    server: Server, rotated: dict[str, Any]
) -> None:
    before, after = rotated["before"], rotated["after"]
    old = restic_with(server, before["restic"], "cat config")
    assert old.returncode != 0 and "wrong password" in (old.stderr + old.stdout).lower()
    keys = json.loads(restic_with(server, after["restic"], "key list --json").stdout)
    assert len(keys) == 1 and keys[0]["current"]
    snapshots = json.loads(restic_with(server, after["restic"], "snapshots --json").stdout)
    assert {s["id"] for s in before["snapshots"]} <= {s["id"] for s in snapshots}


def test_backups_taken_before_still_restore_and_new_ones_run(server: Server, rotated: dict[str, Any]) -> None:
    drill = server.sh("/usr/local/sbin/jamaa-backup drill", timeout=900)
    assert drill.returncode == 0, drill.stderr[-1500:]
    result = json.loads(drill.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["files_verified"] > 0
    assert result["snapshot"] == rotated["before"]["snapshots"][-1]["short_id"]  # taken before the rotation
    last = server.metrics()["jamaa_backup_last_success_timestamp_seconds"]
    server.backup()
    assert server.metrics()["jamaa_backup_last_success_timestamp_seconds"] > last


def test_the_roles_read_the_rotated_secrets(server: Server, rotated: dict[str, Any]) -> None:
    """Re-applying backup.yml (vault) and the PostgreSQL role (password files) changes nothing."""
    done = converge_backups(REPO / "environments", extra=["-l", server.name], log=OUT / "rotate-backup.log")
    assert done.returncode == 0, f"backup.yml failed (see {OUT / 'rotate-backup.log'})"
    assert done.changed[server.name] == 0, f"see {OUT / 'rotate-backup.log'}"
    lab = read_lab(REPO / "environments")
    argv = [ansible_playbook(), "-i", str(lab.inventory), str(REPO / "playbooks" / "site.yml")]
    argv += ["-l", server.name, "--tags", "HOST-PG-005"]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False, timeout=900)
    Path(OUT / "rotate-site.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"see {OUT / 'rotate-site.log'}"
    assert play_recap(proc.stdout)[server.name]["changed"] == 0, f"see {OUT / 'rotate-site.log'}"
