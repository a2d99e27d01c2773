"""Every role claims only controls its tasks enforce (the role-shape rule of roles/backup, for all roles).

A role claims a control where a reader looks for it: the `controls` column of roles/README.md's table
(an id, or `HOST-X-*` for every automated control of the area not listed explicitly for another role;
`—` for a role that enforces nothing itself) and its
`meta/argument_specs.yml` (an option "for HOST-SSH-014"). The catalogue's enforcement is derived from the
task names and tags (jamaa.links), so a claim without a task is a promise nobody keeps. Runs without hosts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jamaa.controls import load_catalogue
from jamaa.links import role_links
from jamaa.paths import REPO

ROLES = REPO / "roles"
ID = re.compile(r"\b(?:HOST|CLD)-[A-Z0-9]+-\d{3}\b")
AREA = re.compile(r"\b((?:HOST|CLD)-[A-Z0-9]+)-\*")
ROW = re.compile(r"^\| ([a-z_]+) \| ([^|]+) \|", re.MULTILINE)


def _named_by_tasks() -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for link in role_links(ROLES, REPO):
        named.setdefault(link.name, set()).add(link.control)
    return named


def _readme_claims() -> dict[str, str]:
    text = (ROLES / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| role | controls | what |") :].split("\n\n", 1)[0]
    return {role: cell.strip() for role, cell in ROW.findall(table) if role != "role"}


def _roles() -> list[str]:
    return sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir())


def test_every_role_is_in_the_readme_table() -> None:
    assert set(_readme_claims()) == set(_roles())


@pytest.mark.parametrize("role", _roles())
def test_role_claims_only_what_its_tasks_name(role: str) -> None:
    catalogue = load_catalogue()
    named = _named_by_tasks()
    ours = named.get(role, set())
    cell = _readme_claims()[role]
    explicit_elsewhere = {
        i
        for other, text in _readme_claims().items()
        if other != role and not text.startswith("—")
        for i in ID.findall(text)
    }
    claims = set() if cell.startswith("—") else set(ID.findall(cell))
    for area in [] if cell.startswith("—") else AREA.findall(cell):
        area_ids = {c.id for c in catalogue.controls.values() if c.id.startswith(area + "-") and c.automated}
        assert area_ids, f"roles/README.md: {role}: {area}-* names no automated control of the catalogue"
        claims |= area_ids - explicit_elsewhere
    specs = ROLES / role / "meta" / "argument_specs.yml"
    if specs.is_file():
        claims |= set(ID.findall(specs.read_text(encoding="utf-8")))
    unknown = sorted(claims - set(catalogue.controls))
    assert not unknown, f"{role}: claims controls the catalogue does not have: {unknown}"
    missing = sorted(claims - ours)
    assert not missing, f"{role}: claims {missing} but no task of roles/{role}/tasks names them"
    # and the other way: every control a task names is claimed (the table is complete)
    unclaimed = sorted(ours - claims)
    assert not unclaimed, f"{role}: tasks name {unclaimed}, missing from roles/README.md's table"


def test_a_claim_without_a_task_fails(tmp_path: Path) -> None:
    """The derivation the claims are compared with sees a real role's tasks, and nothing else."""
    role = tmp_path / "roles" / "demo" / "tasks"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(
        '- name: "HOST-SSH-003 | HOST-SSH-004 | Do it"\n'
        "  ansible.builtin.debug: {msg: x}\n"
        "  tags: [HOST-SSH-003, HOST-SSH-004, ssh]\n"
        "- name: Grouped\n"
        "  block:\n"
        '    - name: "HOST-SSH-005 | Inside a block"\n'
        "      ansible.builtin.debug: {msg: y}\n"
        '- name: "SSH | Not a control"\n'
        "  ansible.builtin.debug: {msg: z}\n"
        "  tags: [ssh]\n"
    )
    links = role_links(tmp_path / "roles", tmp_path)
    assert [(link.control, link.name, str(link.path), link.line) for link in links] == [
        ("HOST-SSH-003", "demo", "roles/demo/tasks/main.yml", 1),
        ("HOST-SSH-004", "demo", "roles/demo/tasks/main.yml", 1),
        ("HOST-SSH-005", "demo", "roles/demo/tasks/main.yml", 6),
    ]
