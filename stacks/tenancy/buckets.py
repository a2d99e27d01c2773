"""A hardened S3 bucket: versioned, encrypted, private, TLS-only, access-logged, with a lifecycle.

Built from pulumi-aws 7's current resources: `aws.s3.Bucket` plus the separate
BucketVersioning / BucketServerSideEncryptionConfiguration / BucketPublicAccessBlock /
BucketOwnershipControls / BucketLogging / BucketObjectLockConfiguration /
BucketLifecycleConfiguration / BucketPolicy resources (the `…V2` classes are deprecated aliases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.context import Tenancy, child, policy_json


@dataclass(frozen=True)
class ObjectLock:
    mode: str  # COMPLIANCE | GOVERNANCE
    days: int


@dataclass
class SecureBucketArgs:
    purpose: str
    data_class: str
    kms_key_arn: (
        pulumi.Input[str] | None
    )  # None: SSE-S3 (only where AWS requires it, e.g. access-log targets)
    access_log_bucket: (
        pulumi.Input[str] | None
    )  # the target bucket's name; None only for the log target itself
    expiration_days: int | None = None
    noncurrent_days: int = 30
    object_lock: ObjectLock | None = None
    extra_statements: list[Any] = field(default_factory=list)
    commune: str | None = None


class SecureBucket(pulumi.ComponentResource):
    """One bucket and every setting that makes it safe; children parented to it."""

    bucket: aws.s3.Bucket
    name: str
    arn: str

    def __init__(
        self, tenancy: Tenancy, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        logical = tenancy.name("bucket", args.purpose)
        super().__init__("jamaa:storage:SecureBucket", logical, None, opts)
        self.name = tenancy.bucket_name(args.purpose)
        self.arn = f"arn:aws:s3:::{self.name}"
        tags = tenancy.tags(self.name, args.data_class, args.commune)

        self.bucket = aws.s3.Bucket(
            logical,
            bucket=self.name,
            object_lock_enabled=args.object_lock is not None,
            force_destroy=False,
            tags=tags,
            # a locked bucket's objects cannot be removed before their retention: never delete it
            opts=child(self, protect=args.object_lock is not None),
        )
        bucket_id = self.bucket.bucket  # the name: known offline, so a plan can link the parts
        aws.s3.BucketOwnershipControls(
            f"{logical}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child(self),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{logical}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self),
        )
        versioning = aws.s3.BucketVersioning(
            f"{logical}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child(self),
        )
        if args.kms_key_arn is not None:
            default = (
                aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn
                )
            )
        else:
            default = (
                aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{logical}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default,
                    bucket_key_enabled=args.kms_key_arn is not None,
                )
            ],
            opts=child(self),
        )
        if args.access_log_bucket is not None:
            aws.s3.BucketLogging(
                f"{logical}-logging",
                bucket=bucket_id,
                target_bucket=args.access_log_bucket,
                target_prefix=f"s3/{self.name}/",
                opts=child(self),
            )
        if args.object_lock is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{logical}-object-lock",
                bucket=bucket_id,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=args.object_lock.mode, days=args.object_lock.days
                    )
                ),
                opts=child(self, depends_on=[versioning]),
            )
        current: dict[str, Any] = {}
        if args.expiration_days is not None:
            current["expiration"] = aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                days=args.expiration_days
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{logical}-lifecycle",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="retention",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=max(
                            args.noncurrent_days, args.object_lock.days if args.object_lock else 0
                        )
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                    **current,
                )
            ],
            opts=child(self, depends_on=[versioning]),
        )
        tls_only = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [self.arn, f"{self.arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        self.policy = aws.s3.BucketPolicy(
            f"{logical}-policy",
            bucket=bucket_id,
            policy=policy_json([tls_only, *args.extra_statements]),
            opts=child(self, depends_on=[public_access]),
        )
        self.register_outputs({"bucket": self.name, "arn": self.arn})
