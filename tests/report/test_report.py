"""The evidence report: built from a small catalogue and results, rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.controls import load_catalogue
from jamaa.paths import REPO
from jamaa.report.cli import make_report
from jamaa.report.model import Source, build_report
from jamaa.report.render import render_html, write_report
from jamaa.results import Result, Status
from jamaa.verify.results import CheckResult, Reference, RunResults
from jamaa.waivers import load_waivers


def _control(cid: str, severity: str, layer: str = "host", kernel: bool = False) -> dict[str, object]:
    record: dict[str, object] = {
        "id": cid,
        "title": {"fr": f"Contrôle {cid}", "en": f"Control {cid}"},
        "rationale": "A rationale long enough for the schema.",
        "severity": severity,
        "layer": layer,
        "references": {"anssi-bp-028": None},
    }
    if layer == "host":
        record["kernel_level"] = kernel
    return record


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    controls = tmp_path / "controls"
    controls.mkdir()
    shutil.copy(REPO / "policies" / "controls" / "schema.json", controls / "schema.json")
    shutil.copy(REPO / "policies" / "frameworks.yaml", tmp_path / "frameworks.yaml")
    records = [
        _control("HOST-SSH-001", "high"),
        _control("HOST-SSH-002", "critical"),
        _control("HOST-SYS-001", "medium", kernel=True),
        _control("HOST-LOG-001", "low"),
        _control("CLD-S3-001", "high", layer="cloud"),
        _control("CLD-S3-002", "medium", layer="cloud"),
    ]
    (controls / "test.yaml").write_text(yaml.safe_dump({"controls": records}), encoding="utf-8")
    envs = tmp_path / "environments"
    (envs / "demo").mkdir(parents=True)
    expires = date.today() + timedelta(days=40)
    waiver = {
        "control": "HOST-LOG-001",
        "scope": {"kind": "host", "value": "srv-02"},
        "owner": "DSI Région Marrakech-Safi",
        "reason": "Le serveur de journaux régional n'est pas encore en service.",
        "expires": expires.isoformat(),
        "ticket": "DGCT-1234",
    }
    (envs / "demo" / "waivers.yaml").write_text(yaml.safe_dump({"waivers": [waiver]}), encoding="utf-8")

    def res(host: str, cid: str, status: Status, severity: str, message: str = "") -> CheckResult:
        return CheckResult(
            host=host,
            control=cid,
            status=status,
            severity=severity,
            area=cid.split("-")[1],
            message=message,
            duration_s=0.5,
            references=[Reference(framework="anssi-bp-028")],
        )

    results = RunResults(
        environment="demo",
        started="2026-11-25T17:00:00+00:00",
        wall_s=12.5,
        results=[
            res("srv-01", "HOST-SSH-001", Status.PASS, "high"),
            res("srv-02", "HOST-SSH-001", Status.PASS, "high"),
            res("srv-01", "HOST-SSH-002", Status.PASS, "critical"),
            res("srv-02", "HOST-SSH-002", Status.FAIL, "critical", "PasswordAuthentication is yes"),
            res("srv-01", "HOST-SYS-001", Status.NOT_APPLICABLE, "medium", "needs a real kernel"),
            res("srv-02", "HOST-SYS-001", Status.NOT_APPLICABLE, "medium", "needs a real kernel"),
            res("srv-01", "HOST-LOG-001", Status.PASS, "low"),
            res("srv-02", "HOST-LOG-001", Status.WAIVED, "low", "waived"),
        ],
    )
    results_path = tmp_path / "results.json"
    results.write(results_path)
    return {"controls": controls, "envs": envs, "results": results_path, "tmp": tmp_path}


def test_summary_aggregates_controls_and_hosts(world: dict[str, Path]) -> None:
    report = make_report(
        "demo", world["envs"], world["results"], policy=False, catalogue_root=world["controls"]
    )
    assert report.summary.controls == {
        Status.PASS: 1,  # HOST-SSH-001
        Status.FAIL: 1,  # HOST-SSH-002 fails on srv-02
        Status.WAIVED: 1,  # HOST-LOG-001
        Status.NOT_APPLICABLE: 1,  # HOST-SYS-001 on containers only
        Status.NOT_VERIFIED: 2,  # cloud controls without policy results
    }
    assert report.summary.by_severity["critical"][Status.FAIL] == 1
    assert report.summary.by_host["srv-02"] == {
        Status.PASS: 1,
        Status.FAIL: 1,
        Status.WAIVED: 1,
        Status.NOT_APPLICABLE: 1,
        Status.ERROR: 0,
    }
    assert report.waivers[0].owner == "DSI Région Marrakech-Safi"
    assert report.waivers[0].days_left == 40


def test_policy_and_audit_results_feed_cloud_controls(world: dict[str, Path]) -> None:
    catalogue = load_catalogue(world["controls"])
    results = RunResults.read(world["results"])
    urn = "urn:pulumi:lab::jamaa::aws:s3/bucket:Bucket::docs"
    policy = [
        Result(
            source="policy", control="CLD-S3-001", target="lab", check="s3-encryption", status=Status.PASS
        ),
        Result(
            source="policy",
            control="CLD-S3-002",
            target="lab",
            check="s3-versioning",
            status=Status.FAIL,
            enforcement="advisory",
            detail=[f"{urn}: versioning disabled"],
        ),
    ]
    waivers = load_waivers(world["envs"] / "demo", catalogue.controls)
    report = build_report("demo", catalogue, results, policy, waivers, Source(), REPO, sections=())
    overall = {c.id: c.overall for c in report.controls}
    assert overall["CLD-S3-001"] == Status.PASS
    assert overall["CLD-S3-002"] == Status.FAIL
    # the audit of the live account is the third source: a failed invariant fails the control
    audit = [
        Result(
            source="audit",
            control="CLD-S3-001",
            target="eu-south-2: docs",
            check="s3-bucket-public-access-block",
            status=Status.FAIL,
            message="off: BlockPublicAcls",
        )
    ]
    report = build_report(
        "demo", catalogue, results, policy, waivers, Source(), REPO, audit_results=audit, sections=()
    )
    row = {c.id: c for c in report.controls}["CLD-S3-001"]
    assert row.overall == Status.FAIL and row.audit_results == audit
    assert "s3-bucket-public-access-block" in render_html(report)


def test_the_audit_files_of_the_environment_are_read(tmp_path: Path) -> None:
    from jamaa.audit.checks import AuditDocument, Finding
    from jamaa.errors import ConfigError
    from jamaa.report.sources import audit_evidence

    folder = tmp_path / "out" / "audit" / "prod"
    folder.mkdir(parents=True)
    finding = Finding(
        check="guardduty-enabled",
        control="CLD-DET-001",
        status=Status.CANNOT_EVALUATE,
        resource="*",
        detail="404",
    )
    document = AuditDocument.of("eu-south-2", "prod", None, [finding])
    (folder / "eu-south-2.json").write_text(document.model_dump_json(), encoding="utf-8")
    found, files = audit_evidence("prod", tmp_path)
    assert [(r.control, r.status, r.target) for r in found] == [
        ("CLD-DET-001", Status.CANNOT_EVALUATE, "eu-south-2: *")
    ]
    assert files == [str(folder / "eu-south-2.json")]
    (folder / "eu-south-2.json").write_text('{"region": "eu-south-2"}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"eu-south-2.json: environment: Field required"):
        audit_evidence("prod", tmp_path)


@pytest.mark.slow
def test_real_policy_check_of_the_lab_stack() -> None:
    """The engine's results on the lab stack's offline plan (in process, one plan worker) feed the cloud
    controls' rows."""
    from jamaa.report.sources import policy_evidence

    evidence = policy_evidence(["lab"])
    assert evidence.stacks == ["lab"] and not evidence.errors
    assert evidence.results, "no policy named a control"
    statuses = {r.status for r in evidence.results}
    assert statuses <= {
        Status.PASS,
        Status.FAIL,
        Status.CANNOT_EVALUATE,
        Status.NOT_APPLICABLE,
        Status.WAIVED,
    }
    assert all(r.control.startswith("CLD-") and r.target == "lab" for r in evidence.results)


