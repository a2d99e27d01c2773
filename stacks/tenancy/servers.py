"""Commune servers: a shared pool per region behind an internal TLS load balancer, and a dedicated
instance for each commune marked so. IMDSv2 only, encrypted volumes, no public address, SSM instead
of open SSH, an instance role per server kind that reaches only its communes' archive prefixes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_aws as aws

from jamaa.config import DiskLayout
from tenancy.context import Tenancy, assume_role_policy, child

# Debian's official images, resolved by EC2 at launch from Debian's public SSM parameter.
DEBIAN_IMAGE = "resolve:ssm:/aws/service/debian/release/13/latest/amd64"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
MANAGEMENT_PORTS = (22, 9100)  # SSH for Ansible over the national network, node exporter
# Debian's images boot from /dev/xvda; the data volume's name matters little: the first-boot script
# finds it as the one empty disk of its size (on Nitro instances both appear as NVMe devices).
ROOT_DEVICE = "/dev/xvda"
DATA_DEVICE = "/dev/xvdf"
HOST_TAG = "jamaa:host"  # a dedicated instance's inventory host name (its Name); never on the pool


def shared_server_name(tenancy: Tenancy) -> str:
    """The Name tag all the shared pool's instances carry (inventory host names: <Name>-<instance id>)."""
    return tenancy.name("shared-server")


def dedicated_server_name(tenancy: Tenancy, commune: str) -> str:
    """The Name tag of a commune's dedicated instance (the inventory host name)."""
    return tenancy.name("server", commune)


def server_role_name(tenancy: Tenancy, who: str) -> str:
    """The instance role of a server kind: `shared` (the pool) or a dedicated commune id."""
    return tenancy.name("server", who)


@dataclass(frozen=True)
class RolePolicy:
    """One more managed policy for a server role: attached as `server-role-<who>-<label>`, after
    `resource` (the policy itself, whose ARN is known offline from its name) exists."""

    label: str
    arn: pulumi.Input[str]
    resource: pulumi.Resource | None = None


@dataclass
class DedicatedServer:
    commune: str
    data_class: str
    subnet_id: pulumi.Input[str]
    rule_priority: int  # from the commune's recorded IP slice: stable, unique in the region
    archive_policy_arn: pulumi.Input[str] | None
    archive_policy: pulumi.Resource | None = None


