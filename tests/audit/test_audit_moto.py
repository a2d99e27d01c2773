"""`jamaa audit` against moto's server on loopback: a compliant and a non-compliant account, seeded live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from jamaa.audit.checks import CONTROLS, endpoint_client
from jamaa.cli import app
from jamaa.controls import load_catalogue
from jamaa.paths import REPO
from jamaa.results import Status

REGION = "eu-south-2"
GOOD, BAD = "111111111111", "222222222222"
# prod's retention per cloud data class (environments/prod/environment.yaml, never below the floors)
PROD_RETENTION = {"public": 35, "internal": 90, "personal": 400}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _credentials(endpoint: str, account: str) -> dict[str, str]:
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="seed",
        aws_secret_access_key="seed",
    )
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/auditor", RoleSessionName="audit")[
        "Credentials"
    ]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def _clients(endpoint: str, env: dict[str, str]) -> Any:
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )
    return lambda service: endpoint_client(session, service, endpoint)


def _plan(client: Any, name: str, data_class: str, days: int) -> None:
    client("backup").create_backup_plan(
        BackupPlan={
            "BackupPlanName": name,
            "Rules": [
                {
                    "RuleName": "daily",
                    "TargetBackupVaultName": "vault",
                    "ScheduleExpression": "cron(0 2 * * ? *)",
                    "Lifecycle": {"DeleteAfterDays": days},
                }
            ],
        },
        BackupPlanTags={"jamaa:data-class": data_class},
    )


def _seed_good(client: Any, account: str) -> None:
    backup = client("backup")
    backup.create_backup_vault(BackupVaultName="vault")
    backup.put_backup_vault_lock_configuration(BackupVaultName="vault", MinRetentionDays=30)
    for data_class, days in PROD_RETENTION.items():
        _plan(client, f"ma-07-prod-{data_class}", data_class, days)
    flags = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    client("s3control").put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=flags)
    s3 = client("s3")
    location = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket="good-trail", CreateBucketConfiguration=location)
    s3.put_public_access_block(Bucket="good-trail", PublicAccessBlockConfiguration=flags)
    trail = client("cloudtrail")
    trail.create_trail(
        Name="trail", S3BucketName="good-trail", IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    trail.start_logging(Name="trail")
    ec2 = client("ec2")
    ec2.create_vpc(CidrBlock="10.71.0.0/16")
    vpc_ids = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    ec2.create_flow_logs(
        ResourceIds=vpc_ids,
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::good-trail",
    )
    client("guardduty").create_detector(Enable=True)
    ec2.enable_ebs_encryption_by_default()


def _seed_bad(client: Any) -> None:
    client("backup").create_backup_vault(BackupVaultName="unlocked")
    _plan(client, "ma-07-prod-personal", "personal", 30)  # below prod's 400 days; no public/internal plan
    s3 = client("s3")
    s3.create_bucket(Bucket="bad-open", CreateBucketConfiguration={"LocationConstraint": REGION})
    client("cloudtrail").create_trail(Name="trail", S3BucketName="bad-open")  # not logging, no validation
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.72.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="REJECT",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::bad-open",
    )


@pytest.fixture(scope="module")
def accounts(endpoint: str) -> dict[str, dict[str, str]]:
    good, bad = _credentials(endpoint, GOOD), _credentials(endpoint, BAD)
    _seed_good(_clients(endpoint, good), GOOD)
    _seed_bad(_clients(endpoint, bad))
    return {"good": good, "bad": bad}


def _audit(endpoint: str, env: dict[str, str], *extra: str) -> tuple[int, Any]:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "audit",
            "--region",
            REGION,
            "--endpoint-url",
            endpoint,
            "--environments",
            str(REPO / "environments"),
            "--format",
            "json",
            *extra,
        ],
        env=env,
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"audit exited {result.exit_code}: {result.output}")


def _by_check(document: Any) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for finding in document["findings"]:
        found.setdefault(finding["check"], []).append(finding)
    return found


def test_compliant_account_passes(endpoint: str, accounts: dict[str, dict[str, str]]) -> None:
    code, document = _audit(endpoint, accounts["good"])
    checks = _by_check(document)
    failed = [f for f in document["findings"] if f["status"] == Status.FAIL]
    assert failed == [], failed
    assert code == 0
    for check in (
        "backup-vault-locked",
        "backup-plan-retention",
        "s3-account-public-access-block",
        "s3-bucket-public-access-block",
        "cloudtrail-logging",
        "cloudtrail-log-validation",
        "vpc-flow-logs",
        "guardduty-enabled",
        "ebs-default-encryption",
    ):
        assert checks[check] and all(f["status"] == Status.PASS for f in checks[check]), check
    assert {f["resource"] for f in checks["backup-plan-retention"]} == {
        f"ma-07-prod-{c}/daily" for c in PROD_RETENTION
    }
    # two VPCs (the default one and ours), each with an ALL-traffic flow log
    assert len(checks["vpc-flow-logs"]) == 2


def test_unimplemented_apis_are_cannot_check_not_pass(
    endpoint: str, accounts: dict[str, dict[str, str]]
) -> None:
    """moto's server does not implement ListProtectedResources: said so, never counted as passed."""
    _, document = _audit(endpoint, accounts["good"])
    points = _by_check(document)["backup-recovery-points"]
    assert [p["status"] for p in points] == [Status.CANNOT_EVALUATE]
    assert "ListProtectedResources" in points[0]["detail"]
    assert document["summary"][Status.CANNOT_EVALUATE] == 1


