# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""IAM: no administrator grant in any form, no service wildcards or privilege escalation, trust and
resource policies closed to the outside, permission boundaries applied consistently.

Documents are read by meaning (`jamaa_policies.documents`): `NotAction`/`NotResource`, wildcards,
principals and the conditions that pin them. Every type that can grant rights is read (the
`iam-grants` family of `jamaa_policies.families`): managed and inline policies, roles' inline and
managed policies, attachments in every form (exclusive ones included).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.documents import (
    PRIVILEGE_ESCALATION_ACTIONS,
    Statement,
    admin_grants,
    exposure,
    parsed,
)
from jamaa_policies.families import (
    IAM_ATTACHMENTS,
    IAM_EXCLUSIVE_ATTACHMENTS,
    IAM_INLINE,
    IAM_POLICY,
    IAM_ROLE,
    LAMBDA_LAYER_PERMISSION,
    LAMBDA_PERMISSION,
    LAMBDA_RESOURCE_POLICY,
    LAMBDA_URL,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    get_path,
    label,
    resource_policy,
    stack_policy,
    string_list,
)
from jamaa_policies.settings import OFFLINE_ACCOUNT_ID, Settings

POLICY = IAM_POLICY
ROLE = IAM_ROLE
ROLE_POLICY, USER_POLICY, GROUP_POLICY = IAM_INLINE
DOCUMENT_HOLDERS = (POLICY, *IAM_INLINE, ROLE)


def documents(args: ResourceValidationArgs) -> Iterator[tuple[str, list[Statement] | None]]:
    """(what, statements) for every identity-policy document the resource carries."""
    if args.resource_type == ROLE:
        for position, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            name = get_path(inline, "name") or f"inlinePolicies[{position}]"
            yield f"Inline policy {name}", parsed(get_path(inline, "policy"))
        return
    what = (
        "Policy" if args.resource_type == POLICY else f"Inline policy {args.props.get('name') or args.name}"
    )
    yield what, parsed(args.props.get("policy"))


