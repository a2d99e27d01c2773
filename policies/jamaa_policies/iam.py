# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""IAM: no administrator wildcards, no inline admin, permission boundaries applied consistently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.framework import (
    StackIndex,
    as_list,
    get_path,
    label,
    policy_document,
    resource_policy,
    stack_policy,
    statements,
    string_list,
)

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)


def admin_statements(document: Mapping[str, Any]) -> list[str]:
    """Sids of statements allowing every action on every resource ("*:*")."""
    found = []
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(statement.get("Action"))]
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        if any(a in ("*", "*:*") for a in actions) and "*" in resources:
            found.append(str(statement.get("Sid", "(no Sid)")))
    return found


@resource_policy(
    name="iam-no-wildcard-admin-policy",
    family="iam",
    types=[POLICY],
    description='Managed IAM policies never allow "*" actions on "*" resources.',
    severity="critical",
    controls=["CLD-IAM-001"],
    remediation="Grant the actions and resources the role needs (e.g. s3:GetObject on its communes' prefixes).",
)
def no_wildcard_admin_policy(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    document = policy_document(args.props.get("policy"))
    if document is None:
        report("Policy is not a readable JSON policy document.")
        return
    for sid in admin_statements(document):
        report(f'Statement {sid} allows "*" on "*" (full administrator).')


@resource_policy(
    name="iam-no-inline-admin",
    family="iam",
    types=[ROLE_POLICY, USER_POLICY, GROUP_POLICY, ROLE],
    description="Inline policies (role, user, group) never grant administrator rights.",
    severity="critical",
    controls=["CLD-IAM-001"],
    remediation="Replace the inline policy with a least-privilege managed policy.",
)
def no_inline_admin(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.resource_type == ROLE:
        documents = [
            (get_path(p, "name"), get_path(p, "policy")) for p in as_list(args.props.get("inlinePolicies"))
        ]
    else:
        documents = [(args.props.get("name") or args.name, args.props.get("policy"))]
    for name, text in documents:
        document = policy_document(text)
        if document is None:
            continue
        for sid in admin_statements(document):
            report(f'Inline policy {name}: statement {sid} allows "*" on "*".')


@resource_policy(
    name="iam-no-admin-managed-attachment",
    family="iam",
    types=[*ATTACHMENTS, ROLE],
    description="No role, user or group gets an AWS managed administrator policy.",
    severity="critical",
    controls=["CLD-IAM-001"],
    remediation="Attach a least-privilege policy instead of AdministratorAccess/PowerUserAccess/IAMFullAccess.",
    config=lambda _s: {
        "forbidden_policy_arns": string_list(
            [
                "arn:aws:iam::aws:policy/AdministratorAccess",
                "arn:aws:iam::aws:policy/PowerUserAccess",
                "arn:aws:iam::aws:policy/IAMFullAccess",
            ],
            "Managed policies never attached by a tenancy.",
        ),
        "admin_roles": string_list(
            list(_s.admin_roles),
            "The organization's deployment, break-glass and pipeline roles (organization.yaml), which "
            "administer whole accounts and are guarded by the protect-roles SCP (CLD-ORG-005) instead.",
        ),
    },
)
def no_admin_managed_attachment(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    role = args.props.get("role") if args.resource_type != ROLE else args.props.get("name")
    if isinstance(role, str) and role in config.get("admin_roles", []):
        return
    if args.resource_type == ROLE:
        arns = [str(a) for a in as_list(args.props.get("managedPolicyArns"))]
    else:
        arns = [str(args.props.get("policyArn"))]
    for arn in arns:
        if arn in config["forbidden_policy_arns"]:
            report(f"Attaches {arn}.")


@stack_policy(
    name="iam-role-permissions-boundary",
    family="iam",
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
