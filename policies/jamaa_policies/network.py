# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Security groups, NACLs and VPCs: no world-open admin ports, locked defaults, flow logs everywhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.framework import (
    WORLD_CIDRS,
    Deferred,
    StackIndex,
    as_list,
    covered,
    get_path,
    known_or_none,
    label,
    number,
    port_range_covers,
    resource_policy,
    stack_policy,
)
from jamaa_policies.settings import Settings

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
DEFAULT_VPC = "aws:ec2/defaultVpc:DefaultVpc"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"


def _admin_ports(_settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "admin_ports": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 65535},
            "default": [22, 3389],
            "description": (
                "Remote administration ports never open to the world (CIS: SSH 22, RDP 3389; add "
                "e.g. WinRM 5985/5986 where NACL rules do not need the ephemeral range)."
            ),
        }
    }


def _open_admin_ports(
    cidrs: list[Any], from_port: Any, to_port: Any, protocol: Any, config: Mapping[str, Any]
) -> Iterator[tuple[str, int]]:
    for cidr in cidrs:
        if cidr not in WORLD_CIDRS:
            continue
        for port in config["admin_ports"]:
            if port_range_covers(from_port, to_port, int(port), protocol):
                yield str(cidr), int(port)


def _world_message(what: str, findings: list[tuple[str, int]]) -> str:
    opened = ", ".join(f"port {port} from {cidr}" for cidr, port in findings)
    return f"{what} opens {opened}."


@resource_policy(
    name="sg-no-world-admin-ports",
    family="network",
    types=[SECURITY_GROUP],
    description="Security groups' inline ingress rules never open an admin port to 0.0.0.0/0 or ::/0.",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict the source to the management range or a security group; use SSM Session Manager instead of SSH.",
    config=_admin_ports,
)
def sg_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    for position, rule in enumerate(as_list(args.props.get("ingress"))):
        cidrs = as_list(get_path(rule, "cidrBlocks")) + as_list(get_path(rule, "ipv6CidrBlocks"))
        found = list(
            _open_admin_ports(
                cidrs,
                get_path(rule, "fromPort"),
                get_path(rule, "toPort"),
                get_path(rule, "protocol"),
                config,
            )
        )
        if found:
            report(_world_message(f"ingress[{position}]", found))


@resource_policy(
    name="sg-rule-no-world-admin-ports",
    family="network",
    types=[SG_RULE],
    description="Security group rules never open an admin port to 0.0.0.0/0 or ::/0.",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict cidrBlocks/ipv6CidrBlocks to the management range, or use sourceSecurityGroupId.",
    config=_admin_ports,
)
def sg_rule_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    if args.props.get("type") != "ingress":
        return
    cidrs = as_list(args.props.get("cidrBlocks")) + as_list(args.props.get("ipv6CidrBlocks"))
    found = list(
        _open_admin_ports(
            cidrs, args.props.get("fromPort"), args.props.get("toPort"), args.props.get("protocol"), config
        )
    )
    if found:
        report(_world_message("Ingress rule", found))


@resource_policy(
    name="sg-ingress-rule-no-world-admin-ports",
    family="network",
    types=[SG_INGRESS_RULE],
    description="VPC security group ingress rules never open an admin port to 0.0.0.0/0 or ::/0.",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict cidrIpv4/cidrIpv6 to the management range, or use referencedSecurityGroupId.",
    config=_admin_ports,
)
def sg_ingress_rule_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    cidrs = [args.props.get("cidrIpv4"), args.props.get("cidrIpv6")]
    found = list(
        _open_admin_ports(
            cidrs, args.props.get("fromPort"), args.props.get("toPort"), args.props.get("ipProtocol"), config
        )
    )
    if found:
        report(_world_message("Ingress rule", found))


@resource_policy(
    name="nacl-no-world-admin-ports",
    family="network",
    types=[NACL],
    description="Network ACLs' inline ingress entries never allow an admin port from 0.0.0.0/0 or ::/0.",
    severity="high",
    controls=["CLD-NET-002"],
    remediation="Allow admin ports only from the management range; deny the rest.",
    config=_admin_ports,
)
def nacl_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    for position, entry in enumerate(as_list(args.props.get("ingress"))):
        if str(get_path(entry, "action")).lower() != "allow":
            continue
        cidrs = [get_path(entry, "cidrBlock"), get_path(entry, "ipv6CidrBlock")]
        found = list(
            _open_admin_ports(
                cidrs,
                get_path(entry, "fromPort"),
                get_path(entry, "toPort"),
                get_path(entry, "protocol"),
                config,
            )
        )
        if found:
            report(
                _world_message(f"NACL ingress[{position}] (rule {number(get_path(entry, 'ruleNo'))})", found)
            )


