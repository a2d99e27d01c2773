# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""The organization's guardrails: the `org` stack declares each service control policy, with the
statement that makes it a guardrail, attached to a target (stack-level; not applicable to a stack
that declares no AWS Organization)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from jamaa_policies.families import DELEGATED_ADMIN, GUARDDUTY_ADMIN, ORGANIZATION, SECURITYHUB_ADMIN
from jamaa_policies.families import ORGANIZATION_POLICY as SCP
from jamaa_policies.families import ORGANIZATION_POLICY_ATTACHMENT as ATTACHMENT
from jamaa_policies.framework import StackIndex, as_list, policy_document, stack_policy, string_list

Statement = Mapping[str, Any]


def _denies(scp: PolicyResource) -> list[Statement]:
    document = policy_document(scp.props.get("content"))
    if document is None:
        return []
    return [
        s for s in as_list(document.get("Statement")) if isinstance(s, Mapping) and s.get("Effect") == "Deny"
    ]


def _guardrail(
    args: StackValidationArgs,
    report: ReportViolation,
    what: str,
    matches: Callable[[Statement], bool],
) -> list[Statement]:
    """The statements of the stack's attached SCPs that `matches`; reports when there is none."""
    index = StackIndex(args.resources)
    if not index.of_type(ORGANIZATION):
        args.not_applicable("the stack declares no AWS Organization")
    found: list[Statement] = []
    for scp in index.of_type(SCP):
        if scp.props.get("type") not in (None, "SERVICE_CONTROL_POLICY"):
            continue
        statements = [s for s in _denies(scp) if matches(s)]
        if not statements:
            continue
        if not any(_attaches(index, attachment, scp) for attachment in index.of_type(ATTACHMENT)):
            report(f"The SCP '{scp.name}' ({what}) is attached to no root, OU or account.", scp.urn)
        found.extend(statements)
    if not found:
        report(f"No service control policy {what}.")
    return found


def _attaches(index: StackIndex, attachment: PolicyResource, scp: PolicyResource) -> bool:
    scps = index.of_type(SCP)
    return scp in index.targets(attachment, "policyId", scps, lambda p: [p.props.get("id")])


def _actions(statement: Statement) -> set[str]:
    return {str(a) for a in as_list(statement.get("Action"))}


