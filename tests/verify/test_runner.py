"""`jamaa verify`: bad input, the per-host scheduling scope, the command it runs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.verify.plugin import host_scope
from jamaa.verify.runner import Target, pytest_command


def test_unknown_environment_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "prod").mkdir()
    result = CliRunner().invoke(app, ["verify", "--env", "nowhere", "--environments", str(tmp_path)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"{tmp_path / 'nowhere'}: --env: no such environment directory (known: prod)"
    )


def test_environment_without_inventory(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    result = CliRunner().invoke(app, ["verify", "--env", "lab", "--environments", str(tmp_path)])
    assert result.exit_code == 2
    assert "no inventory found (run `jamaa lab up` first)" in result.stderr


def test_bad_backend(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", "--env", "lab", "--backend", "telnet"])
    assert result.exit_code == 2
    assert "--backend: 'telnet': expected paramiko or inventory" in result.stderr


def test_each_host_is_one_scheduling_scope() -> None:
    base = "jamaa/baseline/suite/test_host_controls.py::test_control"
    assert host_scope(f"{base}[HOST-SSH-003-ansible://srv-01]") == "host:srv-01"
    assert host_scope(f"{base}[HOST-FW-008-ansible://srv-01]") == "host:srv-01"
    assert host_scope(f"{base}[HOST-FW-008-paramiko://vm-01]") == "host:vm-01"
    probe = "jamaa/baseline/suite/network/test_attacker_view.py::test_only_declared_ports_answer"
    assert host_scope(f"{probe}[srv-01]") == "attacker"


def test_command_runs_in_parallel_with_results_and_junit(tmp_path: Path) -> None:
    target = Target("lab", tmp_path, tmp_path, tmp_path / "ssh_config")
    command = pytest_command(target, tmp_path / "out", workers=3)
    assert command[command.index("-n") : command.index("-n") + 4] == ["-n", "3", "--dist", "loadscope"]
    assert f"--jamaa-results={tmp_path / 'out' / 'results.json'}" in command
    assert f"--junitxml={tmp_path / 'out' / 'junit.xml'}" in command
    assert "junit_family=xunit1" in command
    assert "--jamaa-backend=paramiko" in command
    assert f"--ssh-config={tmp_path / 'ssh_config'}" in command
