"""Audit logging: the log buckets, CloudTrail, GuardDuty, AWS Config and Security Hub (CIS standard).

Each detective service is switchable per environment (`security_services` in environment.yaml). In
an organization environment the trail, GuardDuty and Security Hub are the organization's (one each
per account, set up by the log-archive and security stacks), and this component keeps only what is
per account and region: the log buckets and AWS Config's recorders (primary and DR region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.buckets import ObjectLock, SecureBucket, SecureBucketArgs
from tenancy.context import Tenancy, assume_role_policy, child, policy_json
from tenancy.recording import ConfigRecording, RecordingArgs

CIS_STANDARD = "standards/cis-aws-foundations-benchmark/v/3.0.0"


@dataclass
class AuditArgs:
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    object_lock_mode: str
    guardduty: bool
    config: bool
    security_hub: bool
    trail: bool = True
    config_regions: list[str] = field(default_factory=list)  # default: the stack's region
    # The organization's log archive (log-archive stack's `logs_bucket`): Config delivers there,
    # encrypted by that bucket's own key; None: to this stack's audit bucket, with the tenancy key.
    config_bucket: str | None = None


def _service_write(sid: str, service: str, bucket_arn: str, prefix: str, account: str) -> list[Any]:
    """The two statements a log-delivering AWS service needs on a bucket, scoped to this account."""
    condition = {"StringEquals": {"aws:SourceAccount": account}}
    return [
        {
            "Sid": f"{sid}AclCheck",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": condition,
        },
        {
            "Sid": f"{sid}Write",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{prefix}/AWSLogs/{account}/*",
            "Condition": condition,
        },
    ]


class AuditLogging(pulumi.ComponentResource):
    access_logs: SecureBucket
    audit_bucket: SecureBucket
    trail: aws.cloudtrail.Trail | None

    FLOW_LOG_PREFIX = "vpc-flow-logs"

    def __init__(self, tenancy: Tenancy, args: AuditArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jamaa:audit:AuditLogging", tenancy.name("audit"), None, opts)
        account = tenancy.account_id

        # Server access logs and ALB access logs land here. AWS accepts only SSE-S3 on a bucket that
        # receives S3 server access logs, so this one bucket is AES256 rather than SSE-KMS.
        access_name = tenancy.bucket_name("access-logs")
        access_arn = f"arn:aws:s3:::{access_name}"
        self.access_logs = SecureBucket(
            tenancy,
            SecureBucketArgs(
                purpose="access-logs",
                data_class="internal",
                kms_key_arn=None,
                access_log_bucket=None,
                expiration_days=args.log_retention_days,
                extra_statements=[
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"{access_arn}/s3/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    },
                    {
                        "Sid": "AlbAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"{access_arn}/alb/AWSLogs/{account}/*",
                    },
                ],
            ),
            opts=child(self),
        )

        audit_name = tenancy.bucket_name("audit-logs")
        audit_arn = f"arn:aws:s3:::{audit_name}"
        self.audit_bucket = SecureBucket(
            tenancy,
            SecureBucketArgs(
                purpose="audit-logs",
                data_class="internal",
                kms_key_arn=args.kms_key_arn,
                access_log_bucket=access_name,
                expiration_days=args.log_retention_days,
                object_lock=ObjectLock(args.object_lock_mode, args.log_retention_days),
                extra_statements=[
                    *(
                        _service_write(
                            "CloudTrail", "cloudtrail.amazonaws.com", audit_arn, "cloudtrail", account
                        )
                        if args.trail
                        else []
                    ),
                    *(
                        _service_write("Config", "config.amazonaws.com", audit_arn, "config", account)
                        if args.config_bucket is None
                        else []
                    ),
                    *_service_write(
                        "FlowLogs", "delivery.logs.amazonaws.com", audit_arn, self.FLOW_LOG_PREFIX, account
                    ),
                ],
            ),
            opts=child(self, depends_on=[self.access_logs]),
        )

        self.trail = None
        if args.trail:
            trail_name = tenancy.name("trail")
            # ARNs below are built from the config-derived names, so the plan can check them offline;
            # `depends_on` keeps the creation order the outputs would have given.
            trail_group_name = f"/jamaa/{tenancy.prefix}/cloudtrail"
            trail_group_arn = tenancy.log_group_arn(trail_group_name)
            trail_role_name = tenancy.name("trail-to-logs")
            trail_logs = aws.cloudwatch.LogGroup(
                tenancy.name("trail-logs"),
                name=trail_group_name,
                retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn,
                tags=tenancy.tags(tenancy.name("trail-logs")),
                opts=child(self),
            )
            trail_role = aws.iam.Role(
                tenancy.name("trail-role"),
                name=trail_role_name,
                assume_role_policy=assume_role_policy("cloudtrail.amazonaws.com", account),
                tags=tenancy.tags(tenancy.name("trail-role")),
                opts=child(self),
            )
            aws.iam.RolePolicy(
                tenancy.name("trail-role-policy"),
                role=trail_role.id,
                policy=policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": f"{trail_group_arn}:log-stream:*",
                        }
                    ]
                ),
                opts=child(self),
            )
            self.trail = aws.cloudtrail.Trail(
                trail_name,
                name=trail_name,
                s3_bucket_name=audit_name,
                s3_key_prefix="cloudtrail",
                is_multi_region_trail=True,
                include_global_service_events=True,
                enable_log_file_validation=True,
                enable_logging=True,
                kms_key_id=args.kms_key_arn,
                cloud_watch_logs_group_arn=f"{trail_group_arn}:*",
                cloud_watch_logs_role_arn=tenancy.role_arn(trail_role_name),
                tags=tenancy.tags(trail_name),
                opts=child(self, depends_on=[self.audit_bucket, trail_logs, trail_role]),
            )

        if args.guardduty:
            aws.guardduty.Detector(
                tenancy.name("guardduty"),
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                tags=tenancy.tags(tenancy.name("guardduty")),
                opts=child(self),
            )

        if args.config:
            ConfigRecording(
                tenancy,
                RecordingArgs(
                    regions=args.config_regions or [tenancy.aws_region],
                    bucket=args.config_bucket or audit_name,
                    key_prefix="config",
                    kms_key_arn=None if args.config_bucket else args.kms_key_arn,
                ),
                opts=child(self, depends_on=[self.audit_bucket]),
            )

        if args.security_hub:
            hub = aws.securityhub.Account(
                tenancy.name("securityhub"),
                enable_default_standards=False,
                auto_enable_controls=True,
                opts=child(self),
            )
            aws.securityhub.StandardsSubscription(
                tenancy.name("securityhub-cis"),
                standards_arn=f"arn:aws:securityhub:{tenancy.aws_region}::{CIS_STANDARD}",
                opts=child(self, depends_on=[hub]),
            )

        self.register_outputs(
            {
                "audit_bucket": audit_name,
                "access_log_bucket": access_name,
                "trail": self.trail.arn if self.trail else None,
            }
        )
