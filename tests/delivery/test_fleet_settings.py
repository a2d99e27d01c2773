"""ansible.cfg carries the settings a 1,500-commune fleet needs, and Ansible really reads them."""

from __future__ import annotations

import json
import os
import subprocess
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


def test_ssh_multiplexing_and_pipelining_in_effect() -> None:
    plugins = {name: items for entry in dump("-t", "connection") for name, items in entry.items()}
    ssh = {item["name"]: item["value"] for item in plugins["ssh"]}
    assert ssh["pipelining"] is True
    assert "ControlMaster=auto" in ssh["ssh_args"]
    assert "ControlPersist=" in ssh["ssh_args"]