@resource_policy(
    name="iam-no-wildcard-admin-policy",
    family="iam",
    types=[POLICY],
    description='Managed IAM policies never allow every action on every resource ("*", NotAction, NotResource).',
    severity="critical",
    controls=["CLD-IAM-001"],
    remediation="Grant the actions and resources the role needs (e.g. s3:GetObject on its communes' prefixes).",
)
def no_wildcard_admin_policy(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    found = parsed(args.props.get("policy"))
    if found is None:
        report("Policy is not a readable JSON policy document.")
        return
    for sid in admin_grants(found):
        report(f"Statement {sid} allows every action on every resource (full administrator).")


@resource_policy(
    name="iam-no-inline-admin",
    family="iam",
    types=[*IAM_INLINE, ROLE],
    description="Inline policies (role, user, group) never grant every action on every resource.",
    severity="critical",
    controls=["CLD-IAM-001"],
    remediation="Replace the inline policy with a least-privilege managed policy.",
)
def no_inline_admin(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    for what, found in documents(args):
        if found is None:
            continue
        for sid in admin_grants(found):
            report(f"{what}: statement {sid} allows every action on every resource.")


def _forbidden(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "forbidden_policies": string_list(
            ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AWSOrganizationsFullAccess"],
            "AWS managed policies (by name, any partition or path) never attached by a tenancy.",
        ),
        "admin_roles": string_list(
            list(settings.admin_roles),
            "The organization's deployment, break-glass and pipeline roles (organization.yaml), which "
            "administer whole accounts and are guarded by the protect-roles SCP (CLD-ORG-005) instead.",
        ),
    }


def _attached_roles(args: ResourceValidationArgs) -> list[Any] | None:
    """The roles an attachment gives its policies to (None: it also gives them to users or groups)."""
    props = args.props
    if args.resource_type == ROLE:
        return [props.get("name")]
    if args.resource_type == IAM_ATTACHMENTS[3]:  # aws:iam/policyAttachment: users, groups and roles
        if as_list(props.get("users")) or as_list(props.get("groups")):
            return None
        return as_list(props.get("roles"))
    if "role" in props or "roleName" in props:
        return [props.get("role") if "role" in props else props.get("roleName")]
    return None


AWS_MANAGED = re.compile(r"^arn:aws[\w-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")


@resource_policy(
    name="iam-no-admin-managed-attachment",
    family="iam",
    types=[*IAM_ATTACHMENTS, *IAM_EXCLUSIVE_ATTACHMENTS, ROLE],
    description="No role, user or group gets an AWS managed administrator policy, through any kind of attachment.",
    severity="critical",
    controls=["CLD-IAM-001"],
    remediation="Attach a least-privilege policy instead of AdministratorAccess/PowerUserAccess/IAMFullAccess.",
    config=_forbidden,
)
def no_admin_managed_attachment(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    if args.resource_type == ROLE:
        arns = as_list(args.props.get("managedPolicyArns"))
    elif args.resource_type in IAM_EXCLUSIVE_ATTACHMENTS:
        arns = as_list(args.props.get("policyArns"))
    else:
        arns = [args.props.get("policyArn")]
    forbidden = {str(n) for n in config["forbidden_policies"]}
    found = [
        (arn, m.group(1)) for arn in arns if (m := AWS_MANAGED.match(str(arn))) and m.group(1) in forbidden
    ]
    if not found:
        return
    roles = _attached_roles(args)  # read only now: a role known only after deployment is no excuse
    if roles and all(isinstance(r, str) and r in config.get("admin_roles", []) for r in roles):
        return
    for arn, name in found:
        report(f"Attaches {arn} ({name}).")


@resource_policy(
    name="iam-no-service-wildcard",
    family="iam",
    types=DOCUMENT_HOLDERS,
    description='Identity policies never allow every action of a service ("iam:*", "s3:*", NotAction) on every resource.',
    severity="high",
    controls=["CLD-IAM-004"],
    remediation="List the actions the role needs, and scope them to its resources.",
)
def no_service_wildcard(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    for what, found in documents(args):
        for statement in found or []:
            if not statement.allows or not statement.every_resource() or statement.every_action():
                continue  # every action on every resource: the administrator rules report it
            wildcards = statement.service_wildcards()
            if wildcards:
                report(f"{what}: statement {statement.sid} allows {', '.join(wildcards)} on every resource.")


def _escalation(_settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "escalation_actions": string_list(
            list(PRIVILEGE_ESCALATION_ACTIONS),
            "Actions that let a principal raise its own rights; never granted on a wildcard resource.",
        )
    }


@resource_policy(
    name="iam-no-privilege-escalation",
    family="iam",
    types=DOCUMENT_HOLDERS,
    description="Identity policies never grant a privilege-escalation action (iam:PassRole, iam:Put*Policy, iam:CreatePolicyVersion, sts:AssumeRole, …) on a wildcard resource.",
    severity="high",
    controls=["CLD-IAM-004"],
    remediation="Name the exact roles a principal may pass or assume; leave IAM changes to the deployment role.",
    config=_escalation,
)
def no_privilege_escalation(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    for what, found in documents(args):
        for statement in found or []:
            if not statement.allows or not statement.wildcard_resource():
                continue
            actions = [a for a in config["escalation_actions"] if statement.grants_action(str(a))]
            if actions and not (statement.every_action() and statement.every_resource()):
                shown = ", ".join(actions[:5]) + (" …" if len(actions) > 5 else "")
                report(f"{what}: statement {statement.sid} grants {shown} on a wildcard resource.")


def trusted(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "trusted_accounts": string_list(
            [OFFLINE_ACCOUNT_ID, *settings.organization_accounts],
            "Account ids inside the organization (the offline plan's own account is 000000000000; "
            "a pipeline with credentials lists the organization's accounts here).",
        )
    }


@resource_policy(
    name="iam-trust-policy-no-outside-principal",
    family="iam",
    types=[ROLE],
    description="Role trust policies never let anyone, an account outside the organization, or any federated identity assume the role.",
    severity="critical",
    controls=["CLD-IAM-003"],
    remediation="Trust named services or accounts of the organization; pin wildcard principals with aws:PrincipalOrgID; give federated trust a condition on the token's subject.",
    config=trusted,
)
def trust_policy_no_outside_principal(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    found = parsed(args.props.get("assumeRolePolicy"))
    if found is None:
        return
    for problem in exposure(found, config["trusted_accounts"]):
        report(f"Trust policy: {problem}.")
    for statement in found:
        if not statement.allows or statement.raw.get("Condition"):
            continue
        for kind, value in statement.principals():
            if kind == "Federated":
                report(
                    f"Trust policy: statement {statement.sid} trusts {value} without any condition on the identity."
                )


RESOURCE_POLICY_HOLDERS = (
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    LAMBDA_RESOURCE_POLICY,
    LAMBDA_PERMISSION,
    LAMBDA_LAYER_PERMISSION,
    LAMBDA_URL,
)


@resource_policy(
    name="resource-policy-no-outside-principal",
    family="iam",
    types=RESOURCE_POLICY_HOLDERS,
    description="SNS, SQS and Lambda resource policies and permissions never admit anyone, or an account outside the organization, without a condition pinning the organization; Lambda function URLs require IAM auth.",
    severity="critical",
    controls=["CLD-IAM-003"],
    remediation="Name principals of the organization (or AWS services with aws:SourceAccount/aws:SourceArn); add aws:PrincipalOrgID to a wildcard principal; set the function URL's authorizationType to AWS_IAM.",
    config=trusted,
)
def resource_policy_no_outside_principal(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    props = args.props
    accounts = [str(a) for a in config["trusted_accounts"]]
    if args.resource_type == LAMBDA_URL:
        if str(props.get("authorizationType")).upper() == "NONE":
            report("Function URL has authorizationType NONE: anyone on the internet can invoke the function.")
        return
    if args.resource_type == LAMBDA_PERMISSION:
        statement = {
            "Sid": props.get("statementId") or args.name,
            "Effect": "Allow",
            "Principal": _principal(props.get("principal")),
        }
        condition = {}
        if props.get("sourceAccount"):
            condition["aws:SourceAccount"] = props.get("sourceAccount")
        if props.get("sourceArn"):
            condition["aws:SourceArn"] = props.get("sourceArn")
        if props.get("principalOrgId"):
            condition["aws:PrincipalOrgID"] = props.get("principalOrgId")
        if condition:
            statement["Condition"] = {"StringEquals": condition}
        found = [Statement(statement)]
    elif args.resource_type == LAMBDA_LAYER_PERMISSION:
        statement = {
            "Sid": props.get("statementId") or args.name,
            "Effect": "Allow",
            "Principal": _principal(props.get("principal")),
        }
        if props.get("organizationId"):
            statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": props.get("organizationId")}}
        found = [Statement(statement)]
    else:
        parsed_found = parsed(props.get("policy"))
        if parsed_found is None:
            if props.get("policy") is not None:
                report("Resource policy is not a readable JSON policy document.")
            return
        found = parsed_found
    for problem in exposure(found, accounts):
        report(f"{label_of(args)}: {problem}.")


def _principal(value: Any) -> Any:
    text = str(value or "")
    if text == "*":
        return "*"
    if text.endswith(".amazonaws.com") or text.endswith(".amazonaws.com.cn"):
        return {"Service": text}
    return {"AWS": text}


def label_of(args: ResourceValidationArgs) -> str:
    return f"{args.resource_type.split(':')[-1]} '{args.name}'"


@stack_policy(
    name="iam-role-permissions-boundary",
    family="iam",
    types=[ROLE],
    description="Where the stack uses permission boundaries, every role it creates has one.",
    severity="medium",
    controls=["CLD-IAM-002"],
    remediation="Set permissionsBoundary on every role (the tenancy's boundary policy ARN).",
    config=lambda _s: {
        "required": {
            "type": "boolean",
            "default": False,
            "description": "Require a boundary on every role even if no role of the stack uses one.",
        }
    },
)
def role_permissions_boundary(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    roles = StackIndex(args.resources).of_type(ROLE)
    bounded = [role for role in roles if role.props.get("permissionsBoundary")]
    if not bounded and not config["required"]:
        args.not_applicable("no role of the stack uses a permissions boundary")
    for role in roles:
        if role not in bounded:
            report(f"{label(role)} has no permissions boundary while others do.", role.urn)