def test_noncompliant_account_reports_each_invariant(
    endpoint: str, accounts: dict[str, dict[str, str]]
) -> None:
    code, document = _audit(endpoint, accounts["bad"])
    assert code == 1
    failures = {(f["check"], f["resource"]) for f in document["findings"] if f["status"] == Status.FAIL}
    assert ("backup-vault-locked", "unlocked") in failures
    assert ("backup-plan-retention", "ma-07-prod-personal/daily") in failures
    assert ("backup-plan-retention", "public") in failures
    assert ("backup-plan-retention", "internal") in failures
    assert ("s3-account-public-access-block", BAD) in failures
    assert ("s3-bucket-public-access-block", "bad-open") in failures
    assert any(check == "cloudtrail-logging" for check, _ in failures)
    assert any(check == "cloudtrail-log-validation" for check, _ in failures)
    flow = [f for f in document["findings"] if f["check"] == "vpc-flow-logs"]
    assert len(flow) == 2 and all(f["status"] == Status.FAIL for f in flow)
    assert any("only REJECT" in f["detail"] for f in flow)
    assert ("guardduty-enabled", "*") in failures
    assert ("ebs-default-encryption", BAD) in failures
    for finding in document["findings"]:
        assert finding["control"] == CONTROLS[finding["check"]]


def test_retention_follows_the_environment(endpoint: str, accounts: dict[str, dict[str, str]]) -> None:
    """The lab keeps personal data 365 days: the 400-day plan passes there too; staging's figures apply."""
    code, document = _audit(endpoint, accounts["good"], "--env", "lab")
    assert code == 0, document


def test_text_output_and_unknown_env(endpoint: str, accounts: dict[str, dict[str, str]]) -> None:
    runner = CliRunner()
    base = [
        "audit",
        "--region",
        REGION,
        "--endpoint-url",
        endpoint,
        "--environments",
        str(REPO / "environments"),
    ]
    result = runner.invoke(app, base, env=accounts["bad"])
    assert result.exit_code == 1
    assert "CLD-BKP-001" in result.stdout and "fail:" in result.stdout
    result = runner.invoke(app, [*base, "--env", "nowhere"], env=accounts["good"])
    assert result.exit_code == 2
    assert "--env: unknown environment 'nowhere'" in result.output


def test_unreachable_endpoint_is_an_error_not_a_pass(accounts: dict[str, dict[str, str]]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "audit",
            "--region",
            REGION,
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--environments",
            str(REPO / "environments"),
        ],
        env=accounts["good"],
    )
    assert result.exit_code == 2
    assert "Could not connect" in result.output


def test_every_control_id_is_in_the_catalogue() -> None:
    catalogue = load_catalogue(REPO / "policies" / "controls")
    missing = sorted(set(CONTROLS.values()) - set(catalogue.controls))
    assert missing == []
