"""Every package a role installs comes without its recommendations.

A recommended package is software nobody chose: restic recommends fuse, whose setuid `fusermount`
then fails HOST-PERM-013 on a server the backup role converged after file_permissions ran (seen on
Debian 12). So each `ansible.builtin.apt` task that installs sets `install_recommends: false`.
Runs without hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

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
