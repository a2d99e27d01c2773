"""What each server declares to the LAN: its open TCP ports and the services it runs.

Declared, not observed: the numbers come from the inventory (the same variables the roles read), so a
port that answers without being declared is a finding.
"""

from __future__ import annotations

from typing import Any

SERVICE_PORTS: dict[str, set[int]] = {"nginx": {80, 443}}


def runs_service(target: Any, service: str) -> bool:
    """A server runs a service when its inventory puts it in that service's group or lists it."""
    services = target.hostvars.get("jamaa_services", [])
    return service in target.groups or service in services


def declared_tcp_ports(target: Any) -> set[int]:
    explicit = target.hostvars.get("jamaa_exposed_tcp_ports")
    if explicit is not None:
        return {int(p) for p in explicit}
    ports = {22}
    for service, numbers in SERVICE_PORTS.items():
        if runs_service(target, service):
            ports |= numbers
    return ports
