"""The host-side runner (roles/backup/files/jamaa-backup) on this machine against moto's server on loopback.

Fast and without the lab: real restic, a real S3 endpoint (ThreadedMotoServer on 127.0.0.1) with a versioned
Object Lock bucket, document directories in a temporary tree. PostgreSQL and systemd are the lab's part
(tests/backup/test_backup_lab.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from backuplib import locked_bucket_endpoint
from botocore.config import Config

RUNNER = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "jamaa-backup"
BUCKET = "jamaa-test-host-backups"
pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is installed by `make apt`")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with locked_bucket_endpoint(BUCKET, "eu-west-3", 30, _s3) as url:
        yield url


def _s3(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="eu-west-3",
        aws_access_key_id="server-key",
        aws_secret_access_key="server-secret",
        config=Config(s3={"addressing_style": "path"}),
    )


class Host:
    """A pretend host: config, EnvironmentFile and data under a temporary directory."""

    def __init__(self, root: Path, endpoint: str, name: str) -> None:
        self.root = root
        self.docs = root / "srv" / "communes" / "c0410101"
        self.etc = root / "etc-copy"
        for path in (self.docs / "etat-civil", self.etc):
            path.mkdir(parents=True)
        (self.docs / "etat-civil" / "acte-0001.txt").write_text("Acte de naissance n° 1 — شهادة الميلاد\n")
        (self.docs / "deliberation.pdf").write_bytes(os.urandom(300_000))
        (self.etc / "hostname").write_text(f"{name}\n")
        self.textfile = root / "textfile"
        self.config = root / "backup.json"
        self.config.write_text(
            json.dumps(
                {
                    "host": name,
                    "paths": [str(self.etc)],
                    "excludes": [str(root / "secret")],
                    "documents": [str(self.docs)],
                    "postgresql": False,
                    "databases": [],
                    "staging_dir": str(root / "staging"),
                    "drill_dir": str(root / "drill"),
                    "state_dir": str(root / "state"),
                    "textfile_dir": str(self.textfile),
                    "retention_days": 30,
                    "data_class": "personal",
                }
            )
        )
        (root / "password").write_text("correct horse battery staple, long enough\n")
        self.env_file = root / "backup.env"
        self.set_endpoint(endpoint)

    def set_endpoint(self, endpoint: str) -> None:
        self.env_file.write_text(
            f"RESTIC_REPOSITORY=s3:{endpoint}/{BUCKET}/{self.root.name}\n"
            f"RESTIC_PASSWORD_FILE={self.root / 'password'}\n"
            f"RESTIC_CACHE_DIR={self.root / 'cache'}\n"
            "AWS_ACCESS_KEY_ID=server-key\nAWS_SECRET_ACCESS_KEY=server-secret\nAWS_DEFAULT_REGION=eu-west-3\n"
        )
        self.env_file.chmod(0o600)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ["PATH"],
            "JAMAA_BACKUP_CONFIG": str(self.config),
            "JAMAA_BACKUP_ENV": str(self.env_file),
            "HOME": str(self.root),
        }
        return subprocess.run(
            [sys.executable, str(RUNNER), *args], env=env, capture_output=True, text=True, timeout=120
        )

    def metrics(self) -> dict[str, float]:
        values = {}
        for line in (self.textfile / "jamaa_backup.prom").read_text().splitlines():
            if not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name.split("{")[0]] = float(value)
        return values


@pytest.fixture()
def host(tmp_path: Path, endpoint: str, request: pytest.FixtureRequest) -> Host:
    root = tmp_path / request.node.name.replace("[", "-").replace("]", "")
    root.mkdir()
    return Host(root, endpoint, "srv-test")


def test_backup_drill_and_recover_identical(host: Host) -> None:
    assert host.run("init").returncode == 0
    run = host.run("run")
    assert run.returncode == 0, run.stderr
    assert "backup done" in run.stderr
    metrics = host.metrics()
    assert metrics["jamaa_backup_last_run_success"] == 1
    assert metrics["jamaa_backup_last_success_timestamp_seconds"] > 0
    drill = host.run("drill")
    result = json.loads(drill.stdout)
    assert drill.returncode == 0 and result["ok"], result
    assert result["files_verified"] == 2 and result["rpo_s"] >= 0 and result["rto_s"] > 0
    # damage: delete one document, corrupt the other; recover puts both back, verified by checksum
    (host.docs / "etat-civil" / "acte-0001.txt").unlink()
    (host.docs / "deliberation.pdf").write_bytes(b"ransomware was here")
    recover = host.run("recover")
    assert recover.returncode == 0, recover.stderr
    assert (host.docs / "etat-civil" / "acte-0001.txt").read_text().startswith("Acte de naissance")
    assert json.loads(recover.stdout)["problems"] == []


def test_drill_detects_a_manifest_mismatch(host: Host) -> None:
    """A drill that cannot find what the manifest promises fails, with the file named."""
    assert host.run("init").returncode == 0
    assert host.run("run").returncode == 0
    staging = Path(json.loads(host.config.read_text())["staging_dir"])
    manifest = json.loads((staging / "manifest.json").read_text())
    first = sorted(manifest["files"])[0]
    manifest["files"][first]["sha256"] = "0" * 64
    (staging / "manifest.json").write_text(json.dumps(manifest))
    # back up the doctored manifest without re-running the manifest step
    env = dict(line.split("=", 1) for line in host.env_file.read_text().splitlines())
    subprocess.run(
        [
            "restic",
            "backup",
            "--host",
            "srv-test",
            "--tag",
            "jamaa",
            str(host.etc),
            str(host.docs),
            str(staging),
        ],
        env={"PATH": os.environ["PATH"], "HOME": str(host.root), **env},
        check=True,
        capture_output=True,
    )
    drill = host.run("drill")
    assert drill.returncode == 1
    assert f"{first}: checksum differs from the manifest" in json.loads(drill.stdout)["problems"]


def test_storage_down_fails_loudly_and_keeps_the_last_success(host: Host, endpoint: str) -> None:
    assert host.run("init").returncode == 0
    assert host.run("run").returncode == 0
    before = host.metrics()["jamaa_backup_last_success_timestamp_seconds"]
    host.set_endpoint("http://127.0.0.1:9")  # nothing listens there
    failed = host.run("run")
    assert failed.returncode == 1
    assert "<3>jamaa-backup: backup FAILED" in failed.stderr
    metrics = host.metrics()
    assert metrics["jamaa_backup_last_run_success"] == 0
    assert metrics["jamaa_backup_last_success_timestamp_seconds"] == before
    assert metrics["jamaa_backup_last_run_timestamp_seconds"] > before
    host.set_endpoint(endpoint)
    assert host.run("drill").returncode == 0  # what was stored before is intact


def test_server_credentials_cannot_delete_locked_versions(host: Host, endpoint: str) -> None:
    assert host.run("init").returncode == 0
    outcome = host.run("immutability")
    assert outcome.returncode == 0, outcome.stderr
    result = json.loads(outcome.stdout)
    assert result["refused"] and len(result["attempts"]) == 2
    assert all(a["http"] >= 400 for a in result["attempts"])
    # the same with boto3 on every object of the repository: nothing locked can go
    s3 = _s3(endpoint)
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=host.root.name + "/")["Versions"]
    assert any(v["Key"].endswith("/config") for v in versions)
    for version in versions[:5]:
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.delete_object(
                Bucket=BUCKET,
                Key=version["Key"],
                VersionId=version["VersionId"],
                BypassGovernanceRetention=True,
            )


def test_secrets_never_on_the_command_line() -> None:
    text = RUNNER.read_text()
    # restic receives the password from RESTIC_PASSWORD_FILE and the keys from the environment only
    assert "--password" not in text and '"-p"' not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text.split("def restic(")[1].split("def ")[0]


def test_missing_secrets_fail_with_the_file_named(host: Host) -> None:
    host.env_file.write_text("RESTIC_REPOSITORY=s3:http://127.0.0.1:9/b/x\n")
    result = host.run("run")
    assert result.returncode == 1
    assert (
        f"{host.env_file}: missing RESTIC_PASSWORD_FILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"
        in result.stderr
    )
