"""`jamaa controls show ID` / `jamaa controls list`: the auditor's path through one control, through the CLI.

The links come from the repository itself (no fixture stands in for a policy, a task or a check): each
file:line printed is opened and must name the control. The results and waivers are real files written
by the real writers (RunResults of `jamaa verify`, the audit's JSON) in a temporary out/ directory.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jamaa.audit.checks import Finding
from jamaa.audit.cli import render_json
from jamaa.cli import app
from jamaa.controls import load_catalogue
from jamaa.paths import REPO
from jamaa.report.model import Source, build_report
from jamaa.report.render import write_report
from jamaa.results import Result
from jamaa.verify.results import CheckResult, RunResults, Status
from jamaa.waivers import Waivers

runner = CliRunner()


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    out = tmp_path / "out"
    (out / "verify" / "lab").mkdir(parents=True)
    RunResults(
        environment="lab",
        started="2026-12-03T10:34:51+00:00",
        results=[
            CheckResult(host="srv-01", control="HOST-SSH-003", status=Status.PASS, severity="critical"),
            CheckResult(
                host="srv-02",
                control="HOST-SSH-003",
                status=Status.FAIL,
                severity="critical",
                message="sshd -T: passwordauthentication yes",
            ),
            CheckResult(host="srv-01", control="HOST-SSH-001", status=Status.PASS, severity="high"),
        ],
    ).write(out / "verify" / "lab" / "results.json")
    (out / "audit" / "staging").mkdir(parents=True)
    finding = Finding(
        check="s3-bucket-public-access-block",
        control="CLD-S3-001",
        status="fail",
        resource="jamaa-ma06-docs",
        detail="BlockPublicPolicy is false",
    )
    (out / "audit" / "staging" / "eu-south-2.json").write_text(
        render_json("eu-south-2", "staging", None, [finding])
    )
    verdict = Result(
        source="policy",
        control="CLD-S3-001",
        target="ma-06-staging",
        check="s3-public-access-block-settings",
        status=Status.FAIL,
        detail=[
            "urn:pulumi:ma-06-staging::jamaa::aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::docs: "
            "blockPublicPolicy is false"
        ],
    )
    report = build_report(
        "staging",
        load_catalogue(),
        None,
        [verdict],
        Waivers(environment="staging", entries=()),
        Source(),
        REPO,
        sections=(),
    )
    write_report(report, out / "report")
    envs = tmp_path / "environments"
    (envs / "staging").mkdir(parents=True)
    waiver = {
        "control": "CLD-S3-001",
        "scope": {"kind": "stack", "value": "ma-06-staging"},
        "owner": "DSI Région Marrakech-Safi",
        "reason": "Le site public de la région est servi depuis ce bucket jusqu'à la migration.",
        "expires": (date.today() + timedelta(days=30)).isoformat(),
        "ticket": "DGCT-77",
    }
    (envs / "staging" / "waivers.yaml").write_text(yaml.safe_dump({"waivers": [waiver]}), encoding="utf-8")
    return {"out": out, "envs": envs}


def _show(control: str, world: dict[str, Path], *extra: str) -> object:
    args = ["controls", "show", control, "--out-dir", str(world["out"]), "--environments", str(world["envs"])]
    return runner.invoke(app, [*args, *extra])


def _line(file: str, line: int) -> str:
    return (REPO / file).read_text(encoding="utf-8").splitlines()[line - 1]


def test_show_a_host_control_follows_the_whole_chain(world: dict[str, Path]) -> None:
    result = _show("HOST-SSH-003", world, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["file"].endswith("policies/controls/host-ssh.yaml")
    assert [(r["framework"], r["id"]) for r in data["references"]] == [
        ("cis-debian-12", None),
        ("anssi-bp-028", "R67"),
    ]
    assert data["references"][1]["version"] == "v2.0"
    enforced = data["enforced_by"]
    assert enforced and {e["kind"] for e in enforced} == {"role"}
    assert {e["name"] for e in enforced} == {"ssh_hardening"}
    for link in enforced:  # the line printed is the task that names the control
        assert "HOST-SSH-003" in _line(link["file"], link["line"]), link
    [check] = data["verified_by"]
    assert check["kind"] == "testinfra" and check["file"].endswith("hostchecks/ssh.py")
    assert '"HOST-SSH-003"' in _line(check["file"], check["line"])
    results = {(r["source"], r["target"], r["status"]) for r in data["results"]}
    assert results == {("host", "srv-01", "pass"), ("host", "srv-02", "fail")}
    assert all(r["when"] == "2026-12-03T10:34:51+00:00 (lab)" for r in data["results"])
    assert any(r["detail"] == "sshd -T: passwordauthentication yes" for r in data["results"])
    assert data["waivers"] == []


def test_show_a_cloud_control_names_policies_audit_results_and_waivers(world: dict[str, Path]) -> None:
    result = _show("cld-s3-001", world, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["id"] == "CLD-S3-001" and data["layer"] == "cloud"
    assert ("cis-aws-foundations-v3", "2.1.4") in [(r["framework"], r["id"]) for r in data["references"]]
    policies = {e["name"] for e in data["enforced_by"] if e["kind"] == "policy"}
    assert policies == set(load_catalogue()["CLD-S3-001"].policies) and policies
    for link in data["enforced_by"]:
        assert link["file"] == "policies/jamaa_policies/s3.py"
        declaration = (REPO / link["file"]).read_text().splitlines()[link["line"] - 1 : link["line"] + 8]
        assert f'name="{link["name"]}"' in "\n".join(declaration), link
    audits = [v for v in data["verified_by"] if v["kind"] == "audit"]
    assert {a["name"] for a in audits} == {"s3-account-public-access-block", "s3-bucket-public-access-block"}
    for audit in audits:
        assert "CLD-S3-001" in _line(audit["file"], audit["line"])
    policy, found = data["results"]
    assert (policy["source"], policy["target"], policy["check"], policy["status"]) == (
        "policy",
        "ma-06-staging",
        "s3-public-access-block-settings",
        "fail",
    )
    assert "blockPublicPolicy is false" in policy["detail"] and policy["file"].endswith(
        "report/report-staging.json"
    )
    assert (found["source"], found["check"], found["status"]) == (
        "audit",
        "s3-bucket-public-access-block",
        "fail",
    )
    assert (
        found["target"] == "eu-south-2: jamaa-ma06-docs" and found["detail"] == "BlockPublicPolicy is false"
    )
    assert found["file"].endswith("audit/staging/eu-south-2.json")
    [waiver] = data["waivers"]
    assert waiver["scope"] == "stack:ma-06-staging" and waiver["owner"] == "DSI Région Marrakech-Safi"
    assert waiver["status"] == "in force"


def test_show_as_a_table_reads_top_down(world: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "show.txt"
    result = _show("HOST-SSH-003", world, "-o", str(target))
    assert result.exit_code == 0 and result.output == ""
    text = target.read_text(encoding="utf-8")
    order = [
        "HOST-SSH-003",
        "References",
        "anssi-bp-028",
        "Enforced by",
        "roles/ssh_hardening/tasks/main.yml:",
    ]
    order += ["Verified by", "jamaa/baseline/hostchecks/ssh.py:", "Last results", "srv-02", "Waivers: none"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions), text


def test_a_refused_waiver_file_is_shown_not_dropped(world: dict[str, Path]) -> None:
    path = world["envs"] / "staging" / "waivers.yaml"
    data = yaml.safe_load(path.read_text())
    data["waivers"][0]["expires"] = (date.today() - timedelta(days=1)).isoformat()
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = _show("CLD-S3-001", world, "--format", "json")
    assert result.exit_code == 0, result.output
    [waiver] = json.loads(result.output)["waivers"]
    assert waiver["status"] == "refused" and "expired" in waiver["detail"]


def test_unknown_control_is_one_line_exit_2(world: dict[str, Path]) -> None:
    result = _show("HOST-NOPE-001", world)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "controls show: HOST-NOPE-001: no such control in policies/controls"
    ]


def test_list_an_area(tmp_path: Path) -> None:
    result = runner.invoke(app, ["controls", "list", "--area", "ssh", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    ssh = [c for c in load_catalogue().controls if c.startswith("HOST-SSH-")]
    assert [r["id"] for r in rows] == sorted(ssh) and len(rows) >= 25
    assert all(r["enforced_by"] == ["role:ssh_hardening"] for r in rows if r["id"] != "HOST-SSH-029")
    assert all(r["verified_by"] == [f"testinfra:{r['id']}"] for r in rows)
    table = runner.invoke(app, ["controls", "list", "--area", "S3", "-o", str(tmp_path / "s3.txt")])
    assert table.exit_code == 0, table.output
    text = (tmp_path / "s3.txt").read_text()
    assert "CLD-S3-001" in text and "policy:s3-bucket-public-access-block" in text and "HOST-" not in text


def test_list_unknown_area_is_one_line_exit_2() -> None:
    result = runner.invoke(app, ["controls", "list", "--area", "XYZ"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith("controls list: --area: unknown area 'XYZ' (areas: ") and "SSH" in line
