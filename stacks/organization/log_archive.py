"""The log-archive account: the organization trail (created here, by CloudTrail's delegated
administrator) and its bucket (Object Lock, SSE-KMS, access-logged, TLS only), which also receives
the AWS Config deliveries of the organization's own accounts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from tenancy.buckets import ObjectLock, SecureBucket, SecureBucketArgs
from tenancy.context import assume_role_policy, child, policy_json

from organization.context import OrgContext

TRAIL_PREFIX = "cloudtrail"
CONFIG_PREFIX = "config"


@dataclass
class LogArchiveArgs:
    organization_id: str
    retention_days: int
    object_lock_mode: str
    kms_deletion_window_days: int


def trail_key_policy(ctx: OrgContext, organization_id: str) -> pulumi.Input[str]:
    account = ctx.account_id
    org = {"StringEquals": {"aws:SourceOrgID": organization_id}}
    log_groups = f"arn:aws:logs:{ctx.aws_region}:{account}:log-group:*"
    statements: list[Any] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "OrganizationTrailEncrypts",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:*:trail/*"},
                **org,
            },
        },
        {
            "Sid": "ConfigDeliveries",
            "Effect": "Allow",
            "Principal": {"Service": "config.amazonaws.com"},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": "*",
            "Condition": org,
        },
        {
            "Sid": "CloudWatchLogsEncrypts",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{ctx.aws_region}.amazonaws.com"},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        },
    ]
    return policy_json(statements)


class LogArchive(pulumi.ComponentResource):
    bucket: SecureBucket
    key: aws.kms.Key
    trail: aws.cloudtrail.Trail

    def __init__(self, ctx: OrgContext, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jamaa:organization:LogArchive", ctx.name("archive"), None, opts)
        account = ctx.account_id
        self.key = aws.kms.Key(
            ctx.name("kms"),
            description="Jamaa organization trail and Config deliveries",
            enable_key_rotation=True,
            deletion_window_in_days=args.kms_deletion_window_days,
            policy=trail_key_policy(ctx, args.organization_id),
            tags=ctx.tags(ctx.name("kms")),
            opts=child(self, protect=True),
        )
        aws.kms.Alias(
            ctx.name("kms-alias"),
            name=f"alias/jamaa/{ctx.prefix}",
            target_key_id=self.key.key_id,
            opts=child(self),
        )

        access_name = ctx.bucket_name("access-logs")
        access = SecureBucket(
            ctx,  # type: ignore[arg-type]
            SecureBucketArgs(
                purpose="access-logs",
                data_class="internal",
                kms_key_arn=None,  # S3 server access logs land only in an SSE-S3 bucket
                access_log_bucket=None,
                expiration_days=args.retention_days,
                extra_statements=[
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{access_name}/s3/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    }
                ],
            ),
            opts=child(self),
        )

        name = ctx.bucket_name("trail")
        arn = f"arn:aws:s3:::{name}"
        trail_name = "jamaa-organization"
        trail_arn = f"arn:aws:cloudtrail:{ctx.aws_region}:{account}:trail/{trail_name}"
        org = {"StringEquals": {"aws:SourceOrgID": args.organization_id}}
        self.bucket = SecureBucket(
            ctx,  # type: ignore[arg-type]
            SecureBucketArgs(
                purpose="trail",
                data_class="internal",
                kms_key_arn=self.key.arn,
                access_log_bucket=access_name,
                expiration_days=args.retention_days,
                object_lock=ObjectLock(args.object_lock_mode, args.retention_days),
                extra_statements=[
                    {
                        "Sid": "CloudTrailAclCheck",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": arn,
                        "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
                    },
                    {
                        "Sid": "CloudTrailWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": [
                            f"{arn}/{TRAIL_PREFIX}/AWSLogs/{account}/*",
                            f"{arn}/{TRAIL_PREFIX}/AWSLogs/{args.organization_id}/*",
                        ],
                        "Condition": {
                            "StringEquals": {
                                "aws:SourceArn": trail_arn,
                                "s3:x-amz-acl": "bucket-owner-full-control",
                            }
                        },
                    },
                    {
                        "Sid": "ConfigAclCheck",
                        "Effect": "Allow",
                        "Principal": {"Service": "config.amazonaws.com"},
                        "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                        "Resource": arn,
                        "Condition": org,
                    },
                    {
                        "Sid": "ConfigWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "config.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"{arn}/{CONFIG_PREFIX}/AWSLogs/*",
                        "Condition": org,
                    },
                ],
            ),
            opts=child(self, depends_on=[access], protect=True),
        )

        group_name = "/jamaa/organization/cloudtrail"
        group_arn = ctx.log_group_arn(group_name)
        role_name = ctx.name("trail-to-logs")
        logs = aws.cloudwatch.LogGroup(
            ctx.name("trail-logs"),
            name=group_name,
            retention_in_days=args.retention_days,
            kms_key_id=self.key.arn,
            tags=ctx.tags(ctx.name("trail-logs")),
            opts=child(self),
        )
        role = aws.iam.Role(
            ctx.name("trail-role"),
            name=role_name,
            assume_role_policy=assume_role_policy("cloudtrail.amazonaws.com", account),
            tags=ctx.tags(ctx.name("trail-role")),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            ctx.name("trail-role-policy"),
            role=role.id,
            policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [f"{group_arn}:log-stream:*"],
                    }
                ]
            ),
            opts=child(self),
        )
        self.trail = aws.cloudtrail.Trail(
            ctx.name("trail"),
            name=trail_name,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            s3_bucket_name=name,
            s3_key_prefix=TRAIL_PREFIX,
            kms_key_id=self.key.arn,
            cloud_watch_logs_group_arn=f"{group_arn}:*",
            cloud_watch_logs_role_arn=ctx.role_arn(role_name),
            tags=ctx.tags(trail_name),
            opts=child(self, depends_on=[self.bucket, logs, role]),
        )
        self.register_outputs({"bucket": name, "trail": trail_arn})
