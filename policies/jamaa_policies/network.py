# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Security groups, NACLs and VPCs: no world-open admin ports, locked defaults, flow logs everywhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.addresses import (
    DEFAULT_MAX_PREFIX_V4,
    DEFAULT_MAX_PREFIX_V6,
    AddressSet,
    all_ports,
    opened_ports,
)
from jamaa_policies.families import (
    DEFAULT_NACL,
    DEFAULT_SG,
    DEFAULT_VPC,
    FLOW_LOG,
    NACL,
    NACL_RULE,
    SECURITY_GROUP,
    SG_INGRESS_RULE,
    SG_RULE,
    VPC,
)
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    covered,
    each,
    get_path,
    known_or_none,
    label,
    number,
    resource_policy,
    stack_policy,
    truthy,
)
from jamaa_policies.settings import Settings

SG_ADMIN_PORTS = [
    # remote administration
    22, 23, 3389, 5900, 5985, 5986, 2375, 2376, 6443, 10250,
    # databases and data stores
    1433, 1521, 3306, 5432, 5984, 6379, 9042, 9200, 9300, 11211, 27017,
]  # fmt: skip


def _prefix_knobs() -> dict[str, dict[str, Any]]:
    return {
        "max_prefix_v4": {
            "type": "integer",
            "minimum": 0,
            "maximum": 32,
            "default": DEFAULT_MAX_PREFIX_V4,
            "description": "A set of IPv4 ranges whose public part is wider than a network of this prefix reaches the internet.",
        },
        "max_prefix_v6": {
            "type": "integer",
            "minimum": 0,
            "maximum": 128,
            "default": DEFAULT_MAX_PREFIX_V6,
            "description": "The same for IPv6 (a /48 is one site).",
        },
    }


def _sg_knobs(_settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "admin_ports": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 65535},
            "default": SG_ADMIN_PORTS,
            "description": (
                "Administration and database ports never open to the internet (SSH, Telnet, RDP, VNC, "
                "WinRM, Docker, Kubernetes; SQL Server, Oracle, MySQL, PostgreSQL, CouchDB, Redis, "
                "Cassandra, Elasticsearch, Memcached, MongoDB). A rule opening every port opens them all."
            ),
        },
        **_prefix_knobs(),
    }


def _nacl_knobs(_settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "admin_ports": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 65535},
            "default": [22, 23, 3389],
            "description": (
                "Remote administration ports never allowed in from the internet by a NACL (NACLs are "
                "stateless: the ephemeral range stays open for return traffic, so database ports are "
                "judged on the security groups)."
            ),
        },
        **_prefix_knobs(),
    }


def _world(sources: list[Any], config: Mapping[str, Any]) -> AddressSet | None:
    addresses = AddressSet.of(sources)
    if addresses and addresses.reaches_internet(int(config["max_prefix_v4"]), int(config["max_prefix_v6"])):
        return addresses
    return None


def _exposure(
    sources: list[Any], from_port: Any, to_port: Any, protocol: Any, config: Mapping[str, Any]
) -> str | None:
    """`opens port 22 from the internet (…)` when the sources reach the internet on an admin port."""
    addresses = _world(sources, config)
    if addresses is None:
        return None
    if all_ports(from_port, to_port, protocol):
        return f"opens every port (so {_ports(config['admin_ports'])}) from the internet ({addresses.describe()})"
    ports = opened_ports(from_port, to_port, protocol, config["admin_ports"])
    if not ports:
        return None
    return f"opens {_ports(ports)} from the internet ({addresses.describe()})"


def _ports(ports: Any) -> str:
    values = sorted({int(p) for p in ports})
    if len(values) == 1:
        return f"port {values[0]}"
    shown = ", ".join(str(p) for p in values[:8])
    return f"ports {shown}{' …' if len(values) > 8 else ''}"


