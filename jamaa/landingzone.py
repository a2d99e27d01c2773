"""The landing zone's data-derived parts, shared by the `org` stack (stacks/organization/) and the
organization view of `jamaa audit`: the service control policies and the delegated administrators.

The SCPs are guardrails that hold in every member account whatever a stack declares. Each is a
control of the catalogue (policies/controls/cloud-organization.yaml); the documents are built from
environments/ here, declared by the `org` stack, checked by the policy pack on its plan, and
compared with the live organization by `jamaa audit --organization`.

AWS limits: an SCP document is at most 5,120 characters, and a target (root, OU, account) carries
at most 5 SCPs, AWS's own FullAWSAccess included; the estate test checks both offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jamaa.config import Environments, Organization

MAX_SCP_CHARS = 5120
MAX_SCPS_PER_TARGET = 5

# Services the organization trusts (service access).
SERVICE_ACCESS = (
    "access-analyzer.amazonaws.com",
    "backup.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
    "guardduty.amazonaws.com",
    "malware-protection.guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
)
# Delegated administrators registered through Organizations, by account kind; GuardDuty and
# Security Hub have their own admin APIs (the security account, in every allowed region).
DELEGATED: dict[str, tuple[str, ...]] = {
    "security": (
        "access-analyzer.amazonaws.com",
        "backup.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
        "config.amazonaws.com",
    ),
    # The organization trail is created by its delegated administrator, in the log-archive account.
    "log-archive": ("cloudtrail.amazonaws.com",),
}


@dataclass(frozen=True)
class Guardrail:
    key: str  # the SCP's name suffix: jamaa-<key>
    control: str  # its control id in the catalogue
    description: str
    targets: tuple[str, ...]  # "root" or OU paths
    statements: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return f"jamaa-{self.key}"

    def document(self) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": list(self.statements)}


def _role_arns(*names: str) -> list[str]:
    return [f"arn:aws:iam::*:role/{name}" for name in names]


def guardrails(envs: Environments, org: Organization) -> list[Guardrail]:
    roles = org.roles
    break_glass = {"ArnNotLike": {"aws:PrincipalARN": _role_arns(roles.break_glass)}}
    top_ous = tuple(sorted({ou.path for ou in org.organizational_units if ou.parent is None}))
    return [
        Guardrail(
            key="region-guard",
            control="CLD-ORG-001",
            description="Deny every AWS region outside national.yaml's allowed regions (residency)",
            targets=("root",),
            statements=(
                {
                    "Sid": "DenyOutsideAllowedRegions",
                    "Effect": "Deny",
                    "NotAction": sorted(org.guardrails.global_service_actions),
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": envs.allowed_regions_scp()}},
                },
            ),
        ),
        Guardrail(
            key="stay-in-organization",
            control="CLD-ORG-002",
            description="Deny member accounts leaving the organization",
            targets=("root",),
            statements=(
                {
                    "Sid": "DenyLeavingTheOrganization",
                    "Effect": "Deny",
                    "Action": "organizations:LeaveOrganization",
                    "Resource": "*",
                },
            ),
        ),
        Guardrail(
            key="protect-detection",
            control="CLD-ORG-003",
            description=(
                "Deny stopping or deleting CloudTrail, GuardDuty, AWS Config, Security Hub and the "
                "Backup vault locks (break-glass role excepted)"
            ),
            targets=("root",),
            statements=(
                {
                    # Stopping or deleting: the break-glass role only.
                    "Sid": "DenyStoppingDetection",
                    "Effect": "Deny",
                    "Action": [
                        "backup:DeleteBackupVaultLockConfiguration",
                        "cloudtrail:DeleteTrail",
                        "cloudtrail:StopLogging",
                        "config:DeleteConfigurationRecorder",
                        "config:DeleteDeliveryChannel",
                        "config:DeleteRetentionConfiguration",
                        "config:StopConfigurationRecorder",
                        "guardduty:DeleteDetector",
                        "guardduty:DeleteMembers",
                        "guardduty:DisassociateFromAdministratorAccount",
                        "guardduty:DisassociateFromMasterAccount",
                        "guardduty:DisassociateMembers",
                        "guardduty:StopMonitoringMembers",
                        "securityhub:DeleteMembers",
                        "securityhub:DisableSecurityHub",
                        "securityhub:DisassociateFromAdministratorAccount",
                        "securityhub:DisassociateFromMasterAccount",
                        "securityhub:DisassociateMembers",
                    ],
                    "Resource": "*",
                    "Condition": break_glass,
                },
                {
                    # Reconfiguring: also the deployment role, so the log-archive and security
                    # stacks can change what they own (the trail, the detectors); never stop it.
                    "Sid": "DenyReconfiguringDetection",
                    "Effect": "Deny",
                    "Action": [
                        "cloudtrail:PutEventSelectors",
                        "cloudtrail:UpdateTrail",
                        "guardduty:UpdateDetector",
                        "securityhub:BatchDisableStandards",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnNotLike": {"aws:PrincipalARN": _role_arns(roles.break_glass, roles.deployment)}
                    },
                },
            ),
        ),
        Guardrail(
            key="deny-root-user",
            control="CLD-ORG-004",
            description="Deny every action taken as a member account's root user",
            targets=("root",),
            statements=(
                {
                    "Sid": "DenyRootUser",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
                },
            ),
        ),
        Guardrail(
            key="protect-roles",
            control="CLD-ORG-005",
            description=(
                "Deny changing the deployment, break-glass and account-access roles except through "
                "the account-access role the org stack uses"
            ),
            targets=top_ous,  # the root already carries 4 SCPs and AWS's FullAWSAccess (5 at most)
            statements=(
                {
                    "Sid": "DenyChangingProtectedRoles",
                    "Effect": "Deny",
                    "Action": [
                        "iam:AttachRolePolicy",
                        "iam:DeleteRole",
                        "iam:DeleteRolePermissionsBoundary",
                        "iam:DeleteRolePolicy",
                        "iam:DetachRolePolicy",
                        "iam:PutRolePermissionsBoundary",
                        "iam:PutRolePolicy",
                        "iam:UpdateAssumeRolePolicy",
                        "iam:UpdateRole",
                        "iam:UpdateRoleDescription",
                    ],
                    "Resource": _role_arns(roles.deployment, roles.break_glass, roles.account_access),
                    "Condition": {"ArnNotLike": {"aws:PrincipalARN": _role_arns(roles.account_access)}},
                },
            ),
        ),
    ]