@stack_policy(
    name="scp-region-guard",
    family="organization",
    description="An SCP denies every AWS region outside the allowed ones, and never denies an allowed region.",
    severity="critical",
    controls=["CLD-ORG-001"],
    remediation="Attach the region-guard SCP (Deny NotAction <global services> when aws:RequestedRegion is not one of allowed_regions) to the root.",
    config=lambda s: {
        "allowed_regions": string_list(
            list(s.allowed_regions), "Regions the organization may use (national.yaml)."
        ),
    },
)
def scp_region_guard(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    def matches(statement: Statement) -> bool:
        condition = statement.get("Condition") or {}
        return isinstance(condition, Mapping) and "aws:RequestedRegion" in (
            condition.get("StringNotEquals") or {}
        )

    allowed = set(config["allowed_regions"])
    for statement in _guardrail(args, report, "denying the regions outside the allowed ones", matches):
        regions = {str(r) for r in as_list(statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"])}
        if allowed - regions:
            report(f"The region guard would deny allowed region(s) {', '.join(sorted(allowed - regions))}.")
        if regions - allowed:
            report(
                f"The region guard leaves open region(s) outside the allowed ones: {', '.join(sorted(regions - allowed))}."
            )
        if statement.get("Resource") != "*" or "NotAction" not in statement:
            report(
                "The region guard must deny every action (NotAction: global services only) on every resource."
            )


@stack_policy(
    name="scp-stay-in-organization",
    family="organization",
    description="An SCP denies member accounts leaving the organization.",
    severity="high",
    controls=["CLD-ORG-002"],
    remediation="Attach an SCP denying organizations:LeaveOrganization to the root.",
)
def scp_stay(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    _guardrail(
        args,
        report,
        "denying organizations:LeaveOrganization",
        lambda s: "organizations:LeaveOrganization" in _actions(s),
    )


DETECTION_ACTIONS = (
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "guardduty:DeleteDetector",
    "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder",
    "securityhub:DisableSecurityHub",
    "backup:DeleteBackupVaultLockConfiguration",
)


@stack_policy(
    name="scp-protect-detection",
    family="organization",
    description="An SCP denies stopping or deleting CloudTrail, GuardDuty, AWS Config, Security Hub and Backup vault locks.",
    severity="high",
    controls=["CLD-ORG-003"],
    remediation="Attach the protect-detection SCP (denying the stop/delete actions of those services) to the root.",
)
def scp_protect_detection(
    args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    statements = _guardrail(
        args,
        report,
        "protecting the detective services",
        lambda s: bool(_actions(s) & set(DETECTION_ACTIONS)),
    )
    if statements:
        covered = set().union(*(_actions(s) for s in statements))
        missing = [a for a in DETECTION_ACTIONS if a not in covered]
        if missing:
            report(f"The detective services' SCP does not deny {', '.join(missing)}.")


@stack_policy(
    name="scp-deny-root-user",
    family="organization",
    description="An SCP denies every action taken as a member account's root user.",
    severity="high",
    controls=["CLD-ORG-004"],
    remediation="Attach an SCP denying * when aws:PrincipalArn is arn:aws:iam::*:root.",
)
def scp_deny_root(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    def matches(statement: Statement) -> bool:
        condition = statement.get("Condition") or {}
        like = condition.get("StringLike") or {} if isinstance(condition, Mapping) else {}
        return "*" in _actions(statement) and "arn:aws:iam::*:root" in as_list(like.get("aws:PrincipalArn"))

    _guardrail(args, report, "denying the root user", matches)


@stack_policy(
    name="scp-protect-roles",
    family="organization",
    description="An SCP denies changing the deployment and break-glass roles except through the account-access role.",
    severity="high",
    controls=["CLD-ORG-005"],
    remediation="Attach the protect-roles SCP (iam:Delete*/Update*/Put*/Attach*/Detach* on the protected roles) to every top-level OU.",
    config=lambda s: {
        "protected_roles": string_list(list(s.protected_roles), "Roles the SCP protects (organization.yaml).")
    },
)
def scp_protect_roles(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    def matches(statement: Statement) -> bool:
        return "iam:DeleteRole" in _actions(statement)

    statements = _guardrail(args, report, "protecting the deployment and break-glass roles", matches)
    resources = {str(r) for s in statements for r in as_list(s.get("Resource"))}
    for role in config["protected_roles"]:
        if statements and f"arn:aws:iam::*:role/{role}" not in resources:
            report(f"The protect-roles SCP does not cover role {role}.")


@stack_policy(
    name="delegated-administrators",
    family="organization",
    description="The organization registers its delegated administrators: Config, Access Analyzer, Backup and CloudTrail through Organizations, GuardDuty in every allowed region, Security Hub.",
    severity="high",
    controls=["CLD-ORG-006"],
    remediation="Add an aws.organizations.DelegatedAdministrator per service principal, an aws.guardduty.OrganizationAdminAccount per allowed region and an aws.securityhub.OrganizationAdminAccount.",
    config=lambda s: {
        "service_principals": string_list(
            [
                "access-analyzer.amazonaws.com",
                "backup.amazonaws.com",
                "cloudtrail.amazonaws.com",
                "config-multiaccountsetup.amazonaws.com",
                "config.amazonaws.com",
            ],
            "Services whose delegated administrator is registered through Organizations.",
        ),
        "allowed_regions": string_list(
            list(s.allowed_regions), "Regions where GuardDuty needs its administrator."
        ),
    },
)
def delegated_administrators(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    if not index.of_type(ORGANIZATION):
        args.not_applicable("the stack declares no AWS Organization")
    registered = {str(r.props.get("servicePrincipal")) for r in index.of_type(DELEGATED_ADMIN)}
    missing = [p for p in config["service_principals"] if p not in registered]
    if missing:
        report(f"No delegated administrator for {', '.join(missing)}.")
    guardduty = index.of_type(GUARDDUTY_ADMIN)
    regions = {str(r.props.get("region")) for r in guardduty if r.props.get("region")}
    if not guardduty:
        report("No GuardDuty delegated administrator.")
    elif regions and set(config["allowed_regions"]) - regions:
        report(
            f"No GuardDuty delegated administrator in {', '.join(sorted(set(config['allowed_regions']) - regions))}."
        )
    if not index.of_type(SECURITYHUB_ADMIN):
        report("No Security Hub delegated administrator.")
