"""Host backups: one bucket per region tenancy for the commune servers' restic repositories, laid out
by server (`servers/<server name>/…`), versioned, Object Lock (compliance where the environment's
backup vaults are compliance-locked) with a default retention of at least the servers' data-class floor,
SSE-KMS with the tenancy key, and one IAM policy per server role that reaches only its own prefix and
can never remove a stored version nor loosen the bucket's protections.

roles/backup writes there: its default bucket name is derived from the same region and environment
(`backup_s3_bucket`), its repository is `servers/<Name tag>/<inventory host name>` (a pool instance's
host name adds its instance id, so each has its own repository inside the pool role's prefix), and on
EC2 it signs with the instance role's credentials (`backup_s3_use_instance_role: true`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.buckets import ObjectLock, SecureBucket, SecureBucketArgs
from tenancy.context import Tenancy, child, policy_json
from tenancy.servers import server_role_name

PURPOSE = "host-backups"
PREFIX = "servers"
# What a server's credentials must never do to the bucket, even on its own prefix: remove or shorten a
# locked version, or loosen the bucket's settings (restic only needs to add objects and delete markers).
DESTRUCTIVE_ACTIONS = (
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
)
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


def host_backups_bucket(tenancy: Tenancy) -> str:
    """The bucket's name, from the stack's region and environment only (roles/backup derives the same)."""
    return tenancy.bucket_name(PURPOSE)


def server_prefix(server: str) -> str:
    """A server's repository prefix: `servers/<server name>/`."""
    return f"{PREFIX}/{server}/"


@dataclass(frozen=True)
class BackupServer:
    """A server role of the region and the server name its instances carry (Name tag, inventory name)."""

    role: str  # "shared" (the pool) or a dedicated commune id
    server: str
    commune: str | None = None


@dataclass
class HostBackupsArgs:
    data_class: str
    kms_key_arn: pulumi.Input[str]
    kms_key_alias: str
    access_log_bucket: str
    lock_mode: str  # the environment's backup_vault_lock_mode: COMPLIANCE | GOVERNANCE
    retention_days: int  # ≥ the national floor of every data class the servers hold
    servers: list[BackupServer] = field(default_factory=list)


class HostBackups(pulumi.ComponentResource):
    bucket: SecureBucket
    policies: dict[str, aws.iam.Policy]

    def __init__(
        self, tenancy: Tenancy, args: HostBackupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:backup:HostBackups", tenancy.name(PURPOSE), None, opts)
        if args.lock_mode not in LOCK_MODES:
            raise ValueError(
                f"host backups: lock mode {args.lock_mode!r} is not one of {', '.join(LOCK_MODES)}"
            )
        floor = tenancy.envs.national.retention_floor(args.data_class)
        if args.retention_days < floor:
            raise ValueError(
                f"host backups: retention {args.retention_days} days is under the {args.data_class} "
                f"floor of {floor} days (national.yaml)"
            )
        self._tenancy = tenancy
        self._key_alias = args.kms_key_alias
        arn = f"arn:aws:s3:::{host_backups_bucket(tenancy)}"
        # The bucket itself refuses the destructive actions to every server role of the region (one
        # pattern, so a new dedicated commune changes nothing here), whatever identity policy someone
        # might attach to one later.
        servers_never = {
            "Sid": "ServersNeverRemoveVersions",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(DESTRUCTIVE_ACTIONS),
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"ArnLike": {"aws:PrincipalArn": tenancy.role_arn(server_role_name(tenancy, "*"))}},
        }
        self.bucket = SecureBucket(
            tenancy,
            SecureBucketArgs(
                purpose=PURPOSE,
                data_class=args.data_class,
                kms_key_arn=args.kms_key_arn,
                access_log_bucket=args.access_log_bucket,
                object_lock=ObjectLock(args.lock_mode, args.retention_days),
                noncurrent_days=args.retention_days,
                extra_statements=[servers_never],
            ),
            opts=child(self),
        )
        self.policies = {s.role: self._policy(s) for s in sorted(args.servers, key=lambda s: s.role)}
        self.register_outputs({"bucket": self.bucket.name, "layout": server_prefix("<server name>")})

    def policy_arn(self, role: str) -> str:
        """The access policy's ARN from its name (known offline); depend on `policies[role]`."""
        return self._tenancy.policy_arn(self._tenancy.name(f"{PURPOSE}-access", role))

    def _policy(self, server: BackupServer) -> aws.iam.Policy:
        tenancy = self._tenancy
        arn = self.bucket.arn
        prefix = server_prefix(server.server)
        statements: list[Any] = [
            {
                "Sid": "ListOwnRepository",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
            {
                "Sid": "LocateBucket",
                "Effect": "Allow",
                "Action": "s3:GetBucketLocation",
                "Resource": arn,
            },
            {
                # DeleteObject: restic removes its lock files and pruned packs; on a versioned bucket
                # that only writes a delete marker, the locked version stays.
                "Sid": "ReadWriteOwnRepository",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{arn}/{prefix}*",
            },
            {
                # The key is named by its alias, so the document is complete before the key exists.
                "Sid": "UseTenancyKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": tenancy.arn("kms", "key/*"),
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{tenancy.aws_region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": self._key_alias},
                },
            },
            {
                "Sid": "NeverRemoveVersionsNorLoosenTheBucket",
                "Effect": "Deny",
                "Action": list(DESTRUCTIVE_ACTIONS),
                "Resource": [arn, f"{arn}/*"],
            },
        ]
        policy_name = tenancy.name(f"{PURPOSE}-access", server.role)
        return aws.iam.Policy(
            policy_name,
            name=policy_name,
            description=f"Host backups of {server.server}: its own repository prefix {prefix} only",
            policy=policy_json(statements),
            tags=tenancy.tags(policy_name, commune=server.commune),
            opts=child(self),
        )
