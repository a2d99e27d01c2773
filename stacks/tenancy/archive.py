"""The document archive: one bucket per region for commune records, laid out by commune
(`communes/<commune id>/…`), Object Lock (compliance in prod), SSE-KMS with the tenancy key, and an
IAM policy per server role that reaches only its own communes' prefixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.buckets import ObjectLock, SecureBucket, SecureBucketArgs
from tenancy.context import Tenancy, child, policy_json

PREFIX = "communes"


@dataclass
class ArchiveArgs:
    data_class: str
    kms_key_arn: pulumi.Input[str]
    kms_key_alias: str
    access_log_bucket: str
    object_lock_mode: str
    retention_days: int
    dedicated_communes: list[str] = field(default_factory=list)


def commune_prefix(commune: str) -> str:
    return f"{PREFIX}/{commune}/"


class DocumentArchive(pulumi.ComponentResource):
    bucket: SecureBucket
    shared_pool_policy: aws.iam.Policy
    dedicated_policies: dict[str, aws.iam.Policy]

    def __init__(
        self, tenancy: Tenancy, args: ArchiveArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:archive:DocumentArchive", tenancy.name("archive"), None, opts)
        self.bucket = SecureBucket(
            tenancy,
            SecureBucketArgs(
                purpose="archive",
                data_class=args.data_class,
                kms_key_arn=args.kms_key_arn,
                access_log_bucket=args.access_log_bucket,
                object_lock=ObjectLock(args.object_lock_mode, args.retention_days),
                noncurrent_days=args.retention_days,
            ),
            opts=child(self),
        )
        self._key_alias = args.kms_key_alias
        self._tenancy = tenancy
        arn = self.bucket.arn
        # The shared pool serves every commune of the region except the dedicated ones.
        self.shared_pool_policy = self._policy(
            "shared",
            allow=[f"{arn}/{PREFIX}/*"],
            deny=[f"{arn}/{commune_prefix(c)}*" for c in sorted(args.dedicated_communes)],
            list_prefixes=[f"{PREFIX}/*"],
        )
        self.dedicated_policies = {
            commune: self._policy(
                commune,
                allow=[f"{arn}/{commune_prefix(commune)}*"],
                deny=[],
                list_prefixes=[f"{commune_prefix(commune)}*"],
                commune=commune,
            )
            for commune in sorted(args.dedicated_communes)
        }
        self.register_outputs({"bucket": self.bucket.name, "layout": f"{PREFIX}/<commune id>/"})

    def policy_arn(self, who: str) -> str:
        """The access policy's ARN from its name (known offline); depend on `policies[who]`."""
        return self._tenancy.policy_arn(self._tenancy.name("archive-access", who))

    def _policy(
        self,
        who: str,
        allow: list[str],
        deny: list[str],
        list_prefixes: list[str],
        commune: str | None = None,
    ) -> aws.iam.Policy:
        tenancy = self._tenancy
        statements: list[Any] = [
            {
                "Sid": "ListOwnPrefixes",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": self.bucket.arn,
                "Condition": {"StringLike": {"s3:prefix": list_prefixes}},
            },
            {
                "Sid": "ReadWriteOwnRecords",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                "Resource": allow,
            },
            {
                # The key is named by its alias, so the document is complete before the key exists.
                "Sid": "UseTenancyKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": tenancy.arn("kms", "key/*"),
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{tenancy.aws_region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": self._key_alias},
                },
            },
        ]
        if deny:
            statements.append(
                {"Sid": "NotDedicatedCommunes", "Effect": "Deny", "Action": "s3:*", "Resource": deny}
            )
        return aws.iam.Policy(
            tenancy.name("archive-access", who),
            name=tenancy.name("archive-access", who),
            description=f"Archive access for {who}: its communes' prefixes only",
            policy=policy_json(statements),
            tags=tenancy.tags(tenancy.name("archive-access", who), commune=commune),
            opts=child(self),
        )
