"""The organization stacks (org, log-archive, security), planned offline: what they vend from
environments/organization.yaml, the guardrails within AWS's limits, and the StackReferences."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pulumi_aws as aws
import pytest
import yaml
from tenancy_plans import ROOT, token

from jamaa.config import Environments
from jamaa.plan import Plan, PlanError, run_program

PlanOf = Callable[[str], Plan]
SCP = token(aws.organizations.Policy)
ATTACHMENT = token(aws.organizations.PolicyAttachment)


def test_org_vends_every_account_in_its_ou(plan_of: PlanOf, envs: Environments) -> None:
    plan = plan_of("org")
    org = envs.organization
    assert org is not None
    assert plan.warnings == []
    assert len(plan.resources) < 500
    organization = plan.of_type(token(aws.organizations.Organization))
    assert len(organization) == 1 and organization[0].inputs["featureSet"] == "ALL"
    assert organization[0].protect
    ous = {r.name: r for r in plan.of_type(token(aws.organizations.OrganizationalUnit))}
    assert sorted(ous) == sorted(f"org-ou-{ou.path.replace('/', '-')}" for ou in org.organizational_units)
    accounts = {r.inputs["name"]: r for r in plan.of_type(token(aws.organizations.Account))}
    assert sorted(accounts) == sorted(a.name for a in org.accounts)
    for account in org.accounts:
        vended = accounts[account.name]
        assert vended.inputs["email"] == account.email
        assert vended.protect and vended.inputs["closeOnDeletion"] is False
        ou = ous[f"org-ou-{account.ou.replace('/', '-')}"]
        assert ou.urn in vended.property_dependencies["parentId"]


def test_guardrails_are_attached_within_aws_limits(plan_of: PlanOf, envs: Environments) -> None:
    plan = plan_of("org")
    scps = {r.urn: r for r in plan.of_type(SCP)}
    assert sorted(r.inputs["name"] for r in scps.values()) == [
        "jamaa-deny-root-user",
        "jamaa-protect-detection",
        "jamaa-protect-roles",
        "jamaa-region-guard",
        "jamaa-stay-in-organization",
    ]
    per_target: Counter[str] = Counter()
    for attachment in plan.of_type(ATTACHMENT):
        (scp,) = attachment.property_dependencies["policyId"]
        assert scp in scps
        target = attachment.inputs["targetId"]
        per_target[target if target != "04da6b54-80e4-46f7-96ec-b56ff0331ba9" else attachment.name] += 1
    for scp in scps.values():
        assert len(scp.inputs["content"]) <= 5120, scp.name
        assert any(a.property_dependencies["policyId"] == [scp.urn] for a in plan.of_type(ATTACHMENT))
    # AWS's FullAWSAccess stays attached to the root: 4 more at most there (5 per target).
    assert per_target["r-off0"] + 1 <= 5
    guard = next(s for s in scps.values() if s.inputs["name"] == "jamaa-region-guard")
    statement = json.loads(guard.inputs["content"])["Statement"][0]
    assert statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == list(
        envs.national.hosting.allowed_regions
    )


def test_delegated_administrators_and_member_roles(plan_of: PlanOf, envs: Environments) -> None:
    plan = plan_of("org")
    org = envs.organization
    assert org is not None
    delegated = sorted(
        r.inputs["servicePrincipal"] for r in plan.of_type(token(aws.organizations.DelegatedAdministrator))
    )
    assert delegated == [
        "access-analyzer.amazonaws.com",
        "backup.amazonaws.com",
        "cloudtrail.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
        "config.amazonaws.com",
    ]
    regions = sorted(plan.region_of(r) for r in plan.of_type(token(aws.guardduty.OrganizationAdminAccount)))
    assert regions == sorted(envs.national.hosting.allowed_regions)
    assert len(plan.of_type(token(aws.securityhub.OrganizationAdminAccount))) == 1
    roles = [r for r in plan.of_type(token(aws.iam.Role)) if r.inputs["name"] == org.roles.deployment]
    assert len(roles) == len(org.accounts) and all(r.protect for r in roles)
    breakglass = [r for r in plan.of_type(token(aws.iam.Role)) if r.inputs["name"] == org.roles.break_glass]
    assert len(breakglass) == len(org.accounts) and all(r.protect for r in breakglass)
    # Each member's roles are created through its own provider, into that account.
    member_providers = {r.provider_urn for r in roles}
    assert len(member_providers) == len(org.accounts)
    tags = sorted(r.inputs["tagKey"] for r in plan.of_type(token(aws.costexplorer.CostAllocationTag)))
    assert tags == sorted({*envs.national.mandatory_tags, "jamaa:commune"})


def test_org_outputs_feed_the_other_stacks(plan_of: PlanOf, envs: Environments) -> None:
    outputs = plan_of("org").outputs
    org = envs.organization
    assert org is not None
    assert set(outputs["accounts"]) == {a.stack or a.kind for a in org.accounts}
    assert len(set(outputs["accounts"].values())) == len(org.accounts)
    assert outputs["deployment_role"] == org.roles.deployment


def test_log_archive_holds_the_organization_trail(plan_of: PlanOf) -> None:
    plan = plan_of("log-archive")
    assert plan.warnings == []
    (trail,) = plan.of_type(token(aws.cloudtrail.Trail))
    assert trail.inputs["isOrganizationTrail"] is True and trail.inputs["isMultiRegionTrail"] is True
    assert trail.inputs["enableLogFileValidation"] is True
    bucket = next(
        b for b in plan.of_type(token(aws.s3.Bucket)) if b.inputs["bucket"] == trail.inputs["s3BucketName"]
    )
    assert bucket.inputs["objectLockEnabled"] is True and bucket.protect
    (key,) = plan.of_type(token(aws.kms.Key))
    assert key.protect and key.inputs["enableKeyRotation"] is True
    (provider,) = plan.of_type("pulumi:providers:aws")
    role_arn = json.loads(provider.inputs["assumeRoles"])[0]["roleArn"]
    assert (
        role_arn == f"arn:aws:iam::{plan_of('org').outputs['accounts']['log-archive']}:role/jamaa-deployment"
    )


def test_security_is_the_organizations_detective_administrator(plan_of: PlanOf, envs: Environments) -> None:
    plan = plan_of("security")
    allowed = sorted(envs.national.hosting.allowed_regions)
    gd = plan.of_type(token(aws.guardduty.OrganizationConfiguration))
    assert sorted(plan.region_of(r) for r in gd) == allowed
    assert all(r.inputs["autoEnableOrganizationMembers"] == "ALL" for r in gd)
    (central,) = plan.of_type(token(aws.securityhub.OrganizationConfiguration))
    assert central.inputs["organizationConfiguration"]["configurationType"] == "CENTRAL"
    (policy,) = plan.of_type(token(aws.securityhub.ConfigurationPolicy))
    standards = policy.inputs["configurationPolicy"]["enabledStandardArns"]
    assert any("cis-aws-foundations-benchmark" in s for s in standards)
    (association,) = plan.of_type(token(aws.securityhub.ConfigurationPolicyAssociation))
    assert association.inputs["targetId"] == "r-off0"  # the org stack's root, read through its outputs
    (aggregator,) = plan.of_type(token(aws.cfg.ConfigurationAggregator))
    assert sorted(aggregator.inputs["organizationAggregationSource"]["regions"]) == allowed
    analyzers = plan.of_type(token(aws.accessanalyzer.Analyzer))
    assert sorted(plan.region_of(a) for a in analyzers) == allowed
    assert all(a.inputs["type"] == "ORGANIZATION" for a in analyzers)


def test_a_missing_output_is_named() -> None:
    with pytest.raises(PlanError) as caught:
        run_program(ROOT, "log-archive", references={"organization/jamaa/org": {"accounts": {}}})
    assert "stack reference organization/jamaa/org: output 'organization_id' is missing" in str(caught.value)
    with pytest.raises(PlanError) as caught:
        run_program(
            ROOT,
            "log-archive",
            references={
                "organization/jamaa/org": {
                    "accounts": {},
                    "organization_id": "o-x",
                    "root_id": "r-x",
                    "deployment_role": "d",
                    "management_account_id": "000000000000",
                }
            },
        )
    assert "output 'accounts' has no account 'log-archive'" in str(caught.value)


def test_pipeline_role_trusts_ci_oidc_when_named(tmp_path: Path, plan_of: PlanOf) -> None:
    """Without `roles.pipeline_oidc` only the management account's principals may assume the
    pipeline role; with it, CI's OIDC identity too, for the listed subjects only."""
    (default,) = [
        r for r in plan_of("org").of_type(token(aws.iam.Role)) if r.inputs["name"] == "jamaa-pipeline"
    ]
    assert [s["Principal"] for s in json.loads(default.inputs["assumeRolePolicy"])["Statement"]] == [
        {"AWS": "arn:aws:iam::000000000000:root"}
    ]
    envdir = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", envdir, ignore=shutil.ignore_patterns("generated", "secrets"))
    path = envdir / "organization.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["roles"]["pipeline_oidc"] = {
        "provider": "token.actions.githubusercontent.com",
        "subjects": ["repo:dgct/jamaa:ref:refs/heads/main"],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    plan = run_program(ROOT, "org", {"jamaa:environments": str(envdir)})
    (role,) = [r for r in plan.of_type(token(aws.iam.Role)) if r.inputs["name"] == "jamaa-pipeline"]
    oidc = json.loads(role.inputs["assumeRolePolicy"])["Statement"][1]
    assert oidc["Principal"] == {
        "Federated": "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"
    }
    assert oidc["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert oidc["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": ["repo:dgct/jamaa:ref:refs/heads/main"]
    }
