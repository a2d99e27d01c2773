"""roles/backup has the shape of the other roles (dev-sec style) and says which control each task enforces."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from jamaa.controls import load_catalogue
from jamaa.paths import REPO

ROLE = REPO / "roles" / "backup"
CONTROL = re.compile(r"^(?:HOST-BKP-\d{3} \| )+")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _tasks() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for task in items:
            found.append(task)
            walk(task.get("block", []))

    for path in sorted((ROLE / "tasks").glob("*.yml")):
        walk(_yaml(path) or [])
    return found


def test_every_default_is_prefixed_and_documented_in_argument_specs() -> None:
    defaults = _yaml(ROLE / "defaults" / "main.yml")
    options = _yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert all(name.startswith("backup_") for name in defaults), [
        n for n in defaults if not n.startswith("backup_")
    ]
    assert all(name.startswith("backup_") for name in options)
    undocumented = sorted(set(defaults) - set(options))
    assert not undocumented, f"defaults missing from meta/argument_specs.yml: {undocumented}"
    for name, spec in options.items():
        assert spec.get("description"), f"{name}: no description"
    for secret in ("backup_restic_password", "backup_s3_access_key_id", "backup_s3_secret_access_key"):
        assert secret not in defaults, f"{secret} must come from the environment's vault, never a default"
        assert options[secret].get("no_log") is True
    assert options["backup_restic_password"].get("required") is True
    # The key pair is optional only for the instance role (EC2); tasks/main.yml asserts it otherwise.
    assert defaults["backup_s3_use_instance_role"] is False
    for key in ("backup_s3_access_key_id", "backup_s3_secret_access_key"):
        assert options[key].get("required") is False
        assert (
            f"backup_s3_use_instance_role | bool or {key} is defined"
            in (ROLE / "tasks" / "main.yml").read_text()
        )


def test_tasks_name_their_control_and_carry_its_tag() -> None:
    catalogue = load_catalogue(REPO / "policies" / "controls")
    ours = {c.id for c in catalogue.host_controls() if "role:backup" in c.enforced_by}
    assert ours == {f"HOST-BKP-00{n}" for n in range(1, 8)}
    named: set[str] = set()
    for task in _tasks():
        name = task.get("name", "")
        match = CONTROL.match(name)
        if match is None:
            assert name.startswith("Backup | "), f"task without a control id or 'Backup |': {name!r}"
            continue
        # "HOST-BKP-001 | HOST-BKP-007 | ...": every id the name starts with
        ids = re.findall(r"HOST-BKP-\d{3}", match.group(0))
        for control in ids:
            assert control in ours, name
            assert control in task.get("tags", []), f"{name}: not tagged with its control id {control}"
        named.update(ids)
    assert named == ours, f"controls without a task: {sorted(ours - named)}"


def test_secrets_are_never_logged_nor_on_a_command_line() -> None:
    secret_tasks = 0
    for task in _tasks():
        if "block" in task:
            continue
        text = yaml.safe_dump(task)
        if "backup_restic_password" in text or "backup_s3_secret_access_key" in text:
            secret_tasks += 1
            assert task.get("no_log") is True, f"{task['name']}: handles a secret without no_log"
        for module in ("ansible.builtin.command", "ansible.builtin.shell"):
            command = str(task.get(module, ""))
            assert "secret" not in command and "password" not in command, task["name"]
    assert secret_tasks >= 2  # the vault check and the password file
    templated = [t for t in _tasks() if t.get("ansible.builtin.template", {}).get("src") == "backup.env.j2"]
    assert len(templated) == 1 and templated[0].get("no_log") is True
    env = (ROLE / "templates" / "backup.env.j2").read_text()
    assert "{{ backup_s3_secret_access_key }}" in env  # only a template reference, rendered into a 0600 file
    install = (ROLE / "tasks" / "install.yml").read_text()
    assert install.count('mode: "0600"') >= 2


@pytest.mark.parametrize("unit", ["jamaa-backup.timer", "jamaa-backup-check.timer"])
def test_timers_are_randomised_and_persistent(unit: str) -> None:
    text = (ROLE / "templates" / f"{unit}.j2").read_text()
    assert "RandomizedDelaySec=" in text and "Persistent=true" in text


def test_services_read_secrets_from_the_environment_file_only() -> None:
    for unit in ("jamaa-backup.service", "jamaa-backup-check.service"):
        text = (ROLE / "templates" / f"{unit}.j2").read_text()
        assert "EnvironmentFile={{ backup_env_file }}" in text
        exec_start = [line for line in text.splitlines() if line.startswith("ExecStart=")]
        assert exec_start and all("{{" not in line for line in exec_start), exec_start


def test_retention_filter_reads_the_environments(plugin_module: Callable[[Path], ModuleType]) -> None:
    module = plugin_module(ROLE / "filter_plugins" / "jamaa_backup.py")
    retention = module.jamaa_backup_retention
    envs = str(REPO / "environments")
    assert retention("personal", envs, "lab") == 365  # lab figure = the national floor
    assert retention("personal", envs, "prod") == 400  # prod keeps longer than the floor
    assert retention("sensitive", envs, "prod") == 1825  # no environment figure: the floor
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="backup_data_class: unknown data class 'secret'"):
        retention("secret", envs, "lab")
    with pytest.raises(AnsibleFilterError, match="backup_environment: unknown environment 'moon'"):
        retention("personal", envs, "moon")
