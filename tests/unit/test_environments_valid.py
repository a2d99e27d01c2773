"""The shipped environments are valid and say what the design says."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Network

from jamaa.config import REGION_CODES, load_environments
from jamaa.paths import REPO


def test_the_shipped_environments_load() -> None:
    envs = load_environments(REPO / "environments")
    assert sorted(envs.regions) == list(REGION_CODES)
    assert {"prod", "staging", "lab"} <= set(envs.environments)


def test_hosting_defaults_follow_the_design() -> None:
    hosting = load_environments(REPO / "environments").national.hosting
    assert hosting.primary_region == "eu-south-2"
    assert hosting.dr_region == "eu-west-3"
    assert hosting.primary_region in hosting.allowed_regions


def test_every_region_has_communes_and_official_names() -> None:
    envs = load_environments(REPO / "environments")
    per_region = Counter(c.region for c in envs.communes.values())
    assert set(per_region) == set(REGION_CODES)
    assert sum(per_region.values()) == 1540
    assert envs.regions["MA-07"].name_fr == "Marrakech-Safi"
    assert all("(EH)" not in r.name_fr and r.name_ar for r in envs.regions.values())


def test_region_networks_are_the_nth_block_of_the_supernet_and_never_overlap() -> None:
    envs = load_environments(REPO / "environments")
    networks = [envs.region_network(code) for code in REGION_CODES]
    assert networks[6] == IPv4Network("10.71.0.0/16")
    for index, network in enumerate(networks):
        assert all(not network.overlaps(other) for other in networks[index + 1 :])


def test_stacks_are_every_region_times_environment_plus_the_lab() -> None:
    envs = load_environments(REPO / "environments")
    names = envs.region_stack_names()
    assert "ma-07-prod" in names and "ma-12-staging" in names and "lab" in names
    assert len(names) == 25
    assert envs.stack_names() == ["org", "log-archive", "security", *names]
    lab = envs.stack("lab")
    assert lab.region.code == "MA-07" and lab.environment.name == "lab"
    assert envs.stack("ma-03-staging").region.code == "MA-03"