def test_html_is_self_contained_french_with_arabic_rtl_headings(world: dict[str, Path]) -> None:
    report = make_report(
        "demo", world["envs"], world["results"], policy=False, catalogue_root=world["controls"]
    )
    html = render_html(report)
    assert '<html lang="fr"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page must load nothing from outside"
    headings = re.findall(r'<span class="ar" dir="rtl" lang="ar">([^<]+)</span>', html)
    assert "ملخص" in headings and "مصفوفة الضوابط" in headings and "الاستثناءات" in headings
    assert "Synthèse" in html and "Matrice des contrôles" in html and "Dérogations" in html


def test_bad_results_file_is_one_line(world: dict[str, Path]) -> None:
    bad = world["tmp"] / "bad.json"
    bad.write_text('{"environment": "demo", "results": [{"host": "x"}]}', encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--env",
            "demo",
            "--environments",
            str(world["envs"]),
            "--results",
            str(bad),
            "--no-policy",
            "--catalogue",
            str(world["controls"]),
        ],
    )
    assert result.exit_code == 2
    assert f"{bad}: results.0.control: Field required" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (make apt)")
def test_chromium_renders_summary_numbers_and_rtl(world: dict[str, Path]) -> None:
    from jamaa.report.browser import dump_dom, screenshot

    report = make_report(
        "demo", world["envs"], world["results"], policy=False, catalogue_root=world["controls"]
    )
    html, data = write_report(report, world["tmp"] / "out")
    dom = dump_dom(html)
    for status, number in report.summary.controls.items():
        assert re.search(rf'id="count-{status}">{number}<', dom), (status, number)
    # the per-host table as Chromium built it: srv-02 has one failure
    row = re.search(r"<tr><td><code>srv-02</code></td>(.*?)</tr>", dom, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">([0-9.]+)</td>', row.group(1))[:5] == ["1", "1", "1", "1", "0"]
    assert 'dir="rtl" lang="ar">ملخص<' in dom
    assert json.loads(data.read_text(encoding="utf-8"))["summary"]["controls"] == report.summary.controls
    png = screenshot(html, world["tmp"] / "out" / "report.png", height=900)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
