"""AWS Backup restore testing and vault notifications (stacks/tenancy/backup_testing.py) in every plan."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pulumi_aws as aws
import pytest
from tenancy_plans import STACKS, token

from jamaa.plan import UNKNOWN, Plan, PlannedResource

PlanOf = Callable[[str], Plan]
PLAN = token(aws.backup.RestoreTestingPlan)
SELECTION = token(aws.backup.RestoreTestingSelection)
NOTIFICATIONS = token(aws.backup.VaultNotifications)


def prefix(stack: str) -> str:
    return "ma-07-lab" if stack == "lab" else stack


def named(plan: Plan, type_: str, name: str) -> PlannedResource:
    found = [r for r in plan.of_type(type_) if r.name == name]
    assert len(found) == 1, f"{type_} {name}: {[r.name for r in plan.of_type(type_)]}"
    return found[0]


@pytest.mark.parametrize("stack", STACKS)
def test_weekly_restore_test_of_the_regions_rds_and_ebs(plan_of: PlanOf, stack: str) -> None:
    plan = plan_of(stack)
    testing = named(plan, PLAN, f"{prefix(stack)}-restore-testing")
    assert re.fullmatch(r"[A-Za-z0-9_]{1,50}", testing.inputs["name"]), testing.inputs["name"]
    assert testing.inputs["scheduleExpression"].startswith("cron(")
    selection = testing.inputs["recoveryPointSelection"]
    assert selection["algorithm"] == "LATEST_WITHIN_WINDOW"
    assert selection["recoveryPointTypes"] == ["SNAPSHOT"]
    assert len(selection["includeVaults"]) == 1  # the region's primary vault, never "*"
    selections = {r.inputs["protectedResourceType"]: r for r in plan.of_type(SELECTION)}
    assert set(selections) == {"RDS", "EBS"}
    region = "MA-07" if stack == "lab" else stack[:5].upper()
    subnet_groups = {r.inputs["name"] for r in plan.of_type(token(aws.rds.SubnetGroup))}
    for kind, chosen in selections.items():
        assert chosen.inputs["restoreTestingPlanName"] == testing.inputs["name"]
        assert chosen.inputs["iamRoleArn"].endswith(f":role/{prefix(stack)}-backup")
        assert chosen.inputs["protectedResourceConditions"] == {
            "stringEquals": [{"key": "aws:ResourceTag/jamaa:region", "value": region}]
        }
        assert 1 <= int(chosen.inputs["validationWindowHours"]) <= 168
        overrides = chosen.inputs["restoreMetadataOverrides"]
        if kind == "RDS":  # no default VPC to fall back on: restore into the data tier's subnet group
            assert overrides["dbSubnetGroupName"] in subnet_groups
        else:
            assert "kmsKeyId" in overrides  # restored volumes stay encrypted with the tenancy key


@pytest.mark.parametrize("stack", ["ma-01-prod", "ma-07-staging", "lab"])
def test_vault_events_go_to_an_encrypted_topic_backup_may_publish_to(plan_of: PlanOf, stack: str) -> None:
    plan = plan_of(stack)
    notify = named(plan, NOTIFICATIONS, f"{prefix(stack)}-vault-notifications")
    assert notify.inputs["backupVaultName"] == f"{prefix(stack)}-vault"
    events = set(notify.inputs["backupVaultEvents"])
    assert {"BACKUP_JOB_FAILED", "COPY_JOB_FAILED", "RESTORE_JOB_FAILED", "RESTORE_JOB_COMPLETED"} <= events
    topic = named(plan, token(aws.sns.Topic), f"{prefix(stack)}-backup-events")
    assert topic.inputs.get("kmsMasterKeyId") not in (None, "", "alias/aws/sns")  # AWS Backup cannot use it
    keys = {r.name: r for r in plan.of_type(token(aws.kms.Key))}
    tenancy_key = keys[f"{prefix(stack)}-kms"]
    policy = tenancy_key.inputs["policy"]
    assert policy != UNKNOWN
    statements = json.loads(policy)["Statement"]
    backup = [
        s for s in statements if "backup.amazonaws.com" in str(s.get("Principal", {}).get("Service", ""))
    ]
    assert backup and "aws:SourceAccount" in backup[0]["Condition"]["StringEquals"]
    assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(backup[0]["Action"])
