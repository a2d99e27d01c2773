"""The tenancy network: a VPC from the national IP plan, three subnet tiers over the environment's
AZs, locked defaults, explicit NACLs, flow logs and VPC endpoints (no internet path to AWS APIs).

Layout (deterministic, from `jamaa.ipplan`): the region's /16 is split in halves; the lower half
holds the tiers (each tier a /19, each AZ a /21 of it: public, app, data), the upper half the
dedicated commune slices recorded in environments/ipam.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_aws as aws

from jamaa import ipplan
from tenancy.context import Tenancy, assume_role_policy, child, policy_json

TIERS = ("public", "app", "data")
INTERFACE_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages", "kms", "logs")
POSTGRES_PORT = 5432
# 3389 (RDP) is kept out of the ephemeral return range so no NACL admits 0.0.0.0/0 to an admin port.
EPHEMERAL_RANGES = ((1024, 3388), (3390, 65535))


@dataclass
class NetworkArgs:
    cidr: IPv4Network
    availability_zones: int
    nat_per_az: bool
    flow_log_bucket_arn: str
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    management_cidr: IPv4Network
    office_supernet: IPv4Network
    dedicated: dict[str, IPv4Network] = field(default_factory=dict)  # commune id → slice


def tier_networks(cidr: IPv4Network, azs: int) -> dict[str, list[IPv4Network]]:
    """Per tier, one /21 per AZ: tiers are /19s of the lower half of the region's block."""
    tier_blocks = list(ipplan.tier_space(cidr).subnets(new_prefix=19))
    return {tier: list(tier_blocks[index].subnets(new_prefix=21))[:azs] for index, tier in enumerate(TIERS)}


def tier_block(cidr: IPv4Network, tier: str) -> IPv4Network:
    return list(ipplan.tier_space(cidr).subnets(new_prefix=19))[TIERS.index(tier)]


def slice_index(cidr: IPv4Network, slice_: IPv4Network) -> int:
    """A dedicated slice's position in the region's pool: recorded in the ledger, it never moves."""
    pool = ipplan.upper_half(cidr)
    return (int(slice_.network_address) - int(pool.network_address)) // slice_.num_addresses


def az_of_slice(cidr: IPv4Network, slice_: IPv4Network, azs: int) -> int:
    """A dedicated slice's AZ, from its stable position in the pool."""
    return slice_index(cidr, slice_) % azs


