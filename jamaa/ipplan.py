"""The national IP plan: deterministic, non-overlapping networks that never move once allocated.

A region's /16 is fixed by its number (MA-07 is the 7th /16 of the supernet). Commune slices (for
dedicated servers and for office VPNs) are drawn from pools and recorded in a ledger
(`environments/ipam.yaml`): an allocation, once recorded, is kept for as long as its commune needs
it, whatever is added or removed around it. New needs take the lowest free slot, in id order, so
the same ledger and the same needs always give the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network

from jamaa.errors import JamaaError


class PoolExhausted(JamaaError):
    """No free slot is left in a pool."""


def region_network(supernet: IPv4Network, region_prefix: int, region_number: int) -> IPv4Network:
    """The region's block: the `region_number`-th subnet of the supernet (0 stays national)."""
    blocks = 2 ** (region_prefix - supernet.prefixlen)
    if not 1 <= region_number < blocks:
        raise JamaaError(
            f"region number {region_number} does not fit {supernet} split into /{region_prefix} "
            f"({blocks - 1} region blocks)"
        )
    return IPv4Network(
        (int(supernet.network_address) + region_number * 2 ** (32 - region_prefix), region_prefix)
    )


def upper_half(network: IPv4Network) -> IPv4Network:
    """The upper half of a network (the pool for dedicated commune slices in a region)."""
    return list(network.subnets(prefixlen_diff=1))[1]


def tier_space(network: IPv4Network) -> IPv4Network:
    """The lower half of a region's block: where the tenancy's subnet tiers live."""
    return next(iter(network.subnets(prefixlen_diff=1)))


def allocate(
    pool: IPv4Network,
    prefix: int,
    keys: Iterable[str],
    existing: Mapping[str, IPv4Network],
) -> dict[str, IPv4Network]:
    """Give every key a /prefix slice of `pool`.

    Keys already in `existing` keep their slice (it must lie in the pool); others take the lowest
    free slice, in sorted key order. Slices of keys no longer wanted are released.
    """
    if prefix < pool.prefixlen:
        raise JamaaError(f"cannot cut /{prefix} slices from {pool}")
    wanted = sorted(set(keys))
    result: dict[str, IPv4Network] = {}
    taken: set[IPv4Network] = set()
    for key in wanted:
        if key in existing:
            network = existing[key]
            if network.prefixlen != prefix or not network.subnet_of(pool):
                raise JamaaError(f"{key}: recorded network {network} is not a /{prefix} of {pool}")
            if network in taken:
                raise JamaaError(f"{key}: recorded network {network} is already allocated")
            result[key] = network
            taken.add(network)
    free = (net for net in pool.subnets(new_prefix=prefix) if net not in taken)
    for key in wanted:
        if key not in result:
            slot = next(free, None)
            if slot is None:
                raise PoolExhausted(f"pool {pool} has no free /{prefix} left for {key}")
            result[key] = slot
    return result
