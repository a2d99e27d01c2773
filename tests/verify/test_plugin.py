"""The results plugin: statuses, properties and JUnit, with and without pytest-xdist."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jamaa.verify.results import RunResults, Status

SUITE = """
import json
import pytest

def _meta(record, control, host="srv-01"):
    record("control", control)
    record("host", host)
    record("severity", "high")
    record("references", json.dumps([{"framework": "anssi-bp-028", "id": "R29"}]))

def test_pass(record_property):
    _meta(record_property, "HOST-SSH-001")
    record_property("jamaa_status", "pass")

def test_fail(record_property):
    _meta(record_property, "HOST-SSH-002")
    record_property("jamaa_status", "fail")
    assert "yes" == "no", "PasswordAuthentication is yes"

def test_waived(record_property):
    _meta(record_property, "HOST-SSH-003", "srv-02")
    record_property("jamaa_status", "waived")
    waiver = {"owner": "DSI", "reason": "legacy client", "expires": "2027-03-31"}
    record_property("waiver", json.dumps(waiver))
    record_property("observed", "fail")
    pytest.skip("waived until 2027-03-31 by DSI: legacy client")

def test_not_applicable(record_property):
    _meta(record_property, "HOST-SYS-001", "srv-02")
    record_property("jamaa_status", "not-applicable")
    record_property("reason", "needs a real kernel")
    pytest.skip("not applicable: needs a real kernel")

def test_error(record_property):
    _meta(record_property, "HOST-SYS-002")
    raise ConnectionError("host unreachable")

def test_plain_skip_is_not_a_pass(record_property):
    _meta(record_property, "HOST-SYS-003")
    pytest.skip("someone skipped this")
"""


def _run(tmp_path: Path, *extra: str) -> tuple[RunResults, ET.Element]:
    (tmp_path / "test_fake.py").write_text(SUITE, encoding="utf-8")
    out = tmp_path / "results.json"
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path / "test_fake.py"),
            "-p",
            "jamaa.verify.plugin",
            f"--jamaa-results={out}",
            "--jamaa-env=demo",
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit1",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--rootdir={tmp_path}",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return RunResults.read(out), ET.parse(junit).getroot()


@pytest.mark.parametrize("extra", [["-p", "no:xdist"], ["-n", "2"]], ids=["serial", "xdist"])
def test_statuses_and_properties(tmp_path: Path, extra: list[str]) -> None:
    results, junit = _run(tmp_path, *extra)
    status = {r.control: r.status for r in results.results}
    assert status == {
        "HOST-SSH-001": Status.PASS,
        "HOST-SSH-002": Status.FAIL,
        "HOST-SSH-003": Status.WAIVED,
        "HOST-SYS-001": Status.NOT_APPLICABLE,
        "HOST-SYS-002": Status.ERROR,
        "HOST-SYS-003": Status.ERROR,
    }
    by_id = {r.control: r for r in results.results}
    assert by_id["HOST-SSH-003"].waiver is not None and by_id["HOST-SSH-003"].waiver.owner == "DSI"
    assert by_id["HOST-SSH-003"].observed == Status.FAIL
    assert "PasswordAuthentication is yes" in by_id["HOST-SSH-002"].message
    assert by_id["HOST-SYS-001"].message == "needs a real kernel"
    assert by_id["HOST-SSH-001"].references[0].id == "R29"
    assert results.environment == "demo"
    assert results.counts_by("host")["srv-02"]["waived"] == 1
    assert not results.ok()
    props = {
        (case.get("name"), p.get("name")): p.get("value")
        for case in junit.iter("testcase")
        for p in case.iter("property")
    }
    assert props[("test_fail", "control")] == "HOST-SSH-002"
    assert props[("test_fail", "severity")] == "high"
    assert "R29" in props[("test_fail", "references")]
