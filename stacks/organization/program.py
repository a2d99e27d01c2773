"""The organization stacks' wiring: `org` in the management account (with the pipeline's own
credentials), then `log-archive` and `security` in their accounts through the deployment role the
`org` stack created, read from its outputs with a StackReference."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from tenancy.recording import ConfigRecording, RecordingArgs

from jamaa.config import Environments
from organization.context import (
    OrgContext,
    OrgReference,
    StackOutputs,
    org_stack_name,
    organization_of,
    provider,
)
from organization.log_archive import CONFIG_PREFIX, LogArchive, LogArchiveArgs
from organization.management import LandingZone, OrganizationArgs
from organization.security import SecurityArgs, SecurityTooling

KINDS = ("org", "log-archive", "security")


def _identity(into: aws.Provider) -> str:
    return aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=into)).account_id


def deploy(kind: str, envs: Environments) -> None:
    if kind not in KINDS:
        raise ValueError(f"jamaa:kind: unknown stack kind {kind!r} (known: {', '.join(KINDS)})")
    org = organization_of(envs)
    hosting = envs.national.hosting
    home, dr = hosting.primary_region, hosting.dr_region
    settings = org.log_archive

    if kind == "org":
        into = provider(envs, "org-aws", home)
        ctx = OrgContext(envs, "org", home, dr, _identity(into))
        zone = LandingZone(
            ctx,
            OrganizationArgs(cost_tags=list(envs.national.mandatory_tags)),
            pulumi.ResourceOptions(provider=into),
        )
        accounts: dict[str, Any] = {a.stack or a.kind: zone.accounts[a.name].id for a in org.accounts}
        pulumi.export("organization_id", zone.organization.id)
        pulumi.export("root_id", zone.root_id)
        pulumi.export("management_account_id", ctx.account_id)
        pulumi.export("accounts", accounts)
        pulumi.export("ous", {path: ou.id for path, ou in sorted(zone.ous.items())})
        pulumi.export("deployment_role", org.roles.deployment)
        return

    ref = OrgReference(org_stack_name())
    into = provider(envs, f"{kind}-aws", home, role_arn=ref.deployment_role_arn(kind))
    ctx = OrgContext(envs, kind, home, dr, _identity(into))
    in_account = pulumi.ResourceOptions(provider=into)
    if kind == "log-archive":
        archive = LogArchive(
            ctx,
            LogArchiveArgs(
                organization_id=ref.values["organization_id"],
                retention_days=settings.retention_days,
                object_lock_mode=settings.object_lock_mode,
                kms_deletion_window_days=settings.kms_deletion_window_days,
            ),
            in_account,
        )
        ConfigRecording(
            ctx, RecordingArgs(ctx.regions, archive.bucket.name, CONFIG_PREFIX, archive.key.arn), in_account
        )
        pulumi.export("logs_bucket", archive.bucket.name)
        pulumi.export("logs_kms_key_arn", archive.key.arn)
        pulumi.export("trail_arn", archive.trail.arn)
        pulumi.export("account_id", ctx.account_id)
        return

    logs = StackOutputs(org_stack_name("log-archive"), ("logs_bucket",))
    management_id = str(ref.values["management_account_id"])
    SecurityTooling(
        ctx,
        SecurityArgs(
            root_id=ref.values["root_id"],
            management_account_id=management_id,
            management_email=org.management.email,
        ),
        in_account,
    )
    # The bucket's default encryption (the log-archive key, whose policy lets Config deliver for
    # the organization) encrypts what arrives.
    deliveries = RecordingArgs(ctx.regions, logs.values["logs_bucket"], CONFIG_PREFIX, None)
    ConfigRecording(ctx, deliveries, in_account)
    # The management account records too (it is no member: nothing else would), with the
    # pipeline's own credentials, which are the management account's.
    management = provider(envs, "security-aws-management", home)
    ConfigRecording(
        OrgContext(envs, "management", home, dr, _identity(management)),
        deliveries,
        pulumi.ResourceOptions(provider=management),
    )
    pulumi.export("account_id", ctx.account_id)
    pulumi.export("regions", ctx.regions)
