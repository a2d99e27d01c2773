"""The management account: AWS Organizations with all features, the OUs, the member accounts
vended from environments/organization.yaml, the SCPs, the delegated administrators, the roles every
member account has, and the cost allocation tags (only the payer account can activate them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from tenancy.context import child, policy_json

from jamaa.config import PipelineTrust
from jamaa.landingzone import DELEGATED, SERVICE_ACCESS, guardrails
from organization.context import OrgContext, provider

ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
COMMUNE_TAG = "jamaa:commune"


def pipeline_trust(account_id: str, oidc: PipelineTrust | None) -> list[dict[str, Any]]:
    """Who may assume the pipeline role: the management account's principals (as their IAM
    policies allow) and, when organization.yaml names it, CI's OIDC identity for those subjects."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "sts:AssumeRole",
        }
    ]
    if oidc is not None:
        host = oidc.provider
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{host}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{host}:aud": oidc.audience},
                    "StringLike": {f"{host}:sub": list(oidc.subjects)},
                },
            }
        )
    return statements


@dataclass
class OrganizationArgs:
    cost_tags: list[str]


class LandingZone(pulumi.ComponentResource):
    organization: aws.organizations.Organization
    accounts: dict[str, aws.organizations.Account]
    ous: dict[str, aws.organizations.OrganizationalUnit]

    def __init__(self, ctx: OrgContext, args: OrganizationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jamaa:organization:LandingZone", ctx.name("landing-zone"), None, opts)
        org = ctx.organization
        roles = org.roles
        protect = child(self, protect=True)

        self.organization = aws.organizations.Organization(
            ctx.name("organization"),
            feature_set="ALL",
            aws_service_access_principals=sorted(SERVICE_ACCESS),
            enabled_policy_types=["SERVICE_CONTROL_POLICY"],
            opts=protect,
        )
        root_id = self.organization.roots.apply(lambda roots: roots[0].id)
        self.root_id = root_id

        # OUs, parents before children (paths sort that way).
        self.ous = {}
        for ou in sorted(org.organizational_units, key=lambda o: o.path.count("/")):
            parent = self.ous[ou.parent].id if ou.parent else root_id
            self.ous[ou.path] = aws.organizations.OrganizationalUnit(
                ctx.name("ou", ou.path.replace("/", "-")),
                name=ou.path.rsplit("/", 1)[-1],
                parent_id=parent,
                tags=ctx.tags(ctx.name("ou", ou.path.replace("/", "-"))),
                opts=protect,
            )

        # Accounts: a name or e-mail never changes once created; closing one is a human decision.
        self.accounts = {}
        for account in org.accounts:
            self.accounts[account.name] = aws.organizations.Account(
                ctx.name("account", account.name),
                name=account.name,
                email=account.email,
                parent_id=self.ous[account.ou].id,
                role_name=roles.account_access,
                iam_user_access_to_billing="DENY",
                close_on_deletion=False,
                tags={**ctx.tags(account.name), **({"jamaa:stack": account.stack} if account.stack else {})},
                opts=child(self, protect=True, ignore_changes=["roleName", "iamUserAccessToBilling"]),
            )

        # Guardrails: SCPs, each attached where guardrails.py says.
        for guardrail in guardrails(ctx.envs, org):
            scp = aws.organizations.Policy(
                ctx.name("scp", guardrail.key),
                name=guardrail.name,
                description=f"{guardrail.control}: {guardrail.description}",
                type="SERVICE_CONTROL_POLICY",
                content=json.dumps(guardrail.document(), sort_keys=True),
                tags=ctx.tags(guardrail.name),
                opts=child(self, depends_on=[self.organization]),
            )
            for target in guardrail.targets:
                aws.organizations.PolicyAttachment(
                    ctx.name("scp", guardrail.key, "on", target.replace("/", "-")),
                    policy_id=scp.id,
                    target_id=root_id if target == "root" else self.ous[target].id,
                    opts=child(self),
                )

        security_id = self.accounts[org.account_of_kind("security").name].id
        for kind, principals in DELEGATED.items():
            admin = self.accounts[org.account_of_kind(kind).name]
            for principal in principals:
                aws.organizations.DelegatedAdministrator(
                    ctx.name("delegated", principal.split(".amazonaws.com")[0]),
                    account_id=admin.id,
                    service_principal=principal,
                    opts=child(self, depends_on=[self.organization]),
                )
        # GuardDuty's administrator is per region; Security Hub's is set in the home region and
        # central configuration (the security stack) extends it to the linked regions.
        for region in ctx.regions:
            aws.guardduty.OrganizationAdminAccount(
                ctx.name("guardduty-admin", region),
                admin_account_id=security_id,
                region=region,
                opts=child(self, depends_on=[self.organization]),
            )
        aws.securityhub.OrganizationAdminAccount(
            ctx.name("securityhub-admin"),
            admin_account_id=security_id,
            opts=child(self, depends_on=[self.organization]),
        )

        # What CI runs as, in the management account: it assumes each member's deployment role.
        pipeline = aws.iam.Role(
            ctx.name("pipeline-role"),
            name=roles.pipeline,
            description="Jamaa pipelines: deploy the org stack, assume the members' deployment roles",
            assume_role_policy=policy_json(pipeline_trust(ctx.account_id, roles.pipeline_oidc)),
            tags=ctx.tags(roles.pipeline),
            opts=protect,
        )
        aws.iam.RolePolicyAttachment(
            ctx.name("pipeline-role-admin"), role=pipeline.name, policy_arn=ADMINISTRATOR, opts=child(self)
        )

        # In every member account: the deployment role (the pipeline assumes it) and the break-glass
        # role (humans with MFA), created through the account-access role Organizations made.
        pipeline_arn = ctx.role_arn(roles.pipeline)
        for account in org.accounts:
            member = self.accounts[account.name]
            into = provider(
                ctx.envs,
                ctx.name("aws", account.name),
                ctx.aws_region,
                role_arn=member.id.apply(lambda i: f"arn:aws:iam::{i}:role/{roles.account_access}"),
            )
            in_member = child(self, provider=into, protect=True)
            deployment = aws.iam.Role(
                ctx.name("deployment-role", account.name),
                name=roles.deployment,
                description=f"Jamaa pipelines deploy {account.stack or account.kind} here",
                assume_role_policy=policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": pipeline_arn},
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                        }
                    ]
                ),
                max_session_duration=3600,
                tags=ctx.tags(roles.deployment),
                opts=in_member,
            )
            aws.iam.RolePolicyAttachment(
                ctx.name("deployment-role-admin", account.name),
                role=deployment.name,
                policy_arn=ADMINISTRATOR,
                opts=child(self, provider=into),
            )
            break_glass = aws.iam.Role(
                ctx.name("break-glass-role", account.name),
                name=roles.break_glass,
                description="Emergency access (MFA); every use is investigated",
                assume_role_policy=policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ctx.account_id}:root"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                        }
                    ]
                ),
                max_session_duration=3600,
                tags=ctx.tags(roles.break_glass),
                opts=in_member,
            )
            aws.iam.RolePolicyAttachment(
                ctx.name("break-glass-role-admin", account.name),
                role=break_glass.name,
                policy_arn=ADMINISTRATOR,
                opts=child(self, provider=into),
            )

        # Cost allocation tags: activated once, from the payer account (AWS must have seen them).
        for tag in sorted({*args.cost_tags, COMMUNE_TAG}):
            aws.costexplorer.CostAllocationTag(
                ctx.name("cost-tag", tag.replace(":", "-")), tag_key=tag, status="Active", opts=child(self)
            )

        self.register_outputs({"organization_id": self.organization.id, "root_id": root_id})
