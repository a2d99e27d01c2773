"""The lab's backup storage and secrets, prepared from the controller before the backup role runs.

In production the tenancy's Pulumi stack owns the bucket and the operator keeps the secrets in the
environment's Ansible Vault files. In the lab both are made here:

- the bucket `jamaa-lab-host-backups` on the lab's S3 endpoint, with Object Lock (so versioning) and a
  COMPLIANCE default retention of the environment's longest backup retention, plus a lifecycle rule that
  expires non-current versions once that retention has passed;
- per-host restic passwords and the S3 keys, in an Ansible Vault file in the lab cache (outside the
  repository and every inventory directory), encrypted with a password kept root-only beside it.
Nothing secret is written in plain text, and nothing secret is ever passed on a command line.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from jamaa.config import load_environments
from jamaa.errors import JamaaError

BUCKET = "jamaa-lab-host-backups"
VAULT_FILE = "backup-secrets.vault.yml"


class DrillError(JamaaError):
    exit_code = 1


@dataclass(frozen=True)
class LabBackup:
    lab_json: Path
    endpoint: str  # the controller's view of the lab's S3 endpoint
    region: str
    access_key_id: str
    secret_access_key: str
    hosts: list[str]  # commune servers
    inventory: Path
    vault_file: Path
    vault_password_file: Path

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def ansible_args(self) -> list[str]:
        return ["-e", f"@{self.vault_file}", "--vault-password-file", str(self.vault_password_file)]


def read_lab(environments: Path = Path("environments")) -> LabBackup:
    generated = environments / "lab" / "generated"
    lab_json = generated / "lab.json"
    try:
        data = json.loads(lab_json.read_text())
    except FileNotFoundError:
        raise DrillError(f"{lab_json}: not found; run `jamaa lab up` first") from None
    s3 = data["s3"]
    servers = [name for name, host in data["hosts"].items() if "commune_servers" in host.get("groups", [])]
    cache = Path(os.environ.get("JAMAA_CACHE", "/var/cache/jamaa"))
    return LabBackup(
        lab_json=lab_json,
        endpoint=s3["controller"],
        region=s3["region"],
        access_key_id=s3["access_key_id"],
        secret_access_key=s3["secret_access_key"],
        hosts=servers,
        # the environment directory: the generated inventory plus environments/lab/group_vars
        inventory=environments / "lab",
        vault_file=cache / "lab" / VAULT_FILE,
        vault_password_file=cache / "lab" / "backup-vault-pass",
    )


def lock_days(environments: Path, env: str = "lab") -> int:
    """The longest retention of the environment's cloud-storable data classes (never below the floors)."""
    envs = load_environments(environments, check_ledger=False)
    settings = envs.environments[env]
    return max(
        max(policy.retention_floor_days, settings.backup_retention_days.get(name, 0))
        for name, policy in envs.national.data_classes.items()
        if not policy.sovereign_only
    )


def ensure_bucket(lab: LabBackup, days: int) -> dict[str, Any]:
    """Create the lab's backup bucket once: Object Lock on (versioning follows), COMPLIANCE retention."""
    s3 = lab.s3()
    try:
        s3.head_bucket(Bucket=BUCKET)
    except ClientError:
        s3.create_bucket(
            Bucket=BUCKET,
            ObjectLockEnabledForBucket=True,
            CreateBucketConfiguration={"LocationConstraint": lab.region},
        )
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": days}},
            },
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=BUCKET,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "expire-old-versions-after-retention",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": days + 1},
                    }
                ]
            },
        )
    versioning = s3.get_bucket_versioning(Bucket=BUCKET).get("Status")
    lock = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    if versioning != "Enabled" or lock.get("ObjectLockEnabled") != "Enabled":
        raise DrillError(f"s3://{BUCKET}: versioning {versioning}, Object Lock {lock}: not immutable")
    return {"bucket": BUCKET, "versioning": versioning, "object_lock": lock}


def ensure_secrets(lab: LabBackup) -> None:
    """Per-host restic passwords and the S3 keys, in an Ansible Vault file (made once, kept)."""
    password_file = lab.vault_password_file
    password_file.parent.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    known: dict[str, Any] = {}
    if lab.vault_file.exists():
        known = _decrypt(lab) or {}
    passwords = dict(known.get("backup_lab_passwords", {}))
    for host in lab.hosts:
        passwords.setdefault(host, secrets.token_urlsafe(32))
    content = {
        "backup_lab_passwords": passwords,
        "backup_restic_password": "{{ backup_lab_passwords[inventory_hostname] }}",
        "backup_s3_access_key_id": lab.access_key_id,
        "backup_s3_secret_access_key": lab.secret_access_key,
    }
    if content == known:
        return
    plain = yaml.safe_dump(content, sort_keys=True)
    proc = subprocess.run(
        [
            _tool("ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(password_file),
            "--output",
            "-",
            "-",
        ],
        input=plain,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DrillError(f"ansible-vault encrypt: {proc.stderr.strip()[:300]}")
    lab.vault_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lab.vault_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(proc.stdout)


def _decrypt(lab: LabBackup) -> Any:
    proc = subprocess.run(
        [
            _tool("ansible-vault"),
            "view",
            "--vault-password-file",
            str(lab.vault_password_file),
            str(lab.vault_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return yaml.safe_load(proc.stdout) if proc.returncode == 0 else None


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def prepare(environments: Path = Path("environments")) -> LabBackup:
    lab = read_lab(environments)
    ensure_bucket(lab, lock_days(environments))
    ensure_secrets(lab)
    return lab
