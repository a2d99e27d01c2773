"""The security (audit) account, delegated administrator of the detective services: GuardDuty for
every account (new and existing) in every allowed region, Security Hub central configuration with
the CIS AWS Foundations standard for the whole organization, the organization's Config aggregator,
and IAM Access Analyzer at organization scope."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from tenancy.context import assume_role_policy, child

from organization.context import OrgContext

CIS_STANDARD = "standards/cis-aws-foundations-benchmark/v/3.0.0"
AGGREGATOR_POLICY = "arn:aws:iam::aws:policy/service-role/AWSConfigRoleForOrganizations"


@dataclass
class SecurityArgs:
    root_id: str
    management_account_id: str
    management_email: str


def cis_standard_arn(region: str) -> str:
    return f"arn:aws:securityhub:{region}::{CIS_STANDARD}"


class SecurityTooling(pulumi.ComponentResource):
    def __init__(self, ctx: OrgContext, args: SecurityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jamaa:organization:SecurityTooling", ctx.name("tooling"), None, opts)
        home = ctx.aws_region
        self.detectors: dict[str, aws.guardduty.Detector] = {}
        for region in ctx.regions:
            detector = aws.guardduty.Detector(
                ctx.name("guardduty", region),
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                region=region,
                tags=ctx.tags(ctx.name("guardduty", region)),
                opts=child(self),
            )
            self.detectors[region] = detector
            # Auto-enable covers the member accounts; the management account is added as a member.
            aws.guardduty.Member(
                ctx.name("guardduty-management", region),
                account_id=args.management_account_id,
                detector_id=detector.id,
                email=args.management_email,
                invite=False,
                region=region,
                opts=child(self),
            )
            aws.guardduty.OrganizationConfiguration(
                ctx.name("guardduty-organization", region),
                detector_id=detector.id,
                auto_enable_organization_members="ALL",
                region=region,
                opts=child(self),
            )
            aws.accessanalyzer.Analyzer(
                ctx.name("access-analyzer", region),
                analyzer_name=f"jamaa-organization-{region}",
                type="ORGANIZATION",
                region=region,
                tags=ctx.tags(ctx.name("access-analyzer", region)),
                opts=child(self),
            )

        # Security Hub: central configuration from the home region, the other regions linked.
        aggregator = aws.securityhub.FindingAggregator(
            ctx.name("securityhub-aggregator"),
            linking_mode="SPECIFIED_REGIONS",
            specified_regions=[r for r in ctx.regions if r != home],
            opts=child(self),
        )
        central = aws.securityhub.OrganizationConfiguration(
            ctx.name("securityhub-organization"),
            auto_enable=False,
            auto_enable_standards="NONE",
            organization_configuration=aws.securityhub.OrganizationConfigurationOrganizationConfigurationArgs(
                configuration_type="CENTRAL"
            ),
            opts=child(self, depends_on=[aggregator]),
        )
        policy = aws.securityhub.ConfigurationPolicy(
            ctx.name("securityhub-cis"),
            name="jamaa-cis-aws-foundations",
            description="Security Hub on in every account and linked region, CIS AWS Foundations standard",
            configuration_policy=aws.securityhub.ConfigurationPolicyConfigurationPolicyArgs(
                service_enabled=True,
                enabled_standard_arns=[cis_standard_arn(home)],
                security_controls_configuration=aws.securityhub.ConfigurationPolicyConfigurationPolicySecurityControlsConfigurationArgs(
                    disabled_control_identifiers=[]
                ),
            ),
            opts=child(self, depends_on=[central]),
        )
        aws.securityhub.ConfigurationPolicyAssociation(
            ctx.name("securityhub-cis-on-root"),
            target_id=args.root_id,
            policy_id=policy.id,
            opts=child(self),
        )

        # The organization's Config aggregator (every account, every allowed region).
        role_name = ctx.name("config-aggregator")
        role = aws.iam.Role(
            ctx.name("config-aggregator-role"),
            name=role_name,
            assume_role_policy=assume_role_policy("config.amazonaws.com", ctx.account_id),
            tags=ctx.tags(role_name),
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            ctx.name("config-aggregator-role-managed"),
            role=role.name,
            policy_arn=AGGREGATOR_POLICY,
            opts=child(self),
        )
        aws.cfg.ConfigurationAggregator(
            ctx.name("config-aggregator"),
            name="jamaa-organization",
            organization_aggregation_source=aws.cfg.ConfigurationAggregatorOrganizationAggregationSourceArgs(
                role_arn=ctx.role_arn(role_name), regions=ctx.regions, all_regions=False
            ),
            tags=ctx.tags("jamaa-organization"),
            opts=child(self, depends_on=[role]),
        )
        self.register_outputs({})