def _acl_rule(rule_no: int, protocol: str, cidr: str, ports: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    return {
        "rule_no": rule_no,
        "action": "allow",
        "protocol": protocol,
        "cidr_block": cidr,
        "from_port": ports[0],
        "to_port": ports[1],
    }


class TenancyNetwork(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    subnets: dict[str, list[aws.ec2.Subnet]]
    dedicated_subnets: dict[str, aws.ec2.Subnet]
    app_route_tables: list[aws.ec2.RouteTable]
    data_route_table: aws.ec2.RouteTable

    def __init__(
        self, tenancy: Tenancy, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:network:TenancyNetwork", tenancy.name("network"), None, opts)
        name = tenancy.name
        region = tenancy.aws_region
        cidr = args.cidr
        azs = [f"{region}{letter}" for letter in "abcdef"[: args.availability_zones]]

        self.vpc = aws.ec2.Vpc(
            name("vpc"),
            cidr_block=str(cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tenancy.tags(name("vpc")),
            opts=child(self),
        )
        vpc_id = self.vpc.id
        # The default security group and NACL exist in every VPC: take them over with no rules.
        aws.ec2.DefaultSecurityGroup(
            name("default-sg"), vpc_id=vpc_id, tags=tenancy.tags(name("default-sg-locked")), opts=child(self)
        )
        aws.ec2.DefaultNetworkAcl(
            name("default-nacl"),
            default_network_acl_id=self.vpc.default_network_acl_id,
            tags=tenancy.tags(name("default-nacl-locked")),
            opts=child(self),
        )

        self.subnets = {}
        for tier, networks in tier_networks(cidr, args.availability_zones).items():
            self.subnets[tier] = [
                aws.ec2.Subnet(
                    name(tier, az[-1]),
                    vpc_id=vpc_id,
                    cidr_block=str(network),
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**tenancy.tags(name(tier, az[-1])), "jamaa:tier": tier},
                    opts=child(self),
                )
                for az, network in zip(azs, networks, strict=True)
            ]
        self.dedicated_subnets = {
            commune: aws.ec2.Subnet(
                name("dedicated", commune),
                vpc_id=vpc_id,
                cidr_block=str(slice_),
                availability_zone=azs[az_of_slice(cidr, slice_, len(azs))],
                map_public_ip_on_launch=False,
                tags={**tenancy.tags(name("dedicated", commune), commune=commune), "jamaa:tier": "app"},
                opts=child(self),
            )
            for commune, slice_ in sorted(args.dedicated.items())
        }

        # Internet egress for updates: public tier → IGW; app tier → NAT (one per AZ in prod).
        igw = aws.ec2.InternetGateway(
            name("igw"), vpc_id=vpc_id, tags=tenancy.tags(name("igw")), opts=child(self)
        )
        public_rt = aws.ec2.RouteTable(
            name("rt-public"), vpc_id=vpc_id, tags=tenancy.tags(name("rt-public")), opts=child(self)
        )
        aws.ec2.Route(
            name("rt-public-default"),
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child(self),
        )
        nat_count = len(azs) if args.nat_per_az else 1
        nats = []
        for index in range(nat_count):
            az = azs[index][-1]
            eip = aws.ec2.Eip(
                name("nat-eip", az), domain="vpc", tags=tenancy.tags(name("nat-eip", az)), opts=child(self)
            )
            nats.append(
                aws.ec2.NatGateway(
                    name("nat", az),
                    allocation_id=eip.allocation_id,
                    subnet_id=self.subnets["public"][index].id,
                    tags=tenancy.tags(name("nat", az)),
                    opts=child(self, depends_on=[igw]),
                )
            )
        self.app_route_tables = []
        for index, az in enumerate(azs):
            rt = aws.ec2.RouteTable(
                name("rt-app", az[-1]),
                vpc_id=vpc_id,
                tags=tenancy.tags(name("rt-app", az[-1])),
                opts=child(self),
            )
            aws.ec2.Route(
                name("rt-app", az[-1], "default"),
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[index % nat_count].id,
                opts=child(self),
            )
            self.app_route_tables.append(rt)
        # The data tier has no route out of the VPC at all.
        self.data_route_table = aws.ec2.RouteTable(
            name("rt-data"), vpc_id=vpc_id, tags=tenancy.tags(name("rt-data")), opts=child(self)
        )
        for tier in TIERS:
            for index, subnet in enumerate(self.subnets[tier]):
                table = {
                    "public": public_rt,
                    "app": self.app_route_tables[index],
                    "data": self.data_route_table,
                }
                aws.ec2.RouteTableAssociation(
                    name("rta", tier, azs[index][-1]),
                    subnet_id=subnet.id,
                    route_table_id=table[tier].id,
                    opts=child(self),
                )
        for commune, subnet in self.dedicated_subnets.items():
            az_index = az_of_slice(cidr, args.dedicated[commune], len(azs))
            aws.ec2.RouteTableAssociation(
                name("rta", "dedicated", commune),
                subnet_id=subnet.id,
                route_table_id=self.app_route_tables[az_index].id,
                opts=child(self),
            )

        self._nacls(tenancy, args)
        self._flow_logs(tenancy, args)
        self._endpoints(tenancy, args)
        self.register_outputs({"vpc_id": vpc_id, "cidr": str(cidr)})

    def _nacls(self, tenancy: Tenancy, args: NetworkArgs) -> None:
        name = tenancy.name
        vpc_cidr = str(args.cidr)
        app_block = str(tier_block(args.cidr, "app"))
        dedicated_pool = str(ipplan.upper_half(args.cidr))
        internet_return = [
            _acl_rule(200 + 10 * i, "tcp", "0.0.0.0/0", ports) for i, ports in enumerate(EPHEMERAL_RANGES)
        ]
        everything_out = [_acl_rule(100, "-1", "0.0.0.0/0")]
        rules: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]] = {
            "public": (
                [
                    _acl_rule(100, "tcp", vpc_cidr, (0, 65535)),
                    _acl_rule(110, "udp", vpc_cidr, (0, 65535)),
                    *internet_return,
                ],
                everything_out,
                self.subnets["public"],
            ),
            "app": (
                [
                    _acl_rule(100, "tcp", vpc_cidr, (0, 65535)),
                    _acl_rule(110, "udp", vpc_cidr, (0, 65535)),
                    _acl_rule(120, "tcp", str(args.office_supernet), (443, 443)),
                    _acl_rule(130, "tcp", str(args.management_cidr), (22, 22)),
                    _acl_rule(140, "tcp", str(args.management_cidr), (9100, 9100)),
                    *internet_return,
                ],
                everything_out,
                [*self.subnets["app"], *self.dedicated_subnets.values()],
            ),
            "data": (
                [
                    _acl_rule(100, "tcp", app_block, (POSTGRES_PORT, POSTGRES_PORT)),
                    _acl_rule(110, "tcp", dedicated_pool, (POSTGRES_PORT, POSTGRES_PORT)),
                ],
                [
                    _acl_rule(100, "tcp", app_block, (1024, 65535)),
                    _acl_rule(110, "tcp", dedicated_pool, (1024, 65535)),
                ],
                self.subnets["data"],
            ),
        }
        for tier, (ingress, egress, subnets) in rules.items():
            aws.ec2.NetworkAcl(
                name("nacl", tier),
                vpc_id=self.vpc.id,
                subnet_ids=[subnet.id for subnet in subnets],
                ingress=[aws.ec2.NetworkAclIngressArgs(**rule) for rule in ingress],
                egress=[aws.ec2.NetworkAclEgressArgs(**rule) for rule in egress],
                tags={**tenancy.tags(name("nacl", tier)), "jamaa:tier": tier},
                opts=child(self),
            )

    def _flow_logs(self, tenancy: Tenancy, args: NetworkArgs) -> None:
        name = tenancy.name
        group_name = f"/jamaa/{tenancy.prefix}/vpc-flow-logs"
        group_arn = tenancy.log_group_arn(group_name)
        role_name = name("vpc-flow-logs")
        log_group = aws.cloudwatch.LogGroup(
            name("flow-logs"),
            name=group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tenancy.tags(name("flow-logs")),
            opts=child(self),
        )
        role = aws.iam.Role(
            name("flow-logs-role"),
            name=role_name,
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", tenancy.account_id),
            tags=tenancy.tags(name("flow-logs-role")),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            name("flow-logs-role-policy"),
            role=role.id,
            policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        "Resource": f"{group_arn}:*",
                    }
                ]
            ),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            name("flow-log-cwl"),
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group_arn,
            iam_role_arn=tenancy.role_arn(role_name),
            max_aggregation_interval=60,
            tags=tenancy.tags(name("flow-log-cwl")),
            opts=child(self, depends_on=[log_group, role]),
        )
        aws.ec2.FlowLog(
            name("flow-log-s3"),
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="s3",
            log_destination=f"{args.flow_log_bucket_arn}/vpc-flow-logs/",
            max_aggregation_interval=600,
            tags=tenancy.tags(name("flow-log-s3")),
            opts=child(self),
        )

    def _endpoints(self, tenancy: Tenancy, args: NetworkArgs) -> None:
        name = tenancy.name
        region = tenancy.aws_region
        aws.ec2.VpcEndpoint(
            name("vpce-s3"),
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in [*self.app_route_tables, self.data_route_table]],
            tags=tenancy.tags(name("vpce-s3")),
            opts=child(self),
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            name("vpce-sg"),
            name=name("vpc-endpoints"),
            description="Interface endpoints: HTTPS from inside the VPC only",
            vpc_id=self.vpc.id,
            tags=tenancy.tags(name("vpce-sg")),
            opts=child(self),
        )
        aws.vpc.SecurityGroupIngressRule(
            name("vpce-sg-https"),
            security_group_id=endpoint_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=str(args.cidr),
            description="HTTPS to AWS APIs from the tenancy",
            tags=tenancy.tags(name("vpce-sg-https")),
            opts=child(self),
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                name("vpce", service),
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in self.subnets["app"]],
                security_group_ids=[endpoint_sg.id],
                tags=tenancy.tags(name("vpce", service)),
                opts=child(self),
            )
