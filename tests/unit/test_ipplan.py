"""The IP plan never overlaps and never moves an allocation that is still needed."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamaa.errors import JamaaError
from jamaa.ipplan import PoolExhausted, allocate, region_network, upper_half

POOL = IPv4Network("10.71.128.0/17")
ids = st.sets(st.from_regex(r"c[0-9]{7}", fullmatch=True), max_size=60)


def assert_disjoint(allocation: dict[str, IPv4Network]) -> None:
    networks = sorted(allocation.values())
    assert all(not a.overlaps(b) for a, b in itertools.pairwise(networks))
    assert all(net.subnet_of(POOL) and net.prefixlen == 27 for net in networks)


@given(ids)
def test_allocations_never_overlap(keys: set[str]) -> None:
    assert_disjoint(allocate(POOL, 27, keys, {}))


@given(ids)
def test_the_same_needs_give_the_same_plan(keys: set[str]) -> None:
    assert allocate(POOL, 27, keys, {}) == allocate(POOL, 27, sorted(keys, reverse=True), {})


@settings(max_examples=200)
@given(ids, ids)
def test_adding_communes_moves_no_existing_allocation(first: set[str], added: set[str]) -> None:
    before = allocate(POOL, 27, first, {})
    after = allocate(POOL, 27, first | added, before)
    assert {key: after[key] for key in first} == before
    assert_disjoint(after)


@settings(max_examples=200)
@given(ids, ids, ids)
def test_removing_communes_moves_no_remaining_allocation(
    keep: set[str], drop: set[str], added: set[str]
) -> None:
    before = allocate(POOL, 27, keep | drop, {})
    after = allocate(POOL, 27, keep | added, before)
    assert {key: after[key] for key in keep} == {key: before[key] for key in keep}
    assert_disjoint(after)


def test_an_exhausted_pool_is_an_error() -> None:
    with pytest.raises(PoolExhausted, match=r"pool 10.0.0.0/30 has no free /32 left for"):
        allocate(IPv4Network("10.0.0.0/30"), 32, [f"c{i}" for i in range(5)], {})


def test_a_recorded_network_outside_the_pool_is_refused() -> None:
    with pytest.raises(JamaaError, match=r"c1: recorded network 10.9.0.0/27 is not a /27 of 10.71.128.0/17"):
        allocate(POOL, 27, ["c1"], {"c1": IPv4Network("10.9.0.0/27")})


def test_region_blocks_are_numbered_from_the_supernet() -> None:
    supernet = IPv4Network("10.64.0.0/12")
    assert region_network(supernet, 16, 1) == IPv4Network("10.65.0.0/16")
    assert region_network(supernet, 16, 12) == IPv4Network("10.76.0.0/16")
    assert upper_half(IPv4Network("10.71.0.0/16")) == IPv4Network("10.71.128.0/17")
    with pytest.raises(JamaaError, match=r"region number 16 does not fit 10.64.0.0/12"):
        region_network(supernet, 16, 16)
