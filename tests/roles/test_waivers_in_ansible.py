"""Waivers as Ansible sees them (plugins/filter/jamaa_waivers.py over jamaa.waivers): scopes,
expired and unknown waivers stopping a real ansible-playbook run, and the not-applicable record."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from jamaa.controls import load_catalogue
from jamaa.paths import REPO

BIN = Path(sys.executable).parent
CATALOGUE = REPO / "policies" / "controls"
TODAY = "2026-11-25"


@pytest.fixture
def plugin(plugin_module: Callable[[Path], ModuleType]) -> Any:
    return plugin_module(REPO / "plugins" / "filter" / "jamaa_waivers.py")


def _env(tmp_path: Path, body: str, name: str = "lab") -> Path:
    env = tmp_path / name
    env.mkdir(parents=True, exist_ok=True)
    (env / "waivers.yaml").write_text(body)
    return env


def _waiver(control: str, kind: str, value: str, expires: str = "2030-01-01") -> str:
    return (
        f"  - control: {control}\n    scope: {{kind: {kind}, value: {value}}}\n"
        "    owner: DSI Région Marrakech-Safi\n    reason: Legacy application needs it until migration\n"
        f"    expires: {expires}\n    ticket: DGCT-1\n"
    )


def test_each_scope_kind_selects_its_hosts(tmp_path: Path, plugin: Any) -> None:
    env = _env(
        tmp_path,
        "waivers:\n"
        + _waiver("HOST-SSH-010", "host", "srv-01")
        + _waiver("HOST-SSH-011", "group", "dedicated_servers")
        + _waiver("HOST-SSH-012", "commune", "c0410101")
        + _waiver("HOST-SSH-014", "region", "MA-07")
        + _waiver("HOST-SSH-015", "environment", "lab"),
    )

    def waived(host: str, groups: list[str], communes: list[str], region: str) -> list[str]:
        result: list[str] = plugin.jamaa_waived_controls(
            host, str(env), str(CATALOGUE), groups, communes, region, TODAY
        )
        return result

    assert waived("srv-01", [], ["c0410101"], "MA-07") == [
        "HOST-SSH-010",
        "HOST-SSH-012",
        "HOST-SSH-014",
        "HOST-SSH-015",
    ]
    assert waived("srv-09", ["dedicated_servers"], [], "MA-01") == ["HOST-SSH-011", "HOST-SSH-015"]
    detail = plugin.jamaa_waivers("srv-01", str(env), str(CATALOGUE), [], [], "MA-07", TODAY)
    assert detail["HOST-SSH-010"] == {
        "owner": "DSI Région Marrakech-Safi",
        "reason": "Legacy application needs it until migration",
        "expires": "2030-01-01",
        "ticket": "DGCT-1",
        "scope": "host:srv-01",
    }


def test_an_expired_or_unknown_waiver_is_an_error_in_the_filter(tmp_path: Path, plugin: Any) -> None:
    expired = _env(tmp_path, "waivers:\n" + _waiver("HOST-SSH-010", "host", "srv-01", "2024-12-31"), "a")
    with pytest.raises(AnsibleFilterError, match=r"expired on 2024-12-31"):
        plugin.jamaa_waived_controls("srv-01", str(expired), str(CATALOGUE), [], [], None, TODAY)
    unknown = _env(tmp_path, "waivers:\n" + _waiver("HOST-NOPE-001", "host", "srv-01"), "b")
    with pytest.raises(AnsibleFilterError, match=r"unknown control id HOST-NOPE-001"):
        plugin.jamaa_waived_controls("srv-01", str(unknown), str(CATALOGUE), [], [], None, TODAY)


def test_not_applicable_lists_kernel_controls_on_a_container_and_out_of_scope_roles(plugin: Any) -> None:
    controls = load_catalogue(CATALOGUE).host_controls()
    kernel = {c.id for c in controls if c.kernel_level}
    on_container = plugin.jamaa_not_applicable(str(CATALOGUE), "systemd-nspawn", "full", ["c0410101"])
    assert set(on_container) == kernel
    assert all(
        reason.startswith("not applicable: container (systemd-nspawn)") for reason in on_container.values()
    )
    assert plugin.jamaa_not_applicable(str(CATALOGUE), "", "full", ["c0410101"]) == {}
    kernel_scope = plugin.jamaa_not_applicable(str(CATALOGUE), "", "kernel", ["c0410101"])
    assert "HOST-SSH-003" in kernel_scope and "HOST-SYSCTL-015" not in kernel_scope
    assert "HOST-AUDIT-002" not in kernel_scope
    no_commune = plugin.jamaa_not_applicable(str(CATALOGUE), "", "full", [])
    assert no_commune["HOST-NGX-008"].endswith("outside this host's scope (full, no commune served)")


def _run_site(tmp_path: Path, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
    }
    command = [
        str(BIN / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "--check",
        str(REPO / "playbooks" / "site.yml"),
        "-e",
        "jamaa_target=localhost",
        "-e",
        f"jamaa_context_env_dir={env_dir}",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    ]
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_an_expired_waiver_stops_a_real_run_before_any_change(tmp_path: Path) -> None:
    env_dir = _env(tmp_path, "waivers:\n" + _waiver("HOST-SSH-003", "host", "localhost", "2025-01-31"))
    result = _run_site(tmp_path, env_dir)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "waivers refused, nothing was changed" in output, output[-3000:]
    assert "expired on 2025-01-31" in output, output[-3000:]
    assert "changed=0" in output, output[-3000:]


def test_a_waiver_for_an_unknown_control_stops_a_real_run(tmp_path: Path) -> None:
    env_dir = _env(tmp_path, "waivers:\n" + _waiver("HOST-SSH-999", "host", "localhost"))
    result = _run_site(tmp_path, env_dir)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "unknown control id HOST-SSH-999" in output, output[-3000:]
