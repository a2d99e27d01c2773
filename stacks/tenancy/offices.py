"""Commune offices: a site-to-site IPsec VPN (customer gateway + VPN connection) per office network
declared in environments/, terminating on one virtual private gateway attached to the tenancy VPC."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

import pulumi
import pulumi_aws as aws

from tenancy.context import Tenancy, child

AMAZON_SIDE_ASN = 64512
IKE = ["ikev2"]
ENCRYPTION = ["AES256-GCM-16"]
INTEGRITY = ["SHA2-384"]
DH_GROUPS = [20]


@dataclass(frozen=True)
class OfficeSite:
    commune: str
    gateway_ip: IPv4Address
    bgp_asn: int
    cidr: IPv4Network


@dataclass
class OfficesArgs:
    vpc_id: pulumi.Input[str]
    route_tables: dict[str, pulumi.Input[str]]  # label (app-a …, data) → route table id
    offices: list[OfficeSite] = field(default_factory=list)


class OfficeVpn(pulumi.ComponentResource):
    connections: dict[str, aws.ec2.VpnConnection]

    def __init__(
        self, tenancy: Tenancy, args: OfficesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:offices:OfficeVpn", tenancy.name("offices"), None, opts)
        name = tenancy.name
        self.connections = {}
        gateway = aws.ec2.VpnGateway(
            name("vgw"),
            vpc_id=args.vpc_id,
            amazon_side_asn=str(AMAZON_SIDE_ASN),
            tags=tenancy.tags(name("vgw")),
            opts=child(self),
        )
        for label, route_table_id in sorted(args.route_tables.items()):
            aws.ec2.VpnGatewayRoutePropagation(
                name("vgw-propagation", label),
                vpn_gateway_id=gateway.id,
                route_table_id=route_table_id,
                opts=child(self),
            )
        for office in sorted(args.offices, key=lambda o: o.commune):
            tags = tenancy.tags(name("office", office.commune), commune=office.commune)
            customer = aws.ec2.CustomerGateway(
                name("cgw", office.commune),
                bgp_asn=str(office.bgp_asn),
                ip_address=str(office.gateway_ip),
                type="ipsec.1",
                tags=tags,
                opts=child(self),
            )
            tunnel = {
                f"tunnel{n}_{key}": value
                for n in (1, 2)
                for key, value in (
                    ("ike_versions", IKE),
                    ("phase1_encryption_algorithms", ENCRYPTION),
                    ("phase2_encryption_algorithms", ENCRYPTION),
                    ("phase1_integrity_algorithms", INTEGRITY),
                    ("phase2_integrity_algorithms", INTEGRITY),
                    ("phase1_dh_group_numbers", DH_GROUPS),
                    ("phase2_dh_group_numbers", DH_GROUPS),
                )
            }
            connection = aws.ec2.VpnConnection(
                name("vpn", office.commune),
                vpn_gateway_id=gateway.id,
                customer_gateway_id=customer.id,
                type="ipsec.1",
                static_routes_only=True,
                remote_ipv4_network_cidr=str(office.cidr),
                tags=tags,
                opts=child(self),
                **tunnel,
            )
            aws.ec2.VpnConnectionRoute(
                name("vpn-route", office.commune),
                vpn_connection_id=connection.id,
                destination_cidr_block=str(office.cidr),
                opts=child(self),
            )
            self.connections[office.commune] = connection
        self.register_outputs({"offices": sorted(self.connections)})
