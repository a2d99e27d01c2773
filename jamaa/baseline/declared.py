"""What each server declares to the LAN: the ports the attacker may see, and the services it runs.

Declared, not observed: the values come from the same variables the roles read (the firewall's
management ranges and service rules, `jamaa_context`'s roles per host), so a port that answers
without being declared for the attacker's address is a finding.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from jamaa.baseline import hostchecks
from jamaa.baseline.hostchecks import HostContext, setting

FIREWALL = "nftables_firewall"


def context(target: Any) -> HostContext:
    return HostContext(name=target.name, groups=list(target.groups), hostvars=dict(target.hostvars))


def runs_role(target: Any, role: str) -> bool:
    return hostchecks.runs_role(context(target), role)


def _covers(sources: list[str], address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(str(s), strict=False) for s in sources if ":" not in str(s)) or any(
        ip.version == 6 and ip in ipaddress.ip_network(str(s), strict=False) for s in sources if ":" in str(s)
    )


def declared_tcp_ports(target: Any, attacker_ip: str) -> set[int]:
    """TCP ports the firewall declares open to `attacker_ip` (SSH if it is a management address)."""
    ctx = context(target)
    if not runs_role(target, FIREWALL):
        return set()
    ports: set[int] = set()
    if _covers(list(setting(ctx, FIREWALL, "nftables_firewall_management_cidrs") or []), attacker_ip):
        ports.add(int(setting(ctx, FIREWALL, "nftables_firewall_ssh_port") or 22))
    for service in setting(ctx, FIREWALL, "nftables_firewall_services") or []:
        if service.get("proto") == "tcp" and _covers(list(service.get("sources", [])), attacker_ip):
            ports |= {int(p) for p in service.get("ports", [])}
    return ports


def site_name(target: Any) -> str:
    """A name the server's nginx serves (its first commune's site), for SNI: unknown names are refused."""
    ctx = context(target)
    communes = list(ctx.var("jamaa_communes", []))
    domain = setting(ctx, "nginx", "nginx_domain")
    return f"{communes[0]}.{domain}" if communes and domain else target.ip
