"""The attacker's view: probes run from the lab's attacker host against each server on the LAN.

The attacker is the first host of the inventory group `attackers`; targets are the servers
(`--jamaa-servers`, default `commune_servers`) at their LAN address (`jamaa_lan_ip`). Tools run on the
attacker over SSH; a tool its image lacks (ssh-audit) runs from the controller inside the attacker's
network namespace — the same place on the network, which is what these checks are about. Each probe
records `control` = NET-<probe>, the target as `host`, and the catalogue control it corroborates.

Without an inventory that has an attacker, these tests are deselected (production has no attacker).
Loaded by jamaa.baseline.plugin; its hooks act on the suite's network tests only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jamaa.baseline import NETWORK_SUITE, in_suite
from jamaa.baseline.attacker import Attacker, Management, Target
from jamaa.results import Status


def _runner(config: pytest.Config) -> Any:
    inventory = config.getoption("ansible_inventory", None)
    if not inventory:
        return None
    from testinfra.utils.ansible_runner import AnsibleRunner

    return AnsibleRunner.get_runner(inventory)


def _groups(runner: Any) -> dict[str, list[str]]:
    return dict(runner.get_variables(runner.get_hosts("all")[0])["groups"]) if runner.get_hosts("all") else {}


def targets(config: pytest.Config) -> list[Target]:
    runner = _runner(config)
    if runner is None:
        return []
    groups = _groups(runner)
    if not groups.get("attackers"):
        return []
    group = config.getoption("jamaa_servers", "commune_servers")
    found = []
    for name in groups.get(group, []):
        hostvars = runner.get_variables(name)
        ip = str(hostvars.get("jamaa_lan_ip") or hostvars.get("ansible_host") or name)
        found.append(Target(name, ip, list(hostvars.get("group_names", [])), hostvars))
    return found


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames and in_suite(metafunc.definition.path, NETWORK_SUITE):
        found = targets(metafunc.config)
        metafunc.parametrize("target", found, ids=[t.name for t in found])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Probes need a target (deselected when the inventory has no attacker); one xdist group each."""
    keep, dropped = [], []
    for item in items:
        if not in_suite(item.path, NETWORK_SUITE) or "target" not in getattr(item, "fixturenames", ()):
            keep.append(item)
        elif not isinstance(
            target := getattr(getattr(item, "callspec", None), "params", {}).get("target"), Target
        ):
            dropped.append(item)  # no attacker in this inventory: an empty parameter set
        else:
            item.add_marker(pytest.mark.xdist_group(name=f"attacker-{target.name}"))
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def attacker(request: pytest.FixtureRequest) -> Attacker:
    import testinfra

    config = request.config
    runner = _runner(config)
    assert runner is not None, "the attacker's view needs --ansible-inventory"
    name = _groups(runner)["attackers"][0]
    inventory = Path(config.getoption("ansible_inventory"))
    base = inventory if inventory.is_dir() else inventory.parent
    if (base / "generated").is_dir():
        base = base / "generated"
    ssh_config = config.getoption("ssh_config", None) or (
        str(base / "ssh_config") if (base / "ssh_config").exists() else None
    )
    if ssh_config:
        host = testinfra.get_host(f"paramiko://{name}", ssh_config=ssh_config)
    else:
        host = testinfra.get_host(f"ansible://{name}", ansible_inventory=str(inventory))
    netns = None
    lab_json = base / "lab.json"
    if lab_json.exists():
        netns = json.loads(lab_json.read_text(encoding="utf-8"))["hosts"].get(name, {}).get("netns")
    ip = str(runner.get_variables(name).get("jamaa_lan_ip") or "")
    assert ip, f"{name}: no jamaa_lan_ip in the inventory"
    attacker = Attacker(name, host, netns, ip)
    attacker.lab_json = lab_json if lab_json.exists() else None
    return attacker


@pytest.fixture(scope="session")
def management(attacker: Attacker) -> Management | None:
    """The lab's management vantage point (the LAN bridge's namespace), None outside the lab."""
    if attacker.netns is None or not attacker.netns.endswith(f"h-{attacker.name}"):
        return None
    from urllib.parse import urlparse

    data = json.loads(attacker.lab_json.read_text(encoding="utf-8")) if attacker.lab_json else {}
    # the bridge's own address: where the lab's services listen (lab.json names it in the S3 endpoint)
    ip = str(urlparse(str(data.get("s3", {}).get("lan", ""))).hostname or "")
    # the LAN's namespace sits beside the hosts' (jamaa.lab.network: PREFIX + "h-NAME", PREFIX + "lan")
    netns = attacker.netns.removesuffix(f"h-{attacker.name}") + "lan"
    if not ip or not Path(f"/run/netns/{netns}").exists():
        return None
    return Management(netns, ip)


class Probe:
    """Names a probe for JUnit and the results JSON (control NET-<id>, the target as host)."""

    def __init__(self, record: Any, target: Target) -> None:
        self.record = record
        self.target = target

    def __call__(self, probe_id: str, related: str, severity: str = "high") -> None:
        self.record("control", f"NET-{probe_id}")
        self.record("host", self.target.name)
        self.record("area", "NET")
        self.record("severity", severity)
        self.record("title", related)

    def not_applicable(self, reason: str) -> None:
        self.record("jamaa_status", Status.NOT_APPLICABLE.value)
        self.record("reason", reason)
        pytest.skip(f"not applicable: {reason}")


@pytest.fixture
def probe(record_property: Any, target: Target) -> Probe:
    return Probe(record_property, target)
