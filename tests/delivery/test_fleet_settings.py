"""ansible.cfg carries the settings a 1,500-commune fleet needs, and Ansible really reads them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from jamaa.paths import REPO


def dump(*args: str) -> Any:
    proc = subprocess.run(
        [str(REPO / ".venv/bin/ansible-config"), "dump", "--only-changed", "--format", "json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def test_controller_settings_in_effect() -> None:
    config = {item["name"]: item["value"] for item in dump() if "name" in item}
    assert int(config["DEFAULT_FORKS"]) >= 20
    assert config["CACHE_PLUGIN"] == "jsonfile"
    assert config["CACHE_PLUGIN_CONNECTION"].endswith(".cache/ansible/facts")
    assert int(config["CACHE_PLUGIN_TIMEOUT"]) > 0
    assert "auto" in config["INVENTORY_ENABLED"]  # environments/prod/jamaa.aws_ec2.yml is read through `auto`
    assert config["DEFAULT_STRATEGY"] == "mitogen_linear"


def test_ssh_multiplexing_and_pipelining_in_effect() -> None:
    plugins = {name: items for entry in dump("-t", "connection") for name, items in entry.items()}
    ssh = {item["name"]: item["value"] for item in plugins["ssh"]}
    assert ssh["pipelining"] is True
    assert "ControlMaster=auto" in ssh["ssh_args"]
    assert "ControlPersist=" in ssh["ssh_args"]


# Two tasks that print the process their module ran in (the shell's parent): with Mitogen it is one
# interpreter kept for the whole play; with Ansible's linear strategy a new Python per task.
PARENT_PLAY = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.shell: "echo $PPID; tr '\\\\0' ' ' < /proc/$PPID/cmdline"
      register: first
      changed_when: false
    - ansible.builtin.shell: "echo $PPID"
      register: second
      changed_when: false
    - ansible.builtin.debug:
        msg: "PARENTS {{ first.stdout_lines[0] }} {{ second.stdout }} {{ first.stdout_lines[1] }}"
"""


def module_parents(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    play = tmp_path / "parents.yml"
    play.write_text(PARENT_PLAY)
    return subprocess.run(
        [str(REPO / ".venv/bin/ansible-playbook"), "-i", "localhost,", str(play)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            # the controller's own Python: Mitogen's interpreter discovery fails on local connections
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            **env,
        },
        timeout=300,
        check=False,
    )


def parents(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    match = re.search(r"PARENTS (\d+) (\d+) (.*)", proc.stdout)
    assert match, proc.stdout[-2000:]
    return list(match.groups())


def test_modules_of_a_play_run_in_one_mitogen_interpreter_per_host(tmp_path: Path) -> None:
    first, second, command = parents(module_parents(tmp_path))
    assert first == second
    assert "mitogen" in command


def test_the_linear_strategy_stays_available_as_the_opt_out(tmp_path: Path) -> None:
    first, second, command = parents(module_parents(tmp_path, ANSIBLE_STRATEGY="linear"))
    assert first != second
    assert "mitogen" not in command


def test_a_controller_without_mitogen_is_told_what_to_install(tmp_path: Path) -> None:
    broken = tmp_path / "site" / "ansible_mitogen"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('no module named ansible_mitogen')\n")
    proc = module_parents(tmp_path, PYTHONPATH=str(broken.parent))
    assert proc.returncode != 0
    output = " ".join((proc.stdout + proc.stderr).split())
    assert "strategy mitogen_linear needs the pinned mitogen package" in output
    assert "ANSIBLE_STRATEGY=linear" in output
