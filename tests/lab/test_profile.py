"""The lab profile model: the shipped profiles load; bad input names file, field and reason (exit 2)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jamaa.errors import ConfigError
from jamaa.lab.profile import load_named_profile, load_profile, profile_path
from jamaa.paths import REPO

ENVIRONMENTS = REPO / "environments"
CATALOGUE = ENVIRONMENTS / "catalog" / "communes.csv"


@pytest.mark.parametrize("name", ["default", "bookworm", "containers"])
def test_shipped_profiles_load(name: str) -> None:
    profile = load_named_profile(ENVIRONMENTS, name)
    assert profile.name == name
    assert profile.lan.cidr.subnet_of(__import__("ipaddress").ip_network("192.168.0.0/16"))


def test_default_profile_hosts_and_groups() -> None:
    profile = load_named_profile(ENVIRONMENTS)
    assert profile.suite == "trixie"
    groups = {h.name: h.ansible_groups for h in profile.hosts}
    assert groups == {
        "srv-01": ["commune_servers", "containers"],
        "srv-02": ["commune_servers", "containers"],
        "vm-01": ["commune_servers", "vms"],
        "attacker": ["attackers"],
    }
    assert [h.name for h in profile.vms] == ["vm-01"]
    # Debian 12 and 13 in every run: srv-02 runs bookworm, the others the profile's trixie
    assert {h.name: profile.suite_of(h) for h in profile.hosts} == {
        "srv-01": "trixie",
        "srv-02": "bookworm",
        "vm-01": "trixie",
        "attacker": "trixie",
    }
    assert profile.suites == ["trixie", "bookworm"]
    bookworm = profile.for_suite("bookworm")
    assert (bookworm.suite, [h.name for h in bookworm.hosts]) == ("bookworm", ["srv-02"])
    assert not bookworm.vms and not bookworm.needs_attacker_layer
    assert not profile.host("attacker").has_way_out
    assert profile.host("srv-01").has_way_out
    assert {"auditd", "aide", "nftables"} <= set(profile.image.vm_packages)


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load((ENVIRONMENTS / "lab" / "profile.yaml").read_text())
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_profile(path, catalogue=CATALOGUE)
    return caught.value.problems


def test_duplicate_host_name(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hosts"][1].update(name="srv-01"))
    assert _problems(path) == [f"{path}: hosts: host name 'srv-01' is used twice"]


def test_address_outside_the_lan(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hosts"][2].update(lan_ip="10.64.0.5"))
    assert _problems(path) == [f"{path}: hosts.2.lan_ip: 10.64.0.5 is not a host address of 192.168.77.0/24"]


def test_address_used_twice(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hosts"][3].update(lan_ip="192.168.77.1"))
    assert _problems(path) == [f"{path}: hosts.3.lan_ip: 192.168.77.1 is already used by lan.service_ip"]


def test_attacker_must_be_a_container(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hosts"][3].update(kind="vm"))
    assert _problems(path) == [f"{path}: hosts.3: an attacker is a container (it only needs the LAN)"]


def test_unknown_field_and_bad_suite(tmp_path: Path) -> None:
    def mutate(d: dict[str, object]) -> None:
        d["suite"] = "sid"
        d["hosts"][0]["colour"] = "blue"  # type: ignore[index]

    problems = _problems(_write(tmp_path, mutate))
    assert any(p.endswith("suite: Input should be 'trixie' or 'bookworm'") for p in problems)


def test_a_host_suite_outside_debian_12_and_13_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hosts"][1].update(suite="bullseye"))
    assert _problems(path) == [f"{path}: hosts.1.suite: Input should be 'trixie' or 'bookworm'"]


def test_bad_package_name(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["image"].update(vm_packages=["auditd; rm -rf /"]))
    assert _problems(path)[0].startswith(f"{path}: image.vm_packages.0: String should match pattern")


def test_unknown_commune(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hosts"][0].update(communes=["c0410101", "c9999999"]))
    assert _problems(path) == [f"{path}: hosts.0.communes.1: unknown commune 'c9999999' (not in {CATALOGUE})"]


def test_profile_names() -> None:
    assert profile_path(ENVIRONMENTS, "default").name == "profile.yaml"
    assert profile_path(ENVIRONMENTS, "bookworm").name == "profile.bookworm.yaml"
    with pytest.raises(ConfigError, match=r"--profile: '\.\./x'"):
        profile_path(ENVIRONMENTS, "../x")


def test_cli_bad_profile_exits_2_with_one_line(tmp_path: Path) -> None:
    shutil.copytree(ENVIRONMENTS / "catalog", tmp_path / "catalog")
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "profile.yaml").write_text("name: default\nhosts: []\n")
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "lab", "image", "--environments", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"{tmp_path}/lab/profile.yaml: hosts: List should have at least 1 item after validation, not 0"
    )
