"""The Ansible collection jamaa.commune (galaxy.yml at the repository root): `ansible-galaxy collection
build` packs the roles, the self-contained waiver filters and the catalogue, and nothing else; the
tarball installs into a clean directory, where a playbook naming the roles by FQCN passes
`--syntax-check` and the filters run (and refuse an expired waiver) without the repository."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

import jamaa.scope
import jamaa.waiver_rules
from jamaa.paths import REPO

BIN = Path(sys.executable).parent
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("collection-build")
    result = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    tarball = out / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    assert tarball.is_file(), sorted(out.iterdir())
    return tarball


def _clean_env(collections: Path) -> dict[str, str]:
    """The environment of a user outside the repository: no ANSIBLE_* settings, an empty ansible.cfg,
    only `collections` (and the virtualenv's bundle) to find collections in."""
    config = collections.parent / f"{collections.name}.cfg"
    config.write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    return env


@pytest.fixture(scope="module")
def installed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("collections")
    result = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(target), str(built)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=target,
        env=_clean_env(target),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    root = target / "ansible_collections" / "jamaa" / "commune"
    assert (root / "MANIFEST.json").is_file()
    return target


def test_the_tarball_holds_the_roles_filters_catalogue_and_nothing_else(built: Path) -> None:
    with tarfile.open(built) as archive:
        names = set(archive.getnames())
    for role in ROLES:
        assert f"roles/{role}/tasks/main.yml" in names, role
        assert f"roles/{role}/meta/argument_specs.yml" in names, role
    for required in (
        "plugins/filter/jamaa_waivers.py",
        "plugins/plugin_utils/waiver_rules.py",
        "plugins/plugin_utils/scope.py",
        "meta/runtime.yml",
        "CHANGELOG.md",
        "README.md",
        "MANIFEST.json",
    ):
        assert required in names, required
    catalogue = {p.name for p in (REPO / "policies" / "controls").glob("*.yaml")}
    assert {Path(n).name for n in names if n.startswith("policies/controls/")} >= catalogue
    tops = {name.split("/", 1)[0] for name in names}
    assert tops <= {
        "roles",
        "plugins",
        "meta",
        "policies",
        "CHANGELOG.md",
        "README.md",
        "MANIFEST.json",
        "FILES.json",
    }, sorted(tops)
    leaked = [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not leaked, leaked


def test_the_filter_is_self_contained_and_the_package_runs_the_same_file() -> None:
    allowed = {
        "__future__",
        "importlib",
        "datetime",
        "functools",
        "pathlib",
        "typing",
        "yaml",
        "re",
        "collections",
        "dataclasses",
        "sys",
        "ansible",
        "ansible_collections",
    }
    for path in (
        REPO / "plugins" / "filter" / "jamaa_waivers.py",
        REPO / "plugins" / "plugin_utils" / "waiver_rules.py",
        REPO / "plugins" / "plugin_utils" / "scope.py",
    ):
        tree = ast.parse(path.read_text())
        imported = {
            (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
            if isinstance(node, ast.Import) or node.module
        }
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}"
    # one implementation: the package's module is the collection's file, not a copy
    for module in (jamaa.waiver_rules, jamaa.scope):
        name = Path(module.__file__ or "").name
        assert Path(module.__file__ or "").resolve() == REPO / "plugins" / "plugin_utils" / name


def _clean_run(installed: Path, playbook: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ansible-playbook"), *args, str(playbook)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=playbook.parent,
        env=_clean_env(installed),
    )


def test_a_playbook_naming_every_role_by_fqcn_passes_syntax_check(installed: Path, tmp_path: Path) -> None:
    play = [
        {
            "name": "Every role of jamaa.commune",
            "hosts": "all",
            "roles": [f"jamaa.commune.{r}" for r in ROLES],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    result = _clean_run(installed, playbook, "--syntax-check", "-i", "localhost,")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_filters_apply_waivers_and_refuse_an_expired_one(
    installed: Path, tmp_path: Path
) -> None:
    catalogue = installed / "ansible_collections" / "jamaa" / "commune" / "policies" / "controls"
    env = tmp_path / "lab"
    env.mkdir()
    waiver = (
        "waivers:\n  - control: HOST-SSH-010\n    scope: {kind: host, value: srv-01}\n"
        "    owner: DSI Région Marrakech-Safi\n    reason: Legacy application needs it until migration\n"
        "    expires: EXPIRES\n    ticket: DGCT-1\n"
    )
    (env / "waivers.yaml").write_text(waiver.replace("EXPIRES", "2026-12-31"))
    play = [
        {
            "name": "Filters of the installed collection",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Waived and not applicable",
                    "ansible.builtin.debug": {
                        "msg": (
                            "{{ {'waived': 'srv-01' | jamaa.commune.jamaa_waived_controls(env, cat, "
                            "[], [], '', '2026-12-01'), 'na': cat | jamaa.commune.jamaa_not_applicable("
                            "'docker', [], 'full') | length} | to_json }}"
                        )
                    },
                    "vars": {"env": str(env), "cat": str(catalogue)},
                }
            ],
        }
    ]
    playbook = tmp_path / "filters.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    result = _clean_run(installed, playbook, "-i", "localhost,")
    assert result.returncode == 0, result.stdout + result.stderr
    assert r"\"waived\": [\"HOST-SSH-010\"]" in result.stdout, result.stdout
    assert r"\"na\": 0" not in result.stdout and r"\"na\": " in result.stdout, result.stdout

    (env / "waivers.yaml").write_text(waiver.replace("EXPIRES", "2026-11-30"))
    result = _clean_run(installed, playbook, "-i", "localhost,")
    assert result.returncode != 0
    assert "expired on 2026-11-30" in result.stdout + result.stderr


@pytest.mark.lab
def test_a_lab_host_converges_from_the_installed_collection_with_roles_used_alone(
    installed: Path, lab: Any, tmp_path: Path
) -> None:
    """A user's playbook outside the repository names two roles of the installed collection and nothing
    else (no jamaa_context): the first computes the shared context itself (once), an environment's waiver
    applies, drift is put back, and a second run changes nothing."""
    host = "srv-01"
    env = tmp_path / "environments" / "commune"
    env.mkdir(parents=True)
    (env / "waivers.yaml").write_text(
        "waivers:\n  - control: HOST-BANNER-003\n    scope: {kind: host, value: srv-01}\n"
        "    owner: DSI Région Marrakech-Safi\n"
        "    reason: The remote login banner comes from the SSH gateway\n"
        "    expires: 2027-03-31\n    ticket: DGCT-2\n"
    )
    (tmp_path / "playbooks").mkdir()
    playbook = tmp_path / "playbooks" / "banners.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Banners and core dumps from the installed collection",
                    "hosts": host,
                    "gather_facts": False,
                    "vars": {"jamaa_environment": "commune"},
                    "roles": ["jamaa.commune.banners", "jamaa.commune.core_dumps"],
                }
            ],
            sort_keys=False,
        )
    )
    drift = "echo drift >> /etc/motd; echo drift > /etc/issue.net"
    assert lab.ssh(host, drift).returncode == 0
    first = _clean_run(installed, playbook, "-i", str(lab.inventory))
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert first.stdout.count("included: jamaa_context for") == 1, first.stdout
    assert re.search(rf"^{host}\s+:.*changed=[1-9]", first.stdout, re.M), first.stdout[-2000:]
    assert "drift" not in lab.ssh(host, "cat /etc/motd").stdout  # HOST-BANNER-001 put back
    assert lab.ssh(host, "cat /etc/issue.net").stdout == "drift\n"  # HOST-BANNER-003 waived: left alone
    waivers = json.loads(lab.ssh(host, "cat /etc/jamaa/waivers.json").stdout)
    assert list(waivers) == ["HOST-BANNER-003"], waivers
    again = _clean_run(installed, playbook, "-i", str(lab.inventory))
    assert again.returncode == 0 and re.search(rf"^{host}\s+:.*changed=0\s", again.stdout, re.M), (
        again.stdout[-3000:]
    )
    # the waiver withdrawn: the control is enforced again
    (env / "waivers.yaml").write_text("waivers: []\n")
    last = _clean_run(installed, playbook, "-i", str(lab.inventory))
    assert last.returncode == 0, last.stdout[-3000:]
    assert "drift" not in lab.ssh(host, "cat /etc/issue.net").stdout
