"""The estate invariant, offline: every stack planned (the organization's and the 24 regional ones)
and read together, as AWS would see them in their accounts and regions.

- no account-and-region pair gets two of any per-account singleton (GuardDuty detector, Config
  recorder and delivery channel, Security Hub account, organization-level configurations), and no
  stack declares one where the organization already creates it (GuardDuty auto-enable, Security
  Hub central configuration);
- each account stays within AWS's 5 trails per region, the organization trail counted everywhere;
- every regional stack deploys into its own account, none shared with another stack;
- every account of organization.yaml, and the management account, has GuardDuty, Security Hub (CIS)
  and AWS Config in every allowed region, from the organization or from its own stack.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable

import pulumi_aws as aws
import pytest
from tenancy_plans import STACKS, token

from jamaa.config import Environments
from jamaa.plan import Plan, PlannedResource
from jamaa.plan.runner import OFFLINE_ACCOUNT_ID

PlanOf = Callable[[str], Plan]
ORG_STACKS = ["org", "log-archive", "security"]
REGION_STACKS = [s for s in STACKS if s != "lab"]

SINGLETONS = {
    token(aws.guardduty.Detector),
    token(aws.cfg.Recorder),
    token(aws.cfg.DeliveryChannel),
    token(aws.securityhub.Account),
    token(aws.guardduty.OrganizationConfiguration),
    token(aws.securityhub.OrganizationConfiguration),
    token(aws.securityhub.FindingAggregator),
}
PER_ACCOUNT = {token(aws.organizations.Organization)}
TRAILS_PER_REGION = 5


def account_of(plan: Plan, resource: PlannedResource) -> str:
    """The account a resource lands in: its provider's assumed role's, else the pipeline's own
    (the management account, offline the placeholder)."""
    provider = plan.provider_of(resource)
    roles = provider.inputs.get("assumeRoles") if provider else None
    if isinstance(roles, str):
        arn = json.loads(roles)[-1]["roleArn"]
        return str(arn.split(":")[4])
    return OFFLINE_ACCOUNT_ID


@pytest.fixture(scope="module")
def estate(plan_of: PlanOf) -> dict[str, Plan]:
    return {stack: plan_of(stack) for stack in [*ORG_STACKS, *REGION_STACKS]}


@pytest.fixture(scope="module")
def accounts(estate: dict[str, Plan]) -> dict[str, str]:
    """stack or kind → account id, as the org stack exports them."""
    exported: dict[str, str] = estate["org"].outputs["accounts"]
    return exported


def placed(estate: dict[str, Plan]) -> list[tuple[str, str, str | None, PlannedResource]]:
    return [
        (stack, account_of(plan, r), plan.region_of(r), r)
        for stack, plan in estate.items()
        for r in plan.resources
        if r.type.startswith("aws:")
    ]


def test_every_regional_stack_has_its_own_account(estate: dict[str, Plan], accounts: dict[str, str]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for stack, account, _region, _resource in placed(estate):
        if stack != "org":  # the org stack creates the deployment and break-glass roles everywhere
            owners[account].add(stack)
    for stack in REGION_STACKS:
        expected = accounts[stack]
        used = {a for s, a, _r, _x in placed({stack: estate[stack]})}
        assert used == {expected}, f"{stack} deploys into {used}, not its account {expected}"
        assert owners[expected] == {stack}, f"account {expected} shared by {owners[expected]}"
    assert len({accounts[s] for s in REGION_STACKS}) == len(REGION_STACKS)


def test_no_account_and_region_gets_two_singletons(estate: dict[str, Plan]) -> None:
    counts: Counter[tuple[str, str, str | None]] = Counter()
    where: dict[tuple[str, str, str | None], list[str]] = defaultdict(list)
    for stack, account, region, resource in placed(estate):
        if resource.type in SINGLETONS:
            key = (resource.type, account, region)
        elif resource.type in PER_ACCOUNT:
            key = (resource.type, account, None)
        else:
            continue
        counts[key] += 1
        where[key].append(f"{stack}:{resource.name}")
    doubled = {key: where[key] for key, n in counts.items() if n > 1}
    assert not doubled


def test_organization_services_are_not_declared_again_in_members(
    estate: dict[str, Plan], accounts: dict[str, str]
) -> None:
    """GuardDuty auto-enable (ALL) and Security Hub central configuration already switch the
    service on in every member account: a stack creating its own detector or hub there would fail."""
    security = accounts["security"]
    for stack, account, _region, resource in placed(estate):
        if account == security:
            continue
        assert resource.type not in (
            token(aws.guardduty.Detector),
            token(aws.securityhub.Account),
            token(aws.securityhub.StandardsSubscription),
        ), f"{stack}: {resource.name}"


def test_trails_within_the_per_region_limit(
    estate: dict[str, Plan], accounts: dict[str, str], envs: Environments
) -> None:
    allowed = envs.national.hosting.allowed_regions
    org_trails = 0
    trails: Counter[tuple[str, str]] = Counter()
    for _stack, account, region, resource in placed(estate):
        if resource.type != token(aws.cloudtrail.Trail):
            continue
        assert region is not None
        org_trails += bool(resource.inputs.get("isOrganizationTrail"))
        for r in allowed if resource.inputs.get("isMultiRegionTrail") else [region]:
            trails[(account, r)] += 1
    assert org_trails == 1
    for account in {account for _s, account, _r, _x in placed(estate)}:
        # the organization trail shows in every member account (declared in log-archive's)
        inherited = 0 if account == accounts["log-archive"] else org_trails
        for region in allowed:
            assert trails[(account, region)] + inherited <= TRAILS_PER_REGION, (account, region)
    for stack in REGION_STACKS:
        assert trails[(accounts[stack], allowed[0])] == 0, f"{stack} declares its own trail"


def test_every_account_has_detection_in_every_allowed_region(
    estate: dict[str, Plan], accounts: dict[str, str], envs: Environments
) -> None:
    allowed = envs.national.hosting.allowed_regions
    security = estate["security"]
    auto_enabled = {
        security.region_of(r)
        for r in security.of_type(token(aws.guardduty.OrganizationConfiguration))
        if r.inputs["autoEnableOrganizationMembers"] == "ALL"
    }
    (aggregator,) = security.of_type(token(aws.securityhub.FindingAggregator))
    hub_regions = {security.region_of(aggregator), *aggregator.inputs["specifiedRegions"]}
    (policy,) = security.of_type(token(aws.securityhub.ConfigurationPolicy))
    assert any(
        "cis-aws-foundations-benchmark" in arn
        for arn in policy.inputs["configurationPolicy"]["enabledStandardArns"]
    )
    (association,) = security.of_type(token(aws.securityhub.ConfigurationPolicyAssociation))
    assert association.inputs["targetId"] == estate["org"].outputs["root_id"]  # the whole organization
    recorders = {
        (account, region)
        for _stack, account, region, resource in placed(estate)
        if resource.type == token(aws.cfg.RecorderStatus) and resource.inputs["isEnabled"] is True
    }
    detectors = {
        (account, region)
        for _stack, account, region, resource in placed(estate)
        if resource.type == token(aws.guardduty.Detector)
    }
    members = {
        (str(r.inputs["accountId"]), security.region_of(r))
        for r in security.of_type(token(aws.guardduty.Member))
    }
    org = envs.organization
    assert org is not None
    everyone = [(a.name, accounts[a.stack or a.kind], True) for a in org.accounts]
    # the management account is no member: GuardDuty adds it explicitly, it records its own Config
    everyone.append((org.management.name, estate["org"].outputs["management_account_id"], False))
    for name, account_id, member in everyone:
        for region in allowed:
            guardduty = (member and region in auto_enabled) or (account_id, region) in members
            assert guardduty or (account_id, region) in detectors, ("GuardDuty", name, region)
            assert region in hub_regions, ("Security Hub", name, region)
            assert (account_id, region) in recorders, ("AWS Config", name, region)


@pytest.mark.parametrize("stack", STACKS)
def test_what_cannot_be_recreated_is_protected(plan_of: PlanOf, stack: str) -> None:
    """KMS keys, locked buckets, backup vaults (and their locks) and the database: `pulumi up`
    refuses to delete them (protect=True); removing one is a deliberate, two-step human act."""
    plan = plan_of(stack)
    kinds = {
        token(aws.kms.Key),
        token(aws.backup.Vault),
        token(aws.backup.VaultLockConfiguration),
        token(aws.rds.Instance),
    }
    for resource in plan.resources:
        locked_bucket = resource.type == token(aws.s3.Bucket) and resource.inputs.get("objectLockEnabled")
        if resource.type in kinds or locked_bucket:
            assert resource.protect, resource.name


def test_every_account_delivers_config_to_the_log_archive(estate: dict[str, Plan]) -> None:
    """One archive for the organization: AWS Config of every account (regional, security,
    log-archive, management) delivers to the log-archive's locked bucket, which lets it in."""
    bucket = estate["log-archive"].outputs["logs_bucket"]
    for stack, plan in estate.items():
        for channel in plan.of_type(token(aws.cfg.DeliveryChannel)):
            assert channel.inputs["s3BucketName"] == bucket, (stack, channel.name)
    policy = next(
        r for r in estate["log-archive"].of_type(token(aws.s3.BucketPolicy)) if r.inputs["bucket"] == bucket
    )
    statements = {s.get("Sid"): s for s in json.loads(policy.inputs["policy"])["Statement"]}
    write = statements["ConfigWrite"]
    assert write["Principal"] == {"Service": "config.amazonaws.com"}
    assert write["Condition"] == {
        "StringEquals": {"aws:SourceOrgID": estate["org"].outputs["organization_id"]}
    }
