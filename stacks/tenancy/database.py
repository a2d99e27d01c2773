"""The regional PostgreSQL (RDS): private, encrypted with the tenancy key, TLS forced, IAM auth,
managed master password, Multi-AZ and deletion protection where the environment says so."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenancy.context import Tenancy, assume_role_policy, child

ENGINE_MAJOR = "17"
RDS_MAX_BACKUP_RETENTION_DAYS = 35  # RDS's own ceiling; longer retention comes from AWS Backup


@dataclass
class DatabaseArgs:
    data_class: str
    subnet_ids: list[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    client_cidrs: dict[str, str]  # label (app tier, commune id) → CIDR
    kms_key_arn: pulumi.Input[str]
    instance_class: str
    allocated_storage_gb: int
    multi_az: bool
    deletion_protection: bool
    retention_floor_days: int
    log_retention_days: int


class Database(pulumi.ComponentResource):
    instance: aws.rds.Instance

    def __init__(
        self, tenancy: Tenancy, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:database:Database", tenancy.name("database"), None, opts)
        name = tenancy.name
        tags = tenancy.tags(name("postgres"), args.data_class)
        subnet_group = aws.rds.SubnetGroup(
            name("db-subnets"),
            name=name("db"),
            description="Data tier only",
            subnet_ids=args.subnet_ids,
            tags=tenancy.tags(name("db-subnets")),
            opts=child(self),
        )
        parameters = aws.rds.ParameterGroup(
            name("db-params"),
            name=name("postgres", ENGINE_MAJOR),
            family=f"postgres{ENGINE_MAJOR}",
            description="TLS only, connections and statements logged",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="ssl_min_protocol_version", value="TLSv1.2"),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_disconnections", value="1"),
            ],
            tags=tenancy.tags(name("db-params")),
            opts=child(self),
        )
        security_group = aws.ec2.SecurityGroup(
            name("db-sg"),
            name=name("postgres"),
            description="PostgreSQL from the app tier and dedicated servers only",
            vpc_id=args.vpc_id,
            tags=tenancy.tags(name("db-sg")),
            opts=child(self),
        )
        for label, cidr in sorted(args.client_cidrs.items()):
            aws.vpc.SecurityGroupIngressRule(
                name("db-sg-in", label),
                security_group_id=security_group.id,
                ip_protocol="tcp",
                from_port=5432,
                to_port=5432,
                cidr_ipv4=cidr,
                description="PostgreSQL from commune servers",
                tags=tenancy.tags(name("db-sg-in", label)),
                opts=child(self),
            )
        monitoring_role_name = name("rds-monitoring")
        monitoring_role = aws.iam.Role(
            name("db-monitoring-role"),
            name=monitoring_role_name,
            assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com", tenancy.account_id),
            tags=tenancy.tags(name("db-monitoring-role")),
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            name("db-monitoring-managed"),
            role=monitoring_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            opts=child(self),
        )
        self.instance = aws.rds.Instance(
            name("postgres"),
            identifier=name("postgres"),
            engine="postgres",
            engine_version=ENGINE_MAJOR,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.allocated_storage_gb * 4,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=not args.deletion_protection,
            final_snapshot_identifier=name("postgres-final") if args.deletion_protection else None,
            backup_retention_period=min(args.retention_floor_days, RDS_MAX_BACKUP_RETENTION_DAYS),
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            iam_database_authentication_enabled=True,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            username="jamaa_admin",
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            monitoring_interval=60,
            monitoring_role_arn=tenancy.role_arn(monitoring_role_name),
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade", "iam-db-auth-error"],
            auto_minor_version_upgrade=True,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags=tags,
            opts=child(self, depends_on=[monitoring_role], protect=True),
        )
        self.register_outputs({"endpoint": self.instance.endpoint})
