"""Pull mode runs the same pinned runtime as the controller: the ansible_pull role's pip pins are the
versions constraints.txt resolves, and its argument spec documents the same defaults."""

from __future__ import annotations

import yaml

from jamaa.paths import REPO

ROLE = REPO / "roles" / "ansible_pull"


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_pull_runtime_pins_are_the_controllers() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    packages = defaults["ansible_pull_pip_packages"]
    constraints = _constraints()
    assert {p.split("==")[0] for p in packages} == {"ansible", "ansible-core"}
    for package in packages:
        name, version = package.split("==")
        assert constraints[name] == version, f"{package}: constraints.txt has {constraints[name]}"
    assert "ansible-core" not in defaults["ansible_pull_packages"]  # never Debian's ansible-core
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    assert spec["options"]["ansible_pull_pip_packages"]["default"] == packages
    assert spec["options"]["ansible_pull_packages"]["default"] == defaults["ansible_pull_packages"]


def test_pull_yml_passes_the_repository_constraints() -> None:
    (play,) = yaml.safe_load((REPO / "playbooks" / "pull.yml").read_text())
    (role,) = play["roles"]
    assert role["ansible_pull_pip_constraints"] == "{{ playbook_dir | dirname }}/constraints.txt"
