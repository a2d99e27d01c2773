"""AWS Backup restore testing and vault notifications, wired from the backup component (`BackupPlans`).

- A restore testing plan restores the latest recovery point of the week, from the region's vault, of
  every RDS instance and every EBS volume the region protects (selected by the `jamaa:region` tag),
  keeps the restored copy for a validation window, then AWS Backup deletes it. RDS restores go into the
  tenancy's data-tier subnet group (there is no default VPC to fall back on); EBS restores are
  encrypted with the tenancy key.
- The vault's job events (failed backups, copies and restores, completed restores, changed recovery
  points) go to an SNS topic encrypted with the tenancy key, whose policy lets AWS Backup encrypt
  what it publishes (the `LogDeliveryAndConfigWrite` statement of keys.py names backup.amazonaws.com).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.context import Tenancy, child, policy_json

# Vault events the operators must hear about (names from the AWS Backup API's BackupVaultEvent).
VAULT_EVENTS = [
    "BACKUP_JOB_FAILED",
    "BACKUP_JOB_EXPIRED",
    "COPY_JOB_FAILED",
    "RESTORE_JOB_FAILED",
    "RESTORE_JOB_COMPLETED",
    "RECOVERY_POINT_MODIFIED",
    "S3_BACKUP_OBJECT_FAILED",
    "S3_RESTORE_OBJECT_FAILED",
]
RESTORE_TEST_SCHEDULE = "cron(0 5 ? * SAT *)"  # weekly, Saturday 05:00 (Casablanca)
SELECTION_WINDOW_DAYS = 7  # test the newest recovery point of the last week
VALIDATION_WINDOW_HOURS = 4  # restored copies live this long, then AWS Backup deletes them
TESTED_TYPES = ("RDS", "EBS")


def restore_name(*parts: str) -> str:
    """Restore testing names allow letters, digits and underscores only (≤ 50)."""
    return "_".join(parts).replace("-", "_")[:50]


@dataclass
class BackupTestingArgs:
    vault_name: pulumi.Input[str]
    vault_arn: pulumi.Input[str]
    role_arn: pulumi.Input[str]  # the backup role (AWSBackupServiceRolePolicyForRestores attached)
    kms_key_arn: pulumi.Input[str]  # the tenancy key: the topic and restored EBS volumes use it
    db_subnet_group: str  # the data tier's subnet group name, for restored RDS instances


class BackupTesting(pulumi.ComponentResource):
    topic: aws.sns.Topic
    plan: aws.backup.RestoreTestingPlan
    selections: dict[str, aws.backup.RestoreTestingSelection]

    def __init__(
        self, tenancy: Tenancy, args: BackupTestingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:backup:BackupTesting", tenancy.name("backup-testing"), None, opts)
        name = tenancy.name
        source_account = {"StringEquals": {"aws:SourceAccount": tenancy.account_id}}

        self.topic = aws.sns.Topic(
            name("backup-events"),
            name=name("backup-events"),
            kms_master_key_id=args.kms_key_arn,
            tags=tenancy.tags(name("backup-events")),
            opts=child(self),
        )
        aws.sns.TopicPolicy(
            name("backup-events-policy"),
            arn=self.topic.arn,
            policy=policy_json(
                [
                    {
                        "Sid": "BackupPublishes",
                        "Effect": "Allow",
                        "Principal": {"Service": "backup.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": tenancy.arn("sns", name("backup-events")),
                        "Condition": source_account,
                    },
                    {
                        "Sid": "TLSOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": tenancy.arn("sns", name("backup-events")),
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
            opts=child(self),
        )
        aws.backup.VaultNotifications(
            name("vault-notifications"),
            backup_vault_name=args.vault_name,
            sns_topic_arn=self.topic.arn,
            backup_vault_events=VAULT_EVENTS,
            opts=child(self),
        )

        plan_name = restore_name(name("restore-testing"))
        self.plan = aws.backup.RestoreTestingPlan(
            name("restore-testing"),
            name=plan_name,
            schedule_expression=RESTORE_TEST_SCHEDULE,
            schedule_expression_timezone="Africa/Casablanca",
            start_window_hours=24,
            recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[args.vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=SELECTION_WINDOW_DAYS,
            ),
            tags=tenancy.tags(name("restore-testing")),
            opts=child(self),
        )
        overrides: dict[str, dict[str, pulumi.Input[str]]] = {
            "RDS": {"dbSubnetGroupName": args.db_subnet_group},
            "EBS": {"kmsKeyId": args.kms_key_arn},
        }
        self.selections = {}
        for resource_type in TESTED_TYPES:
            self.selections[resource_type] = aws.backup.RestoreTestingSelection(
                name("restore-testing", resource_type.lower()),
                name=restore_name(name("restore", resource_type.lower())),
                restore_testing_plan_name=self.plan.name,
                protected_resource_type=resource_type,
                iam_role_arn=args.role_arn,
                protected_resource_arns=["*"],
                protected_resource_conditions=aws.backup.RestoreTestingSelectionProtectedResourceConditionsArgs(
                    string_equals=[
                        aws.backup.RestoreTestingSelectionProtectedResourceConditionsStringEqualArgs(
                            key="aws:ResourceTag/jamaa:region", value=tenancy.region.code
                        )
                    ]
                ),
                restore_metadata_overrides=overrides[resource_type],
                validation_window_hours=VALIDATION_WINDOW_HOURS,
                opts=child(self),
            )
        self.register_outputs({"topic": self.topic.arn, "restore_testing_plan": self.plan.arn})