def _sg_inline(rule: Any) -> list[Any]:
    return as_list(get_path(rule, "cidrBlocks")) + as_list(get_path(rule, "ipv6CidrBlocks"))


@resource_policy(
    name="sg-no-world-admin-ports",
    family="network",
    types=[SECURITY_GROUP, DEFAULT_SG],
    description="Security groups' inline ingress rules never open an administration or database port to the internet (any set of ranges whose union reaches it, IPv4 or IPv6).",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict the source to the management range or a security group; use SSM Session Manager instead of SSH.",
    config=_sg_knobs,
)
def sg_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    rules = as_list(args.props.get("ingress"))
    for position, rule in enumerate(rules):
        found = _exposure(
            _sg_inline(rule),
            get_path(rule, "fromPort"),
            get_path(rule, "toPort"),
            get_path(rule, "protocol"),
            config,
        )
        if found:
            report(f"ingress[{position}] {found}.")
    # split ranges: rules each narrower than the internet whose union is not
    for port, sources in _union_by_port(
        [
            (_sg_inline(r), get_path(r, "fromPort"), get_path(r, "toPort"), get_path(r, "protocol"))
            for r in rules
        ],
        config,
    ):
        report(f"Ingress rules together open port {port} from the internet ({sources.describe()}).")


def _union_by_port(
    rules: list[tuple[list[Any], Any, Any, Any]], config: Mapping[str, Any]
) -> Iterator[tuple[int, AddressSet]]:
    """Ports whose sources reach the internet only once several rules are taken together."""
    for port in sorted({int(p) for p in config["admin_ports"]}):
        covering = [r for r in rules if opened_ports(r[1], r[2], r[3], [port])]
        if len(covering) < 2 or any(_world(r[0], config) for r in covering):
            continue
        union = _world([s for r in covering for s in r[0]], config)
        if union is not None:
            yield port, union


@resource_policy(
    name="sg-rule-no-world-admin-ports",
    family="network",
    types=[SG_RULE],
    description="Security group rules never open an administration or database port to the internet.",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict cidrBlocks/ipv6CidrBlocks to the management range, or use sourceSecurityGroupId.",
    config=_sg_knobs,
)
def sg_rule_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    if args.props.get("type") != "ingress":
        return
    found = _exposure(
        _sg_inline(args.props),
        args.props.get("fromPort"),
        args.props.get("toPort"),
        args.props.get("protocol"),
        config,
    )
    if found:
        report(f"Ingress rule {found}.")


@resource_policy(
    name="sg-ingress-rule-no-world-admin-ports",
    family="network",
    types=[SG_INGRESS_RULE],
    description="VPC security group ingress rules never open an administration or database port to the internet.",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict cidrIpv4/cidrIpv6 to the management range, or use referencedSecurityGroupId.",
    config=_sg_knobs,
)
def sg_ingress_rule_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    found = _exposure(
        [args.props.get("cidrIpv4"), args.props.get("cidrIpv6")],
        args.props.get("fromPort"),
        args.props.get("toPort"),
        args.props.get("ipProtocol"),
        config,
    )
    if found:
        report(f"Ingress rule {found}.")


def _group_identifiers(group: PolicyResource) -> Iterator[Any]:
    for key in ("id", "name"):
        value = known_or_none(group.props, key)
        if value:
            yield value


