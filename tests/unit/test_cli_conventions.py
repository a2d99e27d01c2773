"""The CLI as users expect it: `--version`, shell completion, one output convention for commands that
produce data (`--format table|json`, `-o FILE`), choices shown in `--help`, tables that do not wrap at
80 columns when the output is not a terminal (CI logs)."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.lab.lab import lab_dir
from jamaa.lab.state import load_state
from jamaa.paths import REPO

ENV = str(REPO / "environments")
runner = CliRunner()


def test_version_prints_the_installed_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"jamaa {version('jamaa')}"


def test_shell_completion_is_offered() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output
    assert "--show-completion" in result.output


@pytest.mark.parametrize(
    ("command", "key"),
    [
        (["validate", ENV], "communes"),
        (["communes", "show", ENV], None),
        (["communes", "show", ENV, "--region", "MA-06"], "provinces"),
        (["ipplan", "show", ENV], None),
    ],
)
def test_data_commands_write_json_to_a_file(command: list[str], key: str | None, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    result = runner.invoke(app, [*command, "--format", "json", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output == ""  # everything went to the file
    data = json.loads(target.read_text(encoding="utf-8"))
    if key is None:
        assert isinstance(data, list) and len(data) == 12  # one entry per region
        assert {row["region"] for row in data} == {f"MA-{n:02d}" for n in range(1, 13)}
    else:
        assert key in data


def test_validate_json_counts_what_the_table_shows() -> None:
    result = runner.invoke(app, ["validate", ENV, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["valid"] is True
    assert data["communes"] == sum(row["communes"] for row in data["per_region"]) == 1540


def test_the_format_choices_are_shown_and_checked() -> None:
    help_text = runner.invoke(app, ["ipplan", "show", "--help"], terminal_width=200).output
    assert "table" in help_text and "json" in help_text
    result = runner.invoke(app, ["ipplan", "show", ENV, "--format", "yaml"])
    assert result.exit_code == 2
    assert "yaml" in result.output


def test_tables_do_not_wrap_at_80_columns_outside_a_terminal(tmp_path: Path) -> None:
    target = tmp_path / "table.txt"
    result = runner.invoke(app, ["ipplan", "show", ENV, "-o", str(target)])
    assert result.exit_code == 0, result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert max(len(line) for line in lines) > 80  # the table kept its natural width
    # one commune per row: no cell folded onto a continuation line
    rows = [line for line in lines if line.startswith("│")]
    assert all("10." in row or "172." in row or row.strip("│ ") == "" for row in rows), rows[:5]


def test_pytest_settings_match_what_jamaa_verify_sets() -> None:
    import tomllib

    ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    runner_source = (REPO / "jamaa" / "verify" / "runner.py").read_text()
    assert f'"junit_family={ini["junit_family"]}"' in runner_source


def test_lab_status_speaks_json_whether_the_lab_is_up_or_down(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    result = runner.invoke(
        app, ["lab", "status", "--environments", ENV, "--format", "json", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(target.read_text(encoding="utf-8"))
    assert isinstance(data["up"], bool)
    if data["up"]:  # whichever profile is up (the anchor bench's, say): its hosts, from its state
        state = load_state(lab_dir())
        assert state is not None
        assert set(state.hosts) <= {row["host"] for row in data["hosts"]}
        columns = {"host", "kind", "suite", "role", "groups", "lan_ip", "ssh", "state"}
        assert all(set(row) == columns for row in data["hosts"])
    else:
        assert data["hosts"] == []


def test_progress_is_one_line_per_step_in_a_ci_log_and_a_live_bar_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from jamaa.clikit import progress

    log = io.StringIO()
    with progress("plan", 3, Console(file=log, force_terminal=False, width=200)) as done:
        for stack in ("ma-01-prod", "ma-02-prod", "ma-03-prod"):
            done(stack)
    lines = log.getvalue().splitlines()
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "plan: 1/3 ma-01-prod",
        "plan: 2/3 ma-02-prod",
        "plan: 3/3 ma-03-prod",
    ]
    assert all(line.endswith(" s)") for line in lines)
    terminal = io.StringIO()
    with progress("plan", 2, Console(file=terminal, force_terminal=True, width=100)) as done:
        done("ma-01-prod")
        done("ma-02-prod")
    assert "plan" in terminal.getvalue() and "2/2" in terminal.getvalue()  # the bar's last frame


def test_long_multi_stack_commands_show_progress_on_stderr(tmp_path: Path) -> None:
    """`plan --all` reports each planned stack on standard error (its data stays in the JSON file)."""
    import subprocess
    import sys

    program = tmp_path / "program"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: tiny\nruntime: python\n")
    (program / "__main__.py").write_text(
        "import pulumi\nimport pulumi_aws as aws\n\n"
        "aws.s3.Bucket('logs', tags={'stack': pulumi.get_stack()})\n"
    )
    for stack in ("a", "b", "c"):
        (program / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    out = tmp_path / "plans.json"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "jamaa"),
            "plan",
            "--program",
            str(program),
            "--all",
            "--json",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(json.loads(out.read_text())["stacks"]) == 3
    progress_lines = [
        line.rsplit(" (", 1)[0] for line in proc.stderr.splitlines() if line.startswith("plan: ")
    ]
    assert progress_lines == ["plan: 1/3 a", "plan: 2/3 b", "plan: 3/3 c"], proc.stderr
    assert "plan: " not in proc.stdout
