"""AWS Backup: a locked vault in the primary region, a locked DR vault in the DR region, and one plan
per data class (daily / weekly / monthly, never below the national retention floors), each copying
to the DR vault, selecting every resource tagged with its data class."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.backup_testing import BackupTesting, BackupTestingArgs
from tenancy.context import Tenancy, assume_role_policy, child

COMPLIANCE_GRACE_DAYS = 3  # a compliance-mode lock becomes immutable after this cooling-off time
WEEKLY_MIN_DAYS = 90
MONTHLY_MIN_DAYS = 365


@dataclass
class BackupArgs:
    kms_key_arn: pulumi.Input[str]
    dr_kms_key_arn: pulumi.Input[str]
    dr_provider: aws.Provider
    lock_mode: str  # COMPLIANCE | GOVERNANCE (the environment's backup_vault_lock_mode)
    retention_days: dict[str, int]  # data class → daily retention (≥ the class floor)
    floors: dict[str, int]  # data class → national floor


def schedules(daily_days: int, floor: int) -> list[tuple[str, str, int]]:
    """(rule, cron, retention days) per cadence; no cadence keeps less than the floor."""
    daily = max(daily_days, floor)
    return [
        ("daily", "cron(0 1 * * ? *)", daily),
        ("weekly", "cron(0 2 ? * SUN *)", max(daily, WEEKLY_MIN_DAYS)),
        ("monthly", "cron(0 3 1 * ? *)", max(daily, MONTHLY_MIN_DAYS)),
    ]


class BackupPlans(pulumi.ComponentResource):
    vault: aws.backup.Vault
    dr_vault: aws.backup.Vault

    def __init__(
        self, tenancy: Tenancy, args: BackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:backup:BackupPlans", tenancy.name("backup"), None, opts)
        name = tenancy.name
        all_days = [
            days for cls, d in args.retention_days.items() for _, _, days in schedules(d, args.floors[cls])
        ]
        min_days, max_days = min(all_days), max(all_days)
        changeable = COMPLIANCE_GRACE_DAYS if args.lock_mode == "COMPLIANCE" else None

        self.vault = aws.backup.Vault(
            name("vault"),
            name=name("vault"),
            kms_key_arn=args.kms_key_arn,
            force_destroy=False,
            tags=tenancy.tags(name("vault")),
            opts=child(self, protect=True),
        )
        aws.backup.VaultLockConfiguration(
            name("vault-lock"),
            backup_vault_name=self.vault.name,
            min_retention_days=min_days,
            max_retention_days=max_days,
            changeable_for_days=changeable,
            opts=child(self, protect=True),
        )
        self.dr_vault = aws.backup.Vault(
            name("vault-dr"),
            name=name("vault-dr"),
            kms_key_arn=args.dr_kms_key_arn,
            force_destroy=False,
            tags=tenancy.tags(name("vault-dr")),
            opts=child(self, provider=args.dr_provider, protect=True),
        )
        aws.backup.VaultLockConfiguration(
            name("vault-dr-lock"),
            backup_vault_name=self.dr_vault.name,
            min_retention_days=min_days,
            max_retention_days=max_days,
            changeable_for_days=changeable,
            opts=child(self, provider=args.dr_provider, protect=True),
        )
        role_name = name("backup")
        dr_vault_arn = tenancy.arn("backup", f"backup-vault:{name('vault-dr')}", region=tenancy.dr_region)
        role = aws.iam.Role(
            name("backup-role"),
            name=role_name,
            assume_role_policy=assume_role_policy("backup.amazonaws.com", tenancy.account_id),
            tags=tenancy.tags(name("backup-role")),
            opts=child(self),
        )
        for managed in ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"):
            aws.iam.RolePolicyAttachment(
                name("backup-role", managed.lower()),
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/service-role/{managed}",
                opts=child(self),
            )
        aws.iam.RolePolicyAttachment(
            name("backup-role-s3"),
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
            opts=child(self),
        )

        for data_class, daily_days in sorted(args.retention_days.items()):
            tenancy.check_cloud_class(data_class, f"backup plan {data_class}")
            rules = [
                aws.backup.PlanRuleArgs(
                    rule_name=f"{data_class}-{cadence}",
                    target_vault_name=self.vault.name,
                    schedule=cron,
                    schedule_expression_timezone="Africa/Casablanca",
                    start_window=60,
                    completion_window=600,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=days),
                    copy_actions=[
                        aws.backup.PlanRuleCopyActionArgs(
                            destination_vault_arn=dr_vault_arn,
                            lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=days),
                        )
                    ],
                    recovery_point_tags={"jamaa:data-class": data_class},
                )
                for cadence, cron, days in schedules(daily_days, args.floors[data_class])
            ]
            plan = aws.backup.Plan(
                name("backup-plan", data_class),
                name=name("backup", data_class),
                rules=rules,
                tags=tenancy.tags(name("backup-plan", data_class), data_class),
                opts=child(self, depends_on=[self.dr_vault]),
            )
            aws.backup.Selection(
                name("backup-selection", data_class),
                name=name("backup", data_class),
                plan_id=plan.id,
                iam_role_arn=tenancy.role_arn(role_name),
                resources=["*"],
                conditions=[
                    aws.backup.SelectionConditionArgs(
                        string_equals=[
                            aws.backup.SelectionConditionStringEqualArgs(
                                key="aws:ResourceTag/jamaa:data-class", value=data_class
                            ),
                            aws.backup.SelectionConditionStringEqualArgs(
                                key="aws:ResourceTag/jamaa:region", value=tenancy.region.code
                            ),
                        ]
                    )
                ],
                opts=child(self, depends_on=[role]),
            )
        self.testing = BackupTesting(
            tenancy,
            BackupTestingArgs(
                vault_name=self.vault.name,
                vault_arn=self.vault.arn,
                role_arn=tenancy.role_arn(role_name),
                kms_key_arn=args.kms_key_arn,
                db_subnet_group=name("db"),
            ),
            opts=child(self, depends_on=[role]),
        )
        self.register_outputs({"vault": self.vault.arn, "dr_vault": self.dr_vault.arn})
