"""`jamaa audit --organization` against moto's server on loopback: an organization seeded live from
environments/organization.yaml (the same guardrail documents the `org` stack declares), audited as
compliant, then broken one way per check.

moto 5.2.5 lacks Security Hub's ListOrganizationAdminAccounts and GetEnabledStandards, and IAM
Access Analyzer entirely: those findings must read cannot-evaluate, never pass."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.organizations.models import FakeDelegatedAdministrator
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from jamaa.audit.checks import endpoint_client
from jamaa.audit.organization import CONTROLS
from jamaa.cli import app
from jamaa.config import Environments, load_environments
from jamaa.controls import load_catalogue
from jamaa.landingzone import DELEGATED, guardrails
from jamaa.paths import REPO
from jamaa.results import Status

HOME = "eu-south-2"
MANAGEMENT = "123456789012"  # moto's default account: the management account here


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def envs() -> Environments:
    return load_environments(REPO / "environments", check_ledger=False)


SEED = boto3.Session(aws_access_key_id="seed", aws_secret_access_key="seed", region_name=HOME)


@functools.cache
def _credentials(endpoint: str, account: str) -> tuple[tuple[str, str], ...]:
    creds = endpoint_client(SEED, "sts", endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    return (
        ("aws_access_key_id", creds["AccessKeyId"]),
        ("aws_secret_access_key", creds["SecretAccessKey"]),
        ("aws_session_token", creds["SessionToken"]),
    )


def _client(endpoint: str, service: str, region: str = HOME, account: str | None = None) -> Any:
    """A client of the management account, or of `account` through its account-access role (one
    shared session: its service models load once)."""
    credentials = dict(_credentials(endpoint, account)) if account is not None else None
    return endpoint_client(SEED, service, endpoint, region, credentials)


@pytest.fixture(scope="module")
def organization(endpoint: str, envs: Environments) -> dict[str, str]:
    """The organization as the org, log-archive and security stacks leave it; account name → id."""
    org_data = envs.organization
    assert org_data is not None
    org = _client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    org.enable_policy_type(RootId=org.list_roots()["Roots"][0]["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    root = org.list_roots()["Roots"][0]["Id"]
    ous: dict[str, str] = {}
    for ou in sorted(org_data.organizational_units, key=lambda o: o.path.count("/")):
        parent = ous[ou.parent] if ou.parent else root
        ous[ou.path] = org.create_organizational_unit(ParentId=parent, Name=ou.path.rsplit("/", 1)[-1])[
            "OrganizationalUnit"
        ]["Id"]
    ids: dict[str, str] = {}
    for account in org_data.accounts:
        status = org.create_account(Email=account.email, AccountName=account.name)["CreateAccountStatus"]
        ids[account.name] = status["AccountId"]
        org.move_account(
            AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=ous[account.ou]
        )
    for guardrail in guardrails(envs, org_data):
        policy = org.create_policy(
            Name=guardrail.name,
            Description=guardrail.description,
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(guardrail.document()),
        )["Policy"]["PolicySummary"]["Id"]
        for target in guardrail.targets:
            org.attach_policy(PolicyId=policy, TargetId=root if target == "root" else ous[target])
    # moto 5.2.5 accepts delegated administrators for six services only; AWS also has them for AWS
    # Backup, CloudTrail and AWS Config (documented in Organizations' integrated-services list):
    # the seed widens moto's list so the organization can be shaped as the org stack leaves it.
    supported = FakeDelegatedAdministrator.SUPPORTED_SERVICES
    for principal in (p for principals in DELEGATED.values() for p in principals):
        if principal not in supported:
            supported.append(principal)
    for kind, principals in DELEGATED.items():
        for principal in principals:
            org.enable_aws_service_access(ServicePrincipal=principal)
            org.register_delegated_administrator(
                AccountId=ids[org_data.account_of_kind(kind).name], ServicePrincipal=principal
            )
    security = ids[org_data.account_of_kind("security").name]
    for region in envs.national.hosting.allowed_regions:
        _client(endpoint, "guardduty", region).enable_organization_admin_account(AdminAccountId=security)
        for member in [None, *(ids[a.name] for a in org_data.accounts)]:  # None: the management account
            _client(endpoint, "guardduty", region, member).create_detector(Enable=True)
            _client(endpoint, "securityhub", region, member).enable_security_hub(EnableDefaultStandards=False)
            config = _client(endpoint, "config", region, member)
            config.put_configuration_recorder(
                ConfigurationRecorder={
                    "name": "jamaa",
                    "roleARN": f"arn:aws:iam::{member or MANAGEMENT}:role/config",
                    "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": region == HOME},
                }
            )
            config.put_delivery_channel(
                DeliveryChannel={"name": "jamaa", "s3BucketName": "jamaa-org-logs-trail"}
            )
            config.start_configuration_recorder(ConfigurationRecorderName="jamaa")
    return ids


def _audit(endpoint: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--organization",
            "--region",
            HOME,
            "--endpoint-url",
            endpoint,
            "--environments",
            str(REPO / "environments"),
            "--format",
            "json",
        ],
        env={"AWS_ACCESS_KEY_ID": "seed", "AWS_SECRET_ACCESS_KEY": "seed", "AWS_SESSION_TOKEN": ""},
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"audit exited {result.exit_code}: {result.output}")


def _checks(document: Any) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for finding in document["findings"]:
        found.setdefault(finding["check"], []).append(finding)
    return found


def test_the_organization_as_deployed_passes(
    endpoint: str, organization: dict[str, str], envs: Environments
) -> None:
    code, document = _audit(endpoint)
    failed = [f for f in document["findings"] if f["status"] == Status.FAIL]
    assert failed == [] and code == 0, failed
    checks = _checks(document)
    org = envs.organization
    assert org is not None
    assert len(checks["org-account-placement"]) == len(org.accounts)
    assert all(f["status"] == Status.PASS for f in checks["org-account-placement"])
    for guardrail in guardrails(envs, org):
        (scp,) = checks[f"scp-{guardrail.key}"]
        assert scp["status"] == Status.PASS and scp["control"] == guardrail.control
    regions = envs.national.hosting.allowed_regions
    for check in ("guardduty-enabled", "config-recording"):
        assert len(checks[check]) == (len(org.accounts) + 1) * len(regions)  # + the management account
        assert all(f["status"] == Status.PASS for f in checks[check]), check
    # What moto cannot answer is said so, never passed.
    assert {f["status"] for f in checks["securityhub-cis"]} == {Status.CANNOT_EVALUATE}
    assert all("GetEnabledStandards" in f["detail"] for f in checks["securityhub-cis"])
    admins = {f["resource"]: f["status"] for f in checks["delegated-administrators"]}
    for region in regions:
        assert admins[f"guardduty administrator ({region})"] == Status.PASS
        assert admins[f"securityhub administrator ({region})"] == Status.CANNOT_EVALUATE
    assert admins["cloudtrail.amazonaws.com → jamaa-log-archive"] == Status.PASS


def test_every_control_is_in_the_catalogue() -> None:
    catalogue = load_catalogue(REPO / "policies" / "controls")
    assert catalogue.unknown_ids(CONTROLS.values()) == []


def test_breaking_the_organization_fails_named_checks(
    endpoint: str, organization: dict[str, str], envs: Environments
) -> None:
    org_data = envs.organization
    assert org_data is not None
    org = _client(endpoint, "organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    # an account moved to the sandbox OU, the region guard detached, a delegated admin deregistered,
    # GuardDuty off and Config stopped in one member account's DR region
    moved = org_data.account_for_stack("ma-07-prod")
    assert moved is not None
    sandbox = next(
        ou["Id"]
        for ou in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
        if ou["Name"] == "sandbox"
    )
    prod = org.list_parents(ChildId=organization[moved.name])["Parents"][0]["Id"]
    org.move_account(AccountId=organization[moved.name], SourceParentId=prod, DestinationParentId=sandbox)
    guard = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "jamaa-region-guard"
    )
    org.detach_policy(PolicyId=guard["Id"], TargetId=root)
    org.deregister_delegated_administrator(
        AccountId=organization[org_data.account_of_kind("security").name],
        ServicePrincipal="backup.amazonaws.com",
    )
    dr = envs.national.hosting.dr_region
    victim = org_data.account_for_stack("ma-03-staging")
    assert victim is not None
    guardduty = _client(endpoint, "guardduty", dr, organization[victim.name])
    for detector in guardduty.list_detectors()["DetectorIds"]:
        guardduty.delete_detector(DetectorId=detector)
    _client(endpoint, "config", dr, organization[victim.name]).stop_configuration_recorder(
        ConfigurationRecorderName="jamaa"
    )

    code, document = _audit(endpoint)
    assert code == 1
    failed = {(f["check"], f["resource"]): f for f in document["findings"] if f["status"] == Status.FAIL}
    assert failed[("org-account-placement", moved.name)]["detail"] == "in sandbox, expected OU regions/prod"
    assert failed[("scp-region-guard", "jamaa-region-guard")]["detail"] == "not attached to root"
    assert failed[("scp-region-guard", "jamaa-region-guard")]["control"] == "CLD-ORG-001"
    assert ("delegated-administrators", "backup.amazonaws.com → jamaa-security") in failed
    assert failed[("guardduty-enabled", f"{victim.name} ({dr})")]["detail"] == "no GuardDuty detector"
    assert failed[("config-recording", f"{victim.name} ({dr})")]["control"] == "CLD-DET-002"
    assert len(failed) == 5, sorted(failed)
