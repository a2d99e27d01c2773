"""Drill results (out/drill/ENV/results.json), the report's drill section, and `jamaa drill` bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.drill.results import DrillResults, collect, drill_section, duration, results_path, size
from jamaa.errors import ConfigError
from jamaa.report.sections import SECTIONS
from jamaa.results import Status

HOST_OK = {
    "host": "srv-01",
    "ok": True,
    "problems": [],
    "snapshot": "5eb982c7",
    "snapshot_time": "2026-11-25T18:13:56Z",
    "rpo_s": 9.7,
    "rto_s": 3.642,
    "restore_files_s": 2.1,
    "restore_databases_s": 1.5,
    "restored_bytes": 5748532,
    "files_verified": 41,
    "databases": {"commune_c0410101": {"tables": 1, "rows": 20000, "dump_bytes": 388000, "identical": True}},
}
HOST_BAD = {
    "host": "srv-02",
    "ok": False,
    "problems": ["/srv/communes/c0410109/pv.txt: checksum differs from the manifest"],
    "rpo_s": 50000.0,
    "rto_s": 1.2,
}


def _write(repo: Path, hosts: list[dict[str, object]]) -> Path:
    host_dir = repo / "out" / "drill" / "lab" / "hosts"
    host_dir.mkdir(parents=True)
    for host in hosts:
        (host_dir / f"{host['host']}.json").write_text(json.dumps(host))
    results = collect("lab", host_dir, 12.5)
    path = results_path(repo, "lab")
    path.write_text(results.model_dump_json())
    return path


def test_section_is_registered_and_missing_until_a_drill_ran(tmp_path: Path) -> None:
    assert drill_section in SECTIONS
    section = drill_section("lab", tmp_path)
    assert section is not None and section.status == Status.NOT_VERIFIED
    assert "jamaa drill --env lab" in section.intro


def test_section_shows_rpo_rto_per_host_and_fails_on_any_difference(tmp_path: Path) -> None:
    _write(tmp_path, [HOST_OK, HOST_BAD])
    section = drill_section("lab", tmp_path)
    assert section is not None and section.status == Status.FAIL
    rows = {row[0]: row for row in section.rows}
    assert rows["srv-01"][2:4] == ["9.7 s", "3.6 s"]
    assert rows["srv-01"][5] == "commune_c0410101 (20000)" and rows["srv-01"][-1] == "identical"
    assert rows["srv-02"][2] == "13.9 h" and rows["srv-02"][-1].startswith(
        "FAILED: /srv/communes/c0410109/pv.txt"
    )
    assert "1/2 hosts restored identical" in section.intro and "Worst RPO 13.9 h" in section.intro


def test_all_identical_is_ok(tmp_path: Path) -> None:
    path = _write(tmp_path, [HOST_OK])
    results = DrillResults.read(path)
    assert results.ok and results.summary() == {"hosts": 1, "passed": 1, "rpo_max_s": 9.7, "rto_max_s": 3.642}
    assert drill_section("lab", tmp_path).status == Status.PASS  # type: ignore[union-attr]


def test_an_unreadable_host_result_is_a_failed_host(tmp_path: Path) -> None:
    host_dir = tmp_path / "hosts"
    host_dir.mkdir()
    (host_dir / "srv-09.json").write_text("restic: command not found")
    results = collect("lab", host_dir, 1.0)
    assert not results.ok
    assert results.hosts[0].host == "srv-09" and "unreadable result" in results.hosts[0].problems[0]


def test_a_bad_results_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"environment": "lab", "generated": "x", "wall_s": "slow", "hosts": []}))
    with pytest.raises(ConfigError, match=r"results.json: wall_s: "):
        DrillResults.read(path)
    with pytest.raises(ConfigError, match="not found"):
        DrillResults.read(tmp_path / "absent.json")


def test_units() -> None:
    assert [duration(x) for x in (None, 4.25, 600, 90000)] == ["—", "4.2 s", "10.0 min", "25.0 h"]
    assert [size(x) for x in (None, 512, 2048, 5 * 1024**3)] == ["—", "512 B", "2.0 KiB", "5.0 GiB"]


def test_drill_cli_bad_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "--env", "nowhere", "--environments", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path}/nowhere: --env: no such environment directory" in result.output
    (tmp_path / "lab").mkdir()
    result = CliRunner().invoke(app, ["drill", "--env", "lab", "--environments", str(tmp_path)])
    assert result.exit_code == 2
    assert "--env lab: no lab inventory; run `jamaa lab up` first" in result.output
