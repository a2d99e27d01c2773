"""A pack published without the repository (`pulumi policy publish policies`) runs on its settings
snapshot: `jamaa policy settings -o policies/settings.json` writes it, the pack reads it when there is
no environments/ beside it, and refuses to start, in one line, when there is neither.

The published pack is played by a copy of policies/ in a directory of its own, started as the Pulumi
CLI starts it (its directory as working directory, the port on stdout).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from google.protobuf import empty_pb2
from pack_server import served_pack, start_pack
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.paths import ENVIRONMENTS, POLICIES
from jamaa.policy.pack import load_pack


def publish_copy(target: Path) -> Path:
    """policies/ as `pulumi policy publish` uploads it: the pack's own files, no repository around it."""
    pack = target / "policies"
    shutil.copytree(POLICIES, pack, ignore=shutil.ignore_patterns("__pycache__", "settings.json"))
    return pack


def test_the_settings_snapshot_holds_what_environments_give(tmp_path: Path) -> None:
    out = tmp_path / "settings.json"
    result = CliRunner().invoke(app, ["policy", "settings", "-o", str(out)])
    assert result.exit_code == 0, result.output
    settings = load_pack(ENVIRONMENTS).settings
    assert type(settings).from_json(out) == settings
    assert json.loads(out.read_text())["allowed_regions"] == list(settings.allowed_regions)


def test_a_published_pack_serves_the_policies_from_its_snapshot(tmp_path: Path) -> None:
    pack = publish_copy(tmp_path)
    snapshot = json.loads(CliRunner().invoke(app, ["policy", "settings"]).stdout)
    # a value environments/ does not hold: the served defaults can only come from the snapshot
    snapshot["allowed_regions"] = ["eu-west-3"]
    (pack / "settings.json").write_text(json.dumps(snapshot), encoding="utf-8")
    with served_pack(pack) as analyzer:
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert {p.name for p in info.policies} == set(load_pack().by_name())
    allowed = info.initialConfig["residency-allowed-region"].properties["allowed_regions"]
    assert list(allowed) == ["eu-west-3"]


def test_a_published_pack_without_a_snapshot_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    pack = publish_copy(tmp_path)
    process = start_pack(pack)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert err.strip().splitlines()[-1] == (
        f"{pack}: no environments/ beside the pack and no settings.json: write it with "
        f"`jamaa policy settings -o {pack / 'settings.json'}` before publishing the pack"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not a readable settings snapshot"),
        ("[]", "a settings snapshot is a JSON object"),
        ('{"allowed_region": []}', "allowed_region: not a setting"),
        ("{}", "primary_region: missing"),
    ],
)
def test_a_damaged_snapshot_is_refused_in_one_line(tmp_path: Path, content: str, reason: str) -> None:
    snapshot = tmp_path / "settings.json"
    snapshot.write_text(content, encoding="utf-8")
    settings_type = type(load_pack(ENVIRONMENTS).settings)
    with pytest.raises(ValueError) as error:
        settings_type.from_json(snapshot)
    assert str(error.value).startswith(f"{snapshot}: {reason}")
    assert "\n" not in str(error.value)