@dataclass
class ServersArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: IPv4Network
    app_subnet_ids: list[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    instance_type: str
    pool_size: int
    data_class: str
    management_cidr: IPv4Network
    office_supernet: IPv4Network
    shared_archive_policy_arn: pulumi.Input[str] | None
    shared_archive_policy: pulumi.Resource | None
    access_log_bucket: str
    domain: str
    deletion_protection: bool
    # the server's disks (environments/<env>: servers.disk) and the cloud-init user data that lays the
    # data volume out at first boot (jamaa.cloudinit.render_user_data of the same layout)
    disk: DiskLayout
    user_data: str
    # "route53": the stack owns the public zone of `domain` and publishes the certificate's
    # validation record there; "external": whoever runs the parent domain publishes it (stack
    # output `certificate_validation`). Either way the HTTPS listener waits for the validation.
    certificate_validation: str = "route53"
    dedicated: list[DedicatedServer] = field(default_factory=list)
    # "shared" or a dedicated commune → further policies of that server role (e.g. host backups)
    role_policies: dict[str, list[RolePolicy]] = field(default_factory=dict)


class CommuneServers(pulumi.ComponentResource):
    load_balancer: aws.lb.LoadBalancer
    pool: aws.autoscaling.Group
    dedicated: dict[str, aws.ec2.Instance]

    def __init__(
        self, tenancy: Tenancy, args: ServersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:servers:CommuneServers", tenancy.name("servers"), None, opts)
        self._tenancy = tenancy
        self._args = args
        name = tenancy.name

        self.alb_sg = aws.ec2.SecurityGroup(
            name("alb-sg"),
            name=name("alb"),
            description="Internal load balancer: HTTPS from the tenancy and commune offices",
            vpc_id=args.vpc_id,
            tags=tenancy.tags(name("alb-sg")),
            opts=child(self),
        )
        self.server_sg = aws.ec2.SecurityGroup(
            name("server-sg"),
            name=name("servers"),
            description="Commune servers: the load balancer and the management range only",
            vpc_id=args.vpc_id,
            tags=tenancy.tags(name("server-sg")),
            opts=child(self),
        )
        for label, cidr in (("vpc", args.vpc_cidr), ("offices", args.office_supernet)):
            self._ingress(self.alb_sg, f"alb-in-{label}", 443, cidr=str(cidr), what=f"HTTPS from {label}")
        self._egress(self.alb_sg, "alb-out-servers", 443, peer=self.server_sg.id, what="HTTPS to servers")
        self._ingress(self.server_sg, "server-in-alb", 443, peer=self.alb_sg.id, what="HTTPS from the ALB")
        for port in MANAGEMENT_PORTS:
            self._ingress(
                self.server_sg,
                f"server-in-mgmt-{port}",
                port,
                cidr=str(args.management_cidr),
                what="management",
            )
        for port in (80, 443):  # Debian mirrors and AWS APIs (through NAT or the endpoints)
            self._egress(
                self.server_sg, f"server-out-{port}", port, cidr="0.0.0.0/0", what="updates and APIs"
            )
        self._egress(self.server_sg, "server-out-postgres", 5432, cidr=str(args.vpc_cidr), what="PostgreSQL")

        shared_profile = self._instance_role(
            "shared", args.shared_archive_policy_arn, args.shared_archive_policy, None
        )
        template = aws.ec2.LaunchTemplate(
            name("lt-shared"),
            name=name("shared"),
            description="Shared commune server pool",
            image_id=DEBIAN_IMAGE,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=shared_profile.arn),
            metadata_options=self._imds(),
            block_device_mappings=self._volumes(),
            user_data=self._user_data(),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=[self.server_sg.id],
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags=tenancy.tags(shared_server_name(tenancy), args.data_class)
                )
                for kind in ("instance", "volume")
            ],
            update_default_version=True,
            tags=tenancy.tags(name("lt-shared"), args.data_class),
            opts=child(self),
        )

        certificate = aws.acm.Certificate(
            name("alb-cert"),
            domain_name=args.domain,
            subject_alternative_names=[f"*.{args.domain}"],  # <commune>.<domain> for dedicated servers
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=tenancy.tags(name("alb-cert")),
            opts=child(self),
        )
        # The apex and the wildcard share one DNS validation record (ACM gives both the same).
        first = certificate.domain_validation_options.apply(lambda options: options[0])
        self.validation_record = first.apply(
            lambda o: {
                "name": o.resource_record_name,
                "type": o.resource_record_type,
                "value": o.resource_record_value,
            }
        )
        self.zone: aws.route53.Zone | None = None
        fqdns: list[pulumi.Input[str]] | None = None
        if args.certificate_validation == "route53":
            self.zone = aws.route53.Zone(
                name("zone"),
                name=args.domain,
                comment=f"Jamaa {tenancy.prefix}: delegated from the parent domain (NS records, once)",
                force_destroy=False,
                tags=tenancy.tags(name("zone")),
                opts=child(self),
            )
            record = aws.route53.Record(
                name("alb-cert-validation-record"),
                zone_id=self.zone.zone_id,
                name=first.apply(lambda o: o.resource_record_name),
                type=first.apply(lambda o: o.resource_record_type),
                records=[first.apply(lambda o: o.resource_record_value)],
                ttl=300,
                allow_overwrite=True,
                opts=child(self),
            )
            fqdns = [record.fqdn]
        validation = aws.acm.CertificateValidation(
            name("alb-cert-validation"),
            certificate_arn=certificate.arn,
            validation_record_fqdns=fqdns,
            opts=child(self),
        )
        self.load_balancer = aws.lb.LoadBalancer(
            name("alb"),
            name=name("alb"),
            internal=True,
            load_balancer_type="application",
            subnets=args.app_subnet_ids,
            security_groups=[self.alb_sg.id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_log_bucket, prefix="alb", enabled=True
            ),
            tags=tenancy.tags(name("alb")),
            opts=child(self),
        )
        target_group = aws.lb.TargetGroup(
            name("tg-shared"),
            name=name("shared"),
            port=443,
            protocol="HTTPS",
            vpc_id=args.vpc_id,
            target_type="instance",
            health_check=aws.lb.TargetGroupHealthCheckArgs(protocol="HTTPS", path="/healthz", matcher="200"),
            tags=tenancy.tags(name("tg-shared")),
            opts=child(self),
        )
        listener = aws.lb.Listener(
            name("alb-https"),
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=validation.certificate_arn,  # serves only once the certificate is issued
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)
            ],
            tags=tenancy.tags(name("alb-https")),
            opts=child(self),
        )
        self.pool = aws.autoscaling.Group(
            name("pool"),
            name=name("shared-pool"),
            min_size=args.pool_size,
            max_size=args.pool_size * 2,
            desired_capacity=args.pool_size,
            vpc_zone_identifiers=args.app_subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version="$Latest"),
            target_group_arns=[target_group.arn],
            health_check_type="ELB",
            health_check_grace_period=300,
            tags=[
                aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=True)
                for key, value in {
                    **tenancy.default_tags(),
                    **tenancy.tags(shared_server_name(tenancy), args.data_class),
                }.items()
            ],
            opts=child(self),
        )

        dedicated_template = None
        if args.dedicated:
            # Image, IMDS and volume settings; subnet, groups and profile are set per instance.
            dedicated_template = aws.ec2.LaunchTemplate(
                name("lt-dedicated"),
                name=name("dedicated"),
                description="Dedicated commune servers",
                image_id=DEBIAN_IMAGE,
                instance_type=args.instance_type,
                metadata_options=self._imds(),
                block_device_mappings=self._volumes(),
                user_data=self._user_data(),
                monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
                update_default_version=True,
                tags=tenancy.tags(name("lt-dedicated")),
                opts=child(self),
            )
        self.dedicated = {}
        for server in sorted(args.dedicated, key=lambda s: s.commune):
            profile = self._instance_role(
                server.commune, server.archive_policy_arn, server.archive_policy, server.commune
            )
            instance_name = dedicated_server_name(tenancy, server.commune)
            tags = tenancy.tags(instance_name, server.data_class, server.commune)
            self.dedicated[server.commune] = aws.ec2.Instance(
                instance_name,
                launch_template=aws.ec2.InstanceLaunchTemplateArgs(
                    id=dedicated_template.id if dedicated_template else None, version="$Latest"
                ),
                instance_type=args.instance_type,
                subnet_id=server.subnet_id,
                vpc_security_group_ids=[self.server_sg.id],
                associate_public_ip_address=False,
                iam_instance_profile=profile.name,
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                    http_tokens="required", http_endpoint="enabled", http_put_response_hop_limit=1
                ),
                root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                    encrypted=True,
                    kms_key_id=args.kms_key_arn,
                    volume_type="gp3",
                    volume_size=args.disk.root_volume_gb,
                ),
                monitoring=True,
                disable_api_termination=args.deletion_protection,
                volume_tags=tags,
                # jamaa:host: the inventory host name, only on dedicated instances (the aws_ec2 plugin
                # and `jamaa inventory` name them by it; pool instances become <Name>-<instance id>).
                tags={**tags, HOST_TAG: instance_name},
                opts=child(self),
            )
            # Its own target group, reached by its own host name on the shared internal ALB.
            commune_group = aws.lb.TargetGroup(
                name("tg", server.commune),
                name=name(server.commune),
                port=443,
                protocol="HTTPS",
                vpc_id=args.vpc_id,
                target_type="instance",
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    protocol="HTTPS", path="/healthz", matcher="200"
                ),
                tags=tags,
                opts=child(self),
            )
            aws.lb.TargetGroupAttachment(
                name("tg", server.commune, "server"),
                target_group_arn=commune_group.arn,
                target_id=self.dedicated[server.commune].id,
                port=443,
                opts=child(self),
            )
            aws.lb.ListenerRule(
                name("alb-rule", server.commune),
                listener_arn=listener.arn,
                priority=server.rule_priority,
                conditions=[
                    aws.lb.ListenerRuleConditionArgs(
                        host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(
                            values=[f"{server.commune}.{args.domain}"]
                        )
                    )
                ],
                actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=commune_group.arn)],
                tags=tags,
                opts=child(self),
            )
        self.register_outputs({"alb": self.load_balancer.dns_name})

    def _imds(self) -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
        return aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=1,
            instance_metadata_tags="enabled",
        )

    def _volumes(self) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgs]:
        """The root volume and the data volume (the CIS filesystems), both encrypted with the tenancy key."""
        disk = self._args.disk
        return [
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=device,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    encrypted="true",
                    kms_key_id=self._args.kms_key_arn,
                    volume_type="gp3",
                    volume_size=size,
                    delete_on_termination="true",
                ),
            )
            for device, size in ((ROOT_DEVICE, disk.root_volume_gb), (DATA_DEVICE, disk.data_volume_gb))
        ]

    def _user_data(self) -> str:
        return base64.b64encode(self._args.user_data.encode("utf-8")).decode("ascii")

    def _instance_role(
        self,
        who: str,
        archive_policy_arn: pulumi.Input[str] | None,
        archive_policy: pulumi.Resource | None,
        commune: str | None,
    ) -> aws.iam.InstanceProfile:
        tenancy, name = self._tenancy, self._tenancy.name
        role = aws.iam.Role(
            name("server-role", who),
            name=server_role_name(tenancy, who),
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            tags=tenancy.tags(name("server-role", who), commune=commune),
            opts=child(self),
        )
        attached = [RolePolicy("ssm", SSM_CORE)]
        if archive_policy_arn is not None:
            attached.append(RolePolicy("archive", archive_policy_arn, archive_policy))
        attached += self._args.role_policies.get(who, [])
        for policy in attached:
            aws.iam.RolePolicyAttachment(
                name("server-role", who, policy.label),
                role=role.name,
                policy_arn=policy.arn,
                opts=child(self, depends_on=[policy.resource] if policy.resource else []),
            )
        return aws.iam.InstanceProfile(
            name("server-profile", who),
            name=name("server", who),
            role=role.name,
            tags=tenancy.tags(name("server-profile", who), commune=commune),
            opts=child(self),
        )

    def _ingress(self, group: aws.ec2.SecurityGroup, label: str, port: int, **peer: Any) -> None:
        self._rule(aws.vpc.SecurityGroupIngressRule, group, label, port, **peer)

    def _egress(self, group: aws.ec2.SecurityGroup, label: str, port: int, **peer: Any) -> None:
        self._rule(aws.vpc.SecurityGroupEgressRule, group, label, port, **peer)

    def _rule(
        self,
        resource: Any,
        group: aws.ec2.SecurityGroup,
        label: str,
        port: int,
        *,
        what: str,
        cidr: str | None = None,
        peer: pulumi.Input[str] | None = None,
    ) -> None:
        """One TCP port, to or from a CIDR or a peer security group (ingress and egress alike)."""
        resource(
            self._tenancy.name(label),
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer,
            description=what,
            tags=self._tenancy.tags(self._tenancy.name(label)),
            opts=child(self),
        )