@stack_policy(
    name="sg-union-no-world-admin-ports",
    family="network",
    types=[SECURITY_GROUP, DEFAULT_SG, SG_RULE, SG_INGRESS_RULE],
    description="The ingress rules of one security group, inline and separate resources together, never open an administration or database port to the internet (ranges split across rules are joined).",
    severity="critical",
    controls=["CLD-NET-001"],
    remediation="Restrict every ingress rule of the group to the management range or to security groups.",
    config=_sg_knobs,
)
def sg_union_no_world_admin_ports(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    groups = index.of_type(SECURITY_GROUP, DEFAULT_SG)
    members: dict[str, list[tuple[list[Any], Any, Any, Any]]] = {}
    names: dict[str, str] = {}
    for group in groups:
        names[group.urn] = label(group)
        members[group.urn] = [
            (_sg_inline(r), get_path(r, "fromPort"), get_path(r, "toPort"), get_path(r, "protocol"))
            for r in as_list(group.props.get("ingress"))
        ]

    def add(rule: PolicyResource) -> None:
        props = rule.props
        if rule.resource_type == SG_RULE:
            if props.get("type") != "ingress":
                return
            entry = (_sg_inline(props), props.get("fromPort"), props.get("toPort"), props.get("protocol"))
        else:
            entry = (
                [props.get("cidrIpv4"), props.get("cidrIpv6")],
                props.get("fromPort"),
                props.get("toPort"),
                props.get("ipProtocol"),
            )
        linked = index.targets(rule, "securityGroupId", groups, _group_identifiers)
        if linked:
            keys = [g.urn for g in linked]
        else:  # a group outside the stack: its rules of this stack, together
            keys = [f"group {props['securityGroupId']}"]
            names.setdefault(keys[0], keys[0])
        for key in keys:
            members.setdefault(key, []).append(entry)

    def report_unions() -> None:
        for key, rules in members.items():
            for port, union in _union_by_port(rules, config):
                report(
                    f"{names[key]}: its ingress rules together open port {port} from the internet ({union.describe()}).",
                    key if key.startswith("urn:") else None,
                )

    each(index.of_type(SG_RULE, SG_INGRESS_RULE), add, then=report_unions)


@resource_policy(
    name="nacl-no-world-admin-ports",
    family="network",
    types=[NACL],
    description="Network ACLs' inline ingress entries never allow a remote administration port from the internet.",
    severity="high",
    controls=["CLD-NET-002"],
    remediation="Allow admin ports only from the management range; deny the rest.",
    config=_nacl_knobs,
)
def nacl_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    allowed = []
    for position, entry in enumerate(as_list(args.props.get("ingress"))):
        if str(get_path(entry, "action")).lower() != "allow":
            continue
        sources = [get_path(entry, "cidrBlock"), get_path(entry, "ipv6CidrBlock")]
        ports = (get_path(entry, "fromPort"), get_path(entry, "toPort"), get_path(entry, "protocol"))
        allowed.append((sources, *ports))
        found = _exposure(sources, *ports, config)
        if found:
            report(f"NACL ingress[{position}] (rule {number(get_path(entry, 'ruleNo'))}) {found}.")
    for port, union in _union_by_port(allowed, config):
        report(f"NACL ingress entries together allow port {port} from the internet ({union.describe()}).")


@resource_policy(
    name="nacl-rule-no-world-admin-ports",
    family="network",
    types=[NACL_RULE],
    description="Network ACL rules never allow a remote administration port in from the internet.",
    severity="high",
    controls=["CLD-NET-002"],
    remediation="Allow admin ports only from the management range.",
    config=_nacl_knobs,
)
def nacl_rule_no_world_admin_ports(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    props = args.props
    if truthy(props.get("egress")) or str(props.get("ruleAction")).lower() != "allow":
        return
    found = _exposure(
        [props.get("cidrBlock"), props.get("ipv6CidrBlock")],
        props.get("fromPort"),
        props.get("toPort"),
        props.get("protocol"),
        config,
    )
    if found:
        report(f"NACL rule {number(props.get('ruleNumber'))} {found}.")


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

    def check(vpc: PolicyResource) -> None:
        logs = covered(index, vpc, flow_logs, "vpcId", _vpc_identifiers)
        if not logs:
            report(f"{label(vpc)} has no flow log.", vpc.urn)
        elif not any(log.props.get("trafficType") == "ALL" for log in logs):
            report(f"{label(vpc)}: no flow log captures ALL traffic.", vpc.urn)

    each(index.of_type(VPC), check)


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
