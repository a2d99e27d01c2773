"""The runner on EC2 (backup_s3_use_instance_role): no key in its EnvironmentFile; it signs its own S3
requests (canary, immutability probe) with the instance role's temporary credentials from IMDSv2.

Fast and without the lab: moto's server and a stand-in instance metadata service, both on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from backuplib import locked_bucket_endpoint
from botocore.config import Config

RUNNER = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "jamaa-backup"
BUCKET = "jamaa-ma-07-prod-host-backups-eu-south-2"
TOKEN = "imds-session-token"
ROLE = "ma-07-prod-server-shared"


class Imds(BaseHTTPRequestHandler):
    """IMDSv2: a PUT for a session token, then GETs carrying it; anything else is refused."""

    calls: list[str] = []

    def log_message(self, *_args: Any) -> None:
        pass

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self) -> None:
        self.calls.append(f"PUT {self.path}")
        ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self._answer(200 if ok else 403, TOKEN if ok else "")

    def do_GET(self) -> None:
        self.calls.append(f"GET {self.path}")
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self._answer(401, "")
        elif self.path == "/latest/meta-data/iam/security-credentials/":
            self._answer(200, ROLE + "\n")
        elif self.path == f"/latest/meta-data/iam/security-credentials/{ROLE}":
            creds = {
                "AccessKeyId": "ASIAINSTANCEROLE",
                "SecretAccessKey": "role-secret",
                "Token": "role-token",
            }
            self._answer(200, json.dumps({"Code": "Success", **creds}))
        else:
            self._answer(404, "")


@pytest.fixture(scope="module")
def imds() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Imds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with locked_bucket_endpoint(BUCKET, "eu-south-2", 400, client) as url:
        yield url


def client(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="eu-south-2",
        aws_access_key_id="admin",
        aws_secret_access_key="admin",
        config=Config(s3={"addressing_style": "path"}),
    )


def runner(tmp_path: Path, s3_endpoint: str, imds: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "backup.json"
    config.write_text(json.dumps({"host": "ma-07-prod-shared-server"}))
    env_file = tmp_path / "backup.env"
    env_file.write_text(
        f"RESTIC_REPOSITORY=s3:{s3_endpoint}/{BUCKET}/servers/ma-07-prod-shared-server\n"
        f"RESTIC_PASSWORD_FILE={tmp_path / 'password'}\n"
        "JAMAA_BACKUP_S3_CREDENTIALS=instance-role\nAWS_DEFAULT_REGION=eu-south-2\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "JAMAA_BACKUP_CONFIG": str(config),
        "JAMAA_BACKUP_ENV": str(env_file),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds,
        "HOME": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, str(RUNNER), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_canary_and_immutability_probe_signed_with_the_instance_role(
    tmp_path: Path, s3_endpoint: str, imds: str
) -> None:
    Imds.calls.clear()
    canary = runner(tmp_path, s3_endpoint, imds, "canary")
    assert canary.returncode == 0, canary.stderr
    key = "servers/ma-07-prod-shared-server/.jamaa-canary"
    head = client(s3_endpoint).head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert Imds.calls[:3] == [
        "PUT /latest/api/token",
        "GET /latest/meta-data/iam/security-credentials/",
        f"GET /latest/meta-data/iam/security-credentials/{ROLE}",
    ]
    probe = runner(tmp_path, s3_endpoint, imds, "immutability")
    assert probe.returncode == 0, probe.stderr
    outcome = json.loads(probe.stdout)
    assert outcome["refused"] is True and len(outcome["attempts"]) == 2


def test_without_an_instance_role_the_runner_fails_loudly(tmp_path: Path, s3_endpoint: str) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing answers
    result = runner(tmp_path, s3_endpoint, closed, "canary")
    assert result.returncode == 1
    assert "<3>jamaa-backup: canary FAILED: instance metadata /latest/api/token:" in result.stderr


def test_static_keys_still_required_without_the_instance_role(tmp_path: Path, s3_endpoint: str) -> None:
    config = tmp_path / "backup.json"
    config.write_text(json.dumps({"host": "h"}))
    env_file = tmp_path / "backup.env"
    env_file.write_text(f"RESTIC_REPOSITORY=s3:{s3_endpoint}/{BUCKET}/h\nRESTIC_PASSWORD_FILE=/nonexistent\n")
    env = {"PATH": os.environ["PATH"], "JAMAA_BACKUP_CONFIG": str(config), "JAMAA_BACKUP_ENV": str(env_file)}
    result = subprocess.run([sys.executable, str(RUNNER), "canary"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{env_file}: missing AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" in result.stderr
