"""The tenancy's KMS keys: one in the primary region (everything at rest), one in the DR region
(the locked DR backup vault). Rotation on, a long deletion window, key policies scoped to the account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.context import Tenancy, child, policy_json


@dataclass
class KeysArgs:
    deletion_window_days: int
    dr_provider: aws.Provider


def key_policy(tenancy: Tenancy, aws_region: str) -> pulumi.Input[str]:
    account = tenancy.account_id
    root = f"arn:aws:iam::{account}:root"
    source_account = {"StringEquals": {"aws:SourceAccount": account}}
    statements: list[Any] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudTrailEncryptsLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                **source_account,
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"
                },
            },
        },
        {
            "Sid": "CloudWatchLogsEncrypts",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{aws_region}.amazonaws.com"},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{aws_region}:{account}:log-group:*"
                }
            },
        },
        {
            "Sid": "ServiceDeliveries",
            "Effect": "Allow",
            "Principal": {
                "Service": [
                    "delivery.logs.amazonaws.com",
                    "config.amazonaws.com",
                    "backup.amazonaws.com",
                    "budgets.amazonaws.com",
                ]
            },
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": "*",
            "Condition": source_account,
        },
    ]
    return policy_json(statements)


class TenancyKeys(pulumi.ComponentResource):
    key: aws.kms.Key
    dr_key: aws.kms.Key
    alias: str

    def __init__(self, tenancy: Tenancy, args: KeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jamaa:keys:TenancyKeys", tenancy.name("keys"), None, opts)
        self.alias = f"alias/jamaa/{tenancy.prefix}"
        self.key = aws.kms.Key(
            tenancy.name("kms"),
            description=f"Jamaa {tenancy.region.code} {tenancy.env}: tenancy data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=key_policy(tenancy, tenancy.aws_region),
            tags=tenancy.tags(tenancy.name("kms")),
            opts=child(self, protect=True),
        )
        aws.kms.Alias(
            tenancy.name("kms-alias"),
            name=self.alias,
            target_key_id=self.key.key_id,
            opts=child(self),
        )
        self.dr_key = aws.kms.Key(
            tenancy.name("kms-dr"),
            description=f"Jamaa {tenancy.region.code} {tenancy.env}: DR backup copies ({tenancy.dr_region})",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=key_policy(tenancy, tenancy.dr_region),
            tags=tenancy.tags(tenancy.name("kms-dr")),
            opts=child(self, provider=args.dr_provider, protect=True),
        )
        aws.kms.Alias(
            tenancy.name("kms-dr-alias"),
            name=f"alias/jamaa/{tenancy.prefix}-dr",
            target_key_id=self.dr_key.key_id,
            opts=child(self, provider=args.dr_provider),
        )
        self.register_outputs({"key_arn": self.key.arn, "dr_key_arn": self.dr_key.arn})
