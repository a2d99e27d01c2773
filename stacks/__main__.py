"""Jamaa's Pulumi program: the regional tenancies and the organization stacks.

A stack whose file sets `jamaa:kind` (org, log-archive, security) is an organization stack
(stacks/organization/); any other names `jamaa:region` and `jamaa:environment` and is a regional
tenancy, wired here one component per concern. Nothing here decides a setting: every value comes
from environments/ (national.yaml, organization.yaml, regions/, <env>/environment.yaml, ipam.yaml), and
what follows from them (data classes, the management range, the host backups' retention, the budget
split) from the model's `Environments.tenancy_plan`."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pulumi
import pulumi_aws as aws
from tenancy.archive import ArchiveArgs, DocumentArchive
from tenancy.audit import AuditArgs, AuditLogging
from tenancy.backup import BackupArgs, BackupPlans
from tenancy.budgets import Budgets, BudgetsArgs
from tenancy.context import Tenancy, make_provider
from tenancy.database import Database, DatabaseArgs
from tenancy.host_backups import BackupServer, HostBackups, HostBackupsArgs
from tenancy.keys import KeysArgs, TenancyKeys
from tenancy.network import NetworkArgs, TenancyNetwork, slice_index, tier_block
from tenancy.offices import OfficesArgs, OfficeSite, OfficeVpn
from tenancy.servers import (
    CommuneServers,
    DedicatedServer,
    RolePolicy,
    ServersArgs,
    dedicated_server_name,
    shared_server_name,
)

from jamaa.cloudinit import render_user_data
from jamaa.config import Environments, load_environments
from jamaa.errors import JamaaError
from jamaa.paths import ENVIRONMENTS


def deploy_region(config: pulumi.Config, envs: Environments) -> None:
    region_code = config.require("region")
    environment_name = config.require("environment")
    try:
        plan = envs.tenancy_plan(region_code, environment_name)  # every decision the stack rests on
    except JamaaError as error:
        raise ValueError(str(error)) from None
    region = envs.regions[region_code]
    environment = envs.environments[environment_name]
    national = envs.national

    aws_region = envs.primary_region(environment_name)
    dr_region = envs.dr_region(environment_name)
    # In an organization environment the stack deploys into its own member account, through the
    # deployment role the org stack created there (account ids read from the org stack's outputs).
    role_arn = None
    config_bucket = None
    if environment.organization:
        from organization.context import OrgReference, StackOutputs, org_stack_name

        role_arn = OrgReference(org_stack_name()).deployment_role_arn(
            f"{region_code.lower()}-{environment_name}"
        )
        # AWS Config delivers to the organization's log archive, like every other account's.
        config_bucket = StackOutputs(org_stack_name("log-archive"), ("logs_bucket",)).values["logs_bucket"]
    primary = make_provider(envs, region, environment_name, aws_region, "primary", role_arn)
    dr = make_provider(envs, region, environment_name, dr_region, "dr", role_arn)
    # The account, once, at the start (as a preview does): ARNs are then plain, checkable strings.
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=primary))
    tenancy = Tenancy(
        envs=envs,
        region=region,
        environment=environment,
        aws_region=aws_region,
        dr_region=dr_region,
        account_id=identity.account_id,
    )
    in_primary = pulumi.ResourceOptions(provider=primary)

    region_cidr = envs.region_network(region_code)
    management_cidr = plan.management_cidr
    dedicated = {d.commune: d for d in region.dedicated_communes}

    keys = TenancyKeys(tenancy, KeysArgs(environment.kms_deletion_window_days, dr), opts=in_primary)
    key_arn = keys.key.arn

    audit = AuditLogging(
        tenancy,
        AuditArgs(
            kms_key_arn=key_arn,
            log_retention_days=environment.log_retention_days,
            object_lock_mode=environment.object_lock_mode,
            # Organization accounts: the trail, GuardDuty and Security Hub are the organization's
            # (log-archive and security stacks); AWS Config records per account and region here.
            trail=not environment.organization,
            guardduty=environment.security_services.guardduty and not environment.organization,
            config=environment.security_services.config,
            security_hub=environment.security_services.security_hub and not environment.organization,
            config_regions=[aws_region, dr_region],
            config_bucket=config_bucket,
        ),
        opts=in_primary,
    )

    network = TenancyNetwork(
        tenancy,
        NetworkArgs(
            cidr=region_cidr,
            availability_zones=environment.availability_zones,
            nat_per_az=environment.nat_gateway_per_az,
            flow_log_bucket_arn=audit.audit_bucket.arn,
            kms_key_arn=key_arn,
            log_retention_days=environment.log_retention_days,
            management_cidr=management_cidr,
            office_supernet=national.ip_plan.office_supernet,
            dedicated={commune: envs.dedicated_network(commune) for commune in dedicated},
        ),
        opts=in_primary,
    )

    archive = None
    if plan.archive_class is not None:
        archive = DocumentArchive(
            tenancy,
            ArchiveArgs(
                data_class=plan.archive_class,
                kms_key_arn=key_arn,
                kms_key_alias=keys.alias,
                access_log_bucket=audit.access_logs.name,
                object_lock_mode=environment.object_lock_mode,
                retention_days=national.retention_floor(plan.archive_class),
                dedicated_communes=sorted(dedicated),
            ),
            opts=in_primary,
        )

    Database(
        tenancy,
        DatabaseArgs(
            data_class=plan.database_class,
            subnet_ids=[s.id for s in network.subnets["data"]],
            vpc_id=network.vpc.id,
            client_cidrs={
                "app": str(tier_block(region_cidr, "app")),
                **{commune: str(envs.dedicated_network(commune)) for commune in sorted(dedicated)},
            },
            kms_key_arn=key_arn,
            instance_class=environment.database.instance_class,
            allocated_storage_gb=environment.database.allocated_storage_gb,
            multi_az=environment.database.multi_az,
            deletion_protection=environment.database.deletion_protection,
            retention_floor_days=national.retention_floor(plan.database_class),
            log_retention_days=environment.log_retention_days,
        ),
        opts=in_primary,
    )

    BackupPlans(
        tenancy,
        BackupArgs(
            kms_key_arn=key_arn,
            dr_kms_key_arn=keys.dr_key.arn,
            dr_provider=dr,
            lock_mode=environment.backup_vault_lock_mode,
            retention_days={
                c: d for c, d in environment.backup_retention_days.items() if c in tenancy.cloud_classes()
            },
            floors={c: national.retention_floor(c) for c in tenancy.cloud_classes()},
        ),
        opts=in_primary,
    )

    # The servers' restic repositories (roles/backup): one locked bucket, one prefix per server.
    host_backups = HostBackups(
        tenancy,
        HostBackupsArgs(
            data_class=plan.host_backups_class,
            kms_key_arn=key_arn,
            kms_key_alias=keys.alias,
            access_log_bucket=audit.access_logs.name,
            lock_mode=environment.backup_vault_lock_mode,
            retention_days=plan.host_backups_retention_days,
            servers=[
                BackupServer("shared", shared_server_name(tenancy)),
                *(
                    BackupServer(commune, dedicated_server_name(tenancy, commune), commune)
                    for commune in sorted(dedicated)
                ),
            ],
        ),
        opts=in_primary,
    )

    servers = CommuneServers(
        tenancy,
        ServersArgs(
            vpc_id=network.vpc.id,
            vpc_cidr=region_cidr,
            app_subnet_ids=[s.id for s in network.subnets["app"]],
            kms_key_arn=key_arn,
            instance_type=environment.servers.instance_type,
            pool_size=environment.servers.shared_pool_size,
            data_class=plan.server_data_class,
            management_cidr=management_cidr,
            office_supernet=national.ip_plan.office_supernet,
            shared_archive_policy_arn=archive.policy_arn("shared") if archive else None,
            shared_archive_policy=archive.shared_pool_policy if archive else None,
            access_log_bucket=audit.access_logs.name,
            domain=f"{region.slug}.{environment_name}.{national.hosting.internal_domain}",
            deletion_protection=environment.database.deletion_protection,
            disk=environment.servers.disk,
            user_data=render_user_data(environment_name, environment.servers.disk),
            certificate_validation=national.hosting.certificate_validation,
            dedicated=[
                DedicatedServer(
                    commune=commune,
                    data_class=entry.data_class,
                    subnet_id=network.dedicated_subnets[commune].id,
                    rule_priority=1 + slice_index(region_cidr, envs.dedicated_network(commune)),
                    archive_policy_arn=archive.policy_arn(commune) if archive else None,
                    archive_policy=archive.dedicated_policies[commune] if archive else None,
                )
                for commune, entry in sorted(dedicated.items())
            ],
            role_policies={
                role: [RolePolicy("host-backups", host_backups.policy_arn(role), policy)]
                for role, policy in host_backups.policies.items()
            },
        ),
        opts=in_primary,
    )

    if region.offices:
        OfficeVpn(
            tenancy,
            OfficesArgs(
                vpc_id=network.vpc.id,
                route_tables={
                    **{
                        f"app-{az}": rt.id for az, rt in zip("abcdef", network.app_route_tables, strict=False)
                    },
                    "data": network.data_route_table.id,
                },
                offices=[
                    OfficeSite(
                        commune=o.commune,
                        gateway_ip=o.gateway_ip,
                        bgp_asn=o.bgp_asn,
                        cidr=IPv4Network(envs.office_network(region_code, o.commune)),
                    )
                    for o in region.offices
                ],
            ),
            opts=in_primary,
        )

    Budgets(
        tenancy,
        BudgetsArgs(
            monthly_usd=environment.monthly_budget_usd,
            kms_key_arn=key_arn,
            # The payer (management) account activates cost allocation tags: the org stack does, for
            # the organization's accounts; a stack without an organization activates its own.
            cost_tags=[] if environment.organization else list(national.mandatory_tags),
            dedicated_communes=plan.budget_shares_usd,
        ),
        opts=in_primary,
    )

    pulumi.export("region", region_code)
    pulumi.export("aws_region", tenancy.aws_region)
    pulumi.export("vpc_cidr", str(region_cidr))
    pulumi.export("audit_bucket", audit.audit_bucket.name)
    if archive is not None:
        pulumi.export("archive_bucket", archive.bucket.name)
    pulumi.export("host_backups_bucket", host_backups.bucket.name)
    pulumi.export("certificate_validation", servers.validation_record)
    if servers.zone is not None:
        pulumi.export("zone_name_servers", servers.zone.name_servers)


config = pulumi.Config("jamaa")
root = Path(config.get("environments") or ENVIRONMENTS)
kind = config.get("kind")
if kind:
    from organization.program import deploy

    deploy(kind, load_environments(root))
else:
    deploy_region(config, load_environments(root))