@resource_policy(
    name="nacl-rule-no-world-admin-ports",
    family="network",
    types=[NACL_RULE],
    description="Network ACL rules never allow an admin port in from 0.0.0.0/0 or ::/0.",
    severity="high",
    controls=["CLD-NET-002"],
    remediation="Allow admin ports only from the management range.",
    config=_admin_ports,
)
def nacl_rule_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    props = args.props
    if props.get("egress") is True or str(props.get("ruleAction")).lower() != "allow":
        return
    cidrs = [props.get("cidrBlock"), props.get("ipv6CidrBlock")]
    found = list(
        _open_admin_ports(cidrs, props.get("fromPort"), props.get("toPort"), props.get("protocol"), config)
    )
    if found:
        report(_world_message(f"NACL rule {number(props.get('ruleNumber'))}", found))


@resource_policy(
    name="default-security-group-no-rules",
    family="network",
    types=[DEFAULT_SG],
    description="The default security group of every VPC has no ingress and no egress rule.",
    severity="high",
    controls=["CLD-NET-003"],
    remediation="Manage the default security group with aws.ec2.DefaultSecurityGroup and empty ingress/egress.",
)
def default_sg_no_rules(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    ingress = as_list(args.props.get("ingress"))
    egress = as_list(args.props.get("egress"))
    if ingress or egress:
        report(f"Default security group keeps {len(ingress)} ingress and {len(egress)} egress rule(s).")


@resource_policy(
    name="default-nacl-no-rules",
    family="network",
    types=[DEFAULT_NACL],
    description="The default network ACL of every VPC has no rule (it denies everything).",
    severity="medium",
    controls=["CLD-NET-003"],
    remediation="Manage it with aws.ec2.DefaultNetworkAcl and empty ingress/egress; give each tier its own NACL.",
)
def default_nacl_no_rules(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    ingress = as_list(args.props.get("ingress"))
    egress = as_list(args.props.get("egress"))
    if ingress or egress:
        report(f"Default network ACL keeps {len(ingress)} ingress and {len(egress)} egress rule(s).")


@resource_policy(
    name="no-default-vpc",
    family="network",
    types=[DEFAULT_VPC],
    description="Programs never adopt or use the account's default VPC.",
    severity="high",
    controls=["CLD-NET-005"],
    remediation="Build a VPC from the national IP plan (aws.ec2.Vpc) and delete the default VPC.",
)
def no_default_vpc(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    report("The program manages the default VPC; tenancies use their own VPC from the IP plan.")


def _vpc_identifiers(vpc: PolicyResource) -> Iterator[Any]:
    value = known_or_none(vpc.props, "id")
    if value:
        yield value


@stack_policy(
    name="vpc-flow-logs",
    family="network",
    description="Every VPC has a flow log capturing ALL traffic.",
    severity="high",
    controls=["CLD-NET-004"],
    remediation="Add an aws.ec2.FlowLog with vpcId=<vpc>.id and trafficType ALL (to the log bucket or CloudWatch Logs).",
)
def vpc_flow_logs(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    index = StackIndex(args.resources)
    flow_logs = index.of_type(FLOW_LOG)
    later = Deferred()
    for vpc in index.of_type(VPC):

        def check(vpc: PolicyResource = vpc) -> None:
            logs = covered(index, vpc, flow_logs, "vpcId", _vpc_identifiers)
            if not logs:
                report(f"{label(vpc)} has no flow log.", vpc.urn)
            elif not any(log.props.get("trafficType") == "ALL" for log in logs):
                report(f"{label(vpc)}: no flow log captures ALL traffic.", vpc.urn)

        later.attempt(check)
    later.finish()


@resource_policy(
    name="flow-log-all-traffic",
    family="network",
    types=[FLOW_LOG],
    description="Flow logs capture ALL traffic (accepted and rejected).",
    severity="medium",
    controls=["CLD-NET-004"],
    remediation="Set trafficType to ALL.",
)
def flow_log_all_traffic(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    traffic = args.props.get("trafficType")
    if traffic != "ALL":
        report(f"Flow log trafficType is {traffic!r}, not 'ALL'.")
