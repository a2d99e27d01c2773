"""Every package a role installs comes without its recommendations, from the one list of its role.

A recommended package is software nobody chose: restic recommends fuse, whose setuid `fusermount`
then fails HOST-PERM-013 on a server the backup role converged after file_permissions ran (seen on
Debian 12). So each `ansible.builtin.apt` task that installs sets `install_recommends: false`.
Runs without hosts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from jamaa.paths import REPO

INSTALLING = {"present", "latest", None}


def _tasks(items: list[Any]) -> Iterator[dict[str, Any]]:
    for task in items or []:
        if not isinstance(task, dict):
            continue
        yield task
        # a block's sections, and a play's task lists (playbooks/)
        for section in ("block", "rescue", "always", "pre_tasks", "tasks", "post_tasks", "handlers"):
            yield from _tasks(task.get(section) or [])


def _installs_with_recommends(path: Path, root: Path = REPO) -> list[str]:
    found = []
    for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
        apt = task.get("ansible.builtin.apt")
        if not isinstance(apt, dict) or "name" not in apt:
            continue
        if apt.get("state") in INSTALLING and apt.get("install_recommends") is not False:
            found.append(f"{path.relative_to(root)}: {task.get('name')}")
    return found


def _task_files() -> list[Path]:
    roles = [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/handlers/*.yml")]
    return sorted([*roles, *REPO.glob("playbooks/**/*.yml")])


def test_every_package_install_skips_recommendations() -> None:
    offenders = [line for path in _task_files() for line in _installs_with_recommends(path)]
    assert not offenders, "apt installs without install_recommends: false:\n" + "\n".join(offenders)


def test_an_install_with_recommendations_is_found(tmp_path: Path) -> None:
    tasks = tmp_path / "roles" / "probe" / "tasks" / "main.yml"
    tasks.parent.mkdir(parents=True)
    tasks.write_text(
        "- name: X | Install\n  block:\n"
        "    - name: X | inner\n      ansible.builtin.apt:\n        name: restic\n"
        "    - name: X | remove\n      ansible.builtin.apt:\n        name: fuse\n        state: absent\n",
        encoding="utf-8",
    )
    assert _installs_with_recommends(tasks, tmp_path) == ["roles/probe/tasks/main.yml: X | inner"]


def test_an_install_in_a_play_is_found(tmp_path: Path) -> None:
    play = tmp_path / "playbooks" / "probe.yml"
    play.parent.mkdir(parents=True)
    play.write_text(
        "- name: Probe\n  hosts: all\n  tasks:\n"
        "    - name: X | in a play\n      ansible.builtin.apt:\n        name: restic\n",
        encoding="utf-8",
    )
    assert _installs_with_recommends(play, tmp_path) == ["playbooks/probe.yml: X | in a play"]


# --- one list per role, one transaction per host ------------------------------------------------------
# Each role names its packages once, in its per-release variables; its own install task and the
# host_packages role (one apt transaction for all of a host's roles) both read that list.

RELEASES = ("Debian-12", "Debian-13")
KERNEL_ONLY = {"aide", "auditd", "usbguard"}  # their packages need a host with its own kernel


@pytest.fixture
def plugin(plugin_module: Callable[[Path], ModuleType]) -> Any:
    return plugin_module(REPO / "plugins" / "filter" / "jamaa_packages.py")


def _install_names(role: str) -> list[Any]:
    """The `name:` of each task of the role that installs packages (security updates aside)."""
    names = []
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            apt = task.get("ansible.builtin.apt")
            if not isinstance(apt, dict) or "name" not in apt or apt.get("only_upgrade"):
                continue
            if apt.get("state") in INSTALLING:
                names.append(apt["name"])
    return names


def _play_entries() -> list[dict[str, Any]]:
    """The role entries of commune_server.yml, with their parameters."""
    play = yaml.safe_load((REPO / "playbooks" / "commune_server.yml").read_text(encoding="utf-8"))
    return list(play[0]["roles"])


def _commune_server_roles() -> list[str]:
    return [entry["role"] for entry in _play_entries()]


def test_each_role_installs_the_list_of_its_release_variables() -> None:
    offenders = []
    for role in _commune_server_roles():
        if role == "host_packages":
            continue
        for name in _install_names(role):
            key = f"{role}_kernel_packages" if role in KERNEL_ONLY else f"{role}_packages"
            if name != f"{{{{ {key} }}}}":
                offenders.append(f"roles/{role}: installs {name!r}, not its {key}")
                continue
            for release in RELEASES:
                data = yaml.safe_load((REPO / "roles" / role / "vars" / f"{release}.yml").read_text())
                if not data.get(key):
                    offenders.append(f"roles/{role}/vars/{release}.yml: no {key}")
    assert not offenders, "\n".join(offenders)


def test_the_host_gets_every_package_its_roles_install_once(plugin: Any) -> None:
    roles = _commune_server_roles()
    vm = plugin.jamaa_role_packages(roles, str(REPO / "roles"), "Debian-13", True)
    container = plugin.jamaa_role_packages(roles, str(REPO / "roles"), "Debian-12", False)
    assert len(vm) == len(set(vm))
    assert {
        "nftables",
        "openssh-server",
        "chrony",
        "nginx",
        "postgresql-17",
        "aide",
        "auditd",
        "usbguard",
    } <= set(vm)
    assert "postgresql-15" in container and "postgresql-17" not in container
    assert not {"aide", "auditd", "audispd-plugins", "usbguard"} & set(container)


def test_the_postgresql_package_matches_the_release_version() -> None:
    for release in RELEASES:
        data = yaml.safe_load((REPO / "roles" / "postgresql" / "vars" / f"{release}.yml").read_text())
        assert f"postgresql-{data['postgresql_version']}" in data["postgresql_packages"], release


def _role(tmp_path: Path, name: str, release_vars: str | None) -> Path:
    (tmp_path / name / "tasks").mkdir(parents=True)
    if release_vars is not None:
        (tmp_path / name / "vars").mkdir()
        (tmp_path / name / "vars" / "Debian-13.yml").write_text(release_vars, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "release_vars", "message"),
    [
        (
            "probe",
            "probe_packages: nginx\n",
            r"probe/vars/Debian-13.yml: probe_packages: must be a list of package",
        ),
        (
            "probe",
            "probe_packages: [nginx, '']\n",
            r"Debian-13.yml: probe_packages: must be a list of package names",
        ),
        ("probe", "- a\n- b\n", r"probe/vars/Debian-13.yml: must be a mapping of variables"),
        ("probe", "probe_packages: [nginx\n", r"probe/vars/Debian-13.yml: cannot read"),
    ],
)
def test_a_damaged_package_list_stops_the_run_naming_file_and_field(
    tmp_path: Path, plugin: Any, name: str, release_vars: str, message: str
) -> None:
    roles_dir = _role(tmp_path, name, release_vars)
    with pytest.raises(AnsibleFilterError, match=message):
        plugin.jamaa_role_packages([name], str(roles_dir), "Debian-13")


def test_a_release_without_variables_or_an_unknown_role_is_named(tmp_path: Path, plugin: Any) -> None:
    roles_dir = _role(tmp_path, "probe", "probe_packages: [nginx]\n")
    with pytest.raises(
        AnsibleFilterError, match=r"probe/vars/Debian-14.yml: missing: the role has no variables"
    ):
        plugin.jamaa_role_packages(["probe"], str(roles_dir), "Debian-14")
    with pytest.raises(AnsibleFilterError, match=r"nope: no such role"):
        plugin.jamaa_role_packages(["nope"], str(roles_dir), "Debian-13")
    assert plugin.jamaa_role_packages(["probe"], str(roles_dir), "Debian-13") == ["nginx"]


# --- the transaction in the background ----------------------------------------------------------------
# commune_server.yml includes host_packages twice; the roles between the two run while the transaction
# does, so they must be the ones the first include names, and must not call apt themselves (dpkg's lock
# is held) beyond installing their own list and removing their `<role>_absent_packages`: host_packages
# runs the transaction in the foreground when either would do something.


def test_the_roles_between_the_two_package_steps_are_the_ones_the_first_names() -> None:
    entries = _play_entries()
    start, wait = [i for i, entry in enumerate(entries) if entry["role"] == "host_packages"]
    assert entries[wait].get("host_packages_wait") is True
    between = [entry["role"] for entry in entries[start + 1 : wait]]
    assert between == entries[start]["host_packages_background_roles"]
    assert between, "no role runs while the transaction does"


PACKAGE_MODULES = ("ansible.builtin.apt", "ansible.builtin.package", "ansible.builtin.dpkg_selections")


def _apt_tasks(role: str) -> list[tuple[str, Any]]:
    """(where, module arguments) of each package task of the role and of the roles it includes."""
    found = []
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            for module in PACKAGE_MODULES:
                if module in task:
                    found.append((f"roles/{role}: {task.get('name')}: {task[module]}", task[module]))
            included = (task.get("ansible.builtin.include_role") or {}).get("name")
            if included and included != "jamaa_context":
                found += _apt_tasks(included)
    return found


def test_the_roles_run_during_the_transaction_only_install_their_own_list() -> None:
    entries = _play_entries()
    (start,) = [entry for entry in entries if entry.get("host_packages_background_roles")]
    offenders = []
    for role in start["host_packages_background_roles"]:
        own_lists = (
            {"name": f"{{{{ {role}_packages }}}}", "state": "present"},
            {"name": f"{{{{ {role}_absent_packages }}}}", "state": "absent"},
        )
        for where, args in _apt_tasks(role):
            if not (isinstance(args, dict) and any(own.items() <= args.items() for own in own_lists)):
                offenders.append(where)
    assert not offenders, "apt while dpkg's lock is held:\n" + "\n".join(offenders)
