"""Address sets: whether a set of CIDR ranges, taken together, reaches the internet.

A rule is judged on what its ranges mean, not how they are spelled: `0.0.0.0/0`, `0.0.0.0/1` +
`128.0.0.0/1`, a list of /8s or `::/0` all reach the internet. The public part of a set is its
union (`ipaddress.collapse_addresses`) minus the ranges that are not routable on the internet
(private, shared, loopback, link-local, multicast, reserved; for IPv6 everything outside 2000::/3
and the unique-local and documentation ranges). A set is "the world" when that public part is wider
than one network an operator could own for administration: more addresses than a /16 in IPv4 or a
/48 in IPv6 (configurable per policy).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_ROUTED_V4 = tuple(
    ipaddress.collapse_addresses(
        ipaddress.IPv4Network(n)
        for n in (
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
        )
    )
)
GLOBAL_V6 = ipaddress.IPv6Network("2000::/3")
NOT_ROUTED_IN_GLOBAL_V6 = tuple(
    ipaddress.collapse_addresses(ipaddress.IPv6Network(n) for n in ("2001:db8::/32", "2002::/16"))
)
IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

DEFAULT_MAX_PREFIX_V4 = 16
DEFAULT_MAX_PREFIX_V6 = 48


def parse(value: Any) -> IPNetwork | None:
    """A CIDR (or a bare address) as a network; None when it is not one (a prefix-list id, None)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _overlap(networks: Iterable[IPNetwork], excluded: Iterable[IPNetwork]) -> int:
    """Addresses of `networks` (collapsed) inside `excluded` (collapsed): CIDR blocks nest or are disjoint."""
    total = 0
    for network in networks:
        for other in excluded:
            if network.version != other.version:
                continue
            if other.subnet_of(network):  # type: ignore[arg-type]
                total += other.num_addresses
            elif network.subnet_of(other):  # type: ignore[arg-type]
                total += network.num_addresses
    return total


@dataclass(frozen=True)
class AddressSet:
    """The union of a rule's (or several rules') source ranges, with its public size per family."""

    v4: tuple[ipaddress.IPv4Network, ...]
    v6: tuple[ipaddress.IPv6Network, ...]

    @classmethod
    def of(cls, values: Iterable[Any]) -> AddressSet:
        v4: list[ipaddress.IPv4Network] = []
        v6: list[ipaddress.IPv6Network] = []
        for value in values:
            network = parse(value)
            if isinstance(network, ipaddress.IPv4Network):
                v4.append(network)
            elif isinstance(network, ipaddress.IPv6Network):
                if network.subnet_of(IPV4_MAPPED):  # ::ffff:a.b.c.d/n: the IPv4 addresses it maps
                    mapped = network.network_address.ipv4_mapped
                    if mapped is not None:
                        v4.append(ipaddress.IPv4Network((mapped, network.prefixlen - 96)))
                v6.append(network)
        return cls(tuple(ipaddress.collapse_addresses(v4)), tuple(ipaddress.collapse_addresses(v6)))

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    def public_v4(self) -> int:
        total = sum(n.num_addresses for n in self.v4)
        return total - _overlap(self.v4, NOT_ROUTED_V4)

    def public_v6(self) -> int:
        # the part of each range inside 2000::/3 (a range either nests in it or contains it)
        parts = [
            n if n.subnet_of(GLOBAL_V6) else GLOBAL_V6
            for n in self.v6
            if n.subnet_of(GLOBAL_V6) or GLOBAL_V6.subnet_of(n)
        ]
        return sum(n.num_addresses for n in parts) - _overlap(parts, NOT_ROUTED_IN_GLOBAL_V6)

    def reaches_internet(
        self, max_prefix_v4: int = DEFAULT_MAX_PREFIX_V4, max_prefix_v6: int = DEFAULT_MAX_PREFIX_V6
    ) -> bool:
        """True when the public part is wider than a /max_prefix network (IPv4 or IPv6)."""
        return self.public_v4() > 2 ** (32 - max_prefix_v4) or self.public_v6() > 2 ** (128 - max_prefix_v6)

    def describe(self) -> str:
        shown = [str(n) for n in (*self.v4, *self.v6)]
        text = ", ".join(shown[:4]) + (f" (+{len(shown) - 4} more)" if len(shown) > 4 else "")
        return text or "(none)"


# --- ports ---------------------------------------------------------------------------------------

ALL_PROTOCOLS = ("-1", "all")
PORT_PROTOCOLS = ("tcp", "udp", "6", "17")
ICMP = ("icmp", "1", "icmpv6", "58")


def _protocol(value: Any) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text.endswith(".0"):
        text = text[:-2]
    return text


def opened_ports(from_port: Any, to_port: Any, protocol: Any, ports: Iterable[int]) -> list[int]:
    """Which of `ports` a rule opens: every one for all protocols (-1), those in its range for TCP/UDP
    (and for an unrecognised protocol number, conservatively), none for ICMP."""
    proto = _protocol(protocol)
    wanted = sorted({int(p) for p in ports})
    if proto in ALL_PROTOCOLS:
        return wanted
    if proto in ICMP:
        return []
    try:
        low, high = int(float(from_port)), int(float(to_port))
    except (TypeError, ValueError):
        return []
    if proto not in PORT_PROTOCOLS and (low, high) in ((0, 0), (-1, -1)):
        return wanted  # another IP protocol: no ports, the whole protocol is open
    return [p for p in wanted if low <= p <= high]


def all_ports(from_port: Any, to_port: Any, protocol: Any) -> bool:
    """True when a rule opens every port (protocol -1, or 0-65535 / 1-65535)."""
    if _protocol(protocol) in ALL_PROTOCOLS:
        return True
    try:
        low, high = int(float(from_port)), int(float(to_port))
    except (TypeError, ValueError):
        return False
    return low <= 1 and high >= 65535
