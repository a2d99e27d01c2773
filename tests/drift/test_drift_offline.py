"""`jamaa drift` without the lab: cloud drift from recorded `pulumi preview --json` documents (the
PreviewDigest shape), bad input refused in one line, host events read per control id, an unreachable host
reported as unreachable (a real ansible-playbook run against a closed port), the report's drift section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jamaa.controls import load_catalogue
from jamaa.drift.hosts import findings_of, parse_events
from jamaa.drift.model import NO_CONTROL, DriftRun, Finding, TargetResult, control_ids
from jamaa.drift.section import drift_section
from jamaa.paths import REPO
from jamaa.results import Status

PREVIEWS = Path(__file__).parent / "previews"
BIN = Path(sys.executable).parent
KNOWN = load_catalogue(REPO / "policies" / "controls").controls


def jamaa(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(BIN / "jamaa"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_clean_refreshed_preview_is_no_drift_exit_0(tmp_path: Path) -> None:
    done = jamaa(
        "drift", "--env", "prod", "--preview", str(PREVIEWS / "ma-07-prod-clean.json"), "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = DriftRun.read(tmp_path / "cloud.json")
    assert [(t.target, t.status, t.findings) for t in run.targets] == [("ma-07-prod", Status.PASS, [])]


def test_a_drifted_preview_names_each_resource_and_its_controls_exit_1(tmp_path: Path) -> None:
    done = jamaa(
        "drift",
        "--env",
        "prod",
        "--preview",
        str(PREVIEWS / "ma-07-prod-drifted.json"),
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (target,) = DriftRun.read(tmp_path / "cloud.json").targets
    assert (
        target.status == Status.FAIL and target.message == ""
    )  # --expect-no-changes' own error is the drift
    by_control = {f.control: f for f in target.findings}
    assert set(by_control) == {"CLD-NET-001", "CLD-S3-005", "CLD-NET-004", NO_CONTROL}
    assert by_control["CLD-NET-001"].source.endswith("aws:ec2/securityGroup:SecurityGroup::ma-07-prod-app")
    assert by_control["CLD-NET-001"].detail == "update (ingress[1]: delete)"
    assert by_control["CLD-S3-005"].detail == "update (versioningConfiguration.status: update)"
    assert by_control["CLD-NET-004"].detail == "create"
    assert by_control[NO_CONTROL].source.endswith("metricAlarm:MetricAlarm::ma-07-prod-budget-alarm")
    drifted = "(no control id), CLD-NET-001, CLD-NET-004, CLD-S3-005"
    assert f"fail cloud ma-07-prod drifted: {drifted}" in done.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated.json", "truncated.json: not JSON (line 4, column 1: Expecting"),
        (
            "not-a-preview.json",
            "not-a-preview.json: steps: missing (not the output of `pulumi preview --json`)",
        ),
        ("step-without-op.json", "step-without-op.json: steps.0.op: missing or not a string"),
    ],
)
def test_a_malformed_preview_is_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, name: str, message: str
) -> None:
    out = tmp_path / "out"
    done = jamaa(
        "drift", "--env", "prod", "--preview", str(PREVIEWS / "ma-07-prod-clean.json"),
        "--preview", str(PREVIEWS / name), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not out.exists(), "a refused run wrote results"


def test_a_missing_preview_file_is_bad_input(tmp_path: Path) -> None:
    done = jamaa("drift", "--env", "prod", "--preview", str(tmp_path / "nope.json"), "--out", str(tmp_path))
    assert done.returncode == 2 and "nope.json: cannot read the preview" in done.stderr, done.stderr


def test_an_unknown_environment_is_bad_input() -> None:
    done = jamaa("drift", "--env", "no-such-env")
    assert done.returncode == 2 and "no-such-env: --env: no such environment directory" in done.stderr, (
        done.stderr
    )


def test_task_names_give_their_control_ids_ranges_expanded_through_the_catalogue() -> None:
    assert control_ids("sysctl_hardening : HOST-SYSCTL-013..015 | Set the running value", KNOWN) == [
        "HOST-SYSCTL-013",
        "HOST-SYSCTL-014",
        "HOST-SYSCTL-015",
    ]
    assert control_ids("HOST-SSH-003 | HOST-SSH-029 | sshd settings up to date", KNOWN) == [
        "HOST-SSH-003",
        "HOST-SSH-029",
    ]
    assert control_ids("SSH | Install the OpenSSH server, see HOST-SSH-001", KNOWN) == []


SSHD_BEFORE = "# HOST-SSH-006\nMaxAuthTries 6\n# HOST-SSH-007\nPermitEmptyPasswords no\n"
SSHD_AFTER = "# HOST-SSH-006\nMaxAuthTries 3\n# HOST-SSH-007\nPermitEmptyPasswords no\n"


def test_a_file_diff_is_drift_of_the_control_blocks_it_touches_only() -> None:
    result = {"changed": True, "diff": {"before": SSHD_BEFORE, "after": SSHD_AFTER, "after_header": "x"}}
    (finding,) = findings_of("ssh_hardening : HOST-SSH-003 | HOST-SSH-029 | sshd settings up to date", result)
    assert finding.control == "HOST-SSH-006"
    assert "-MaxAuthTries 6" in finding.detail and "+MaxAuthTries 3" in finding.detail


def test_loop_items_carry_their_own_control() -> None:
    result: dict[str, Any] = {
        "changed": True,
        "results": [
            {
                "changed": True,
                "item": ["HOST-SYSCTL-005", "net.ipv4.conf.all.accept_redirects", "0", "/f", "1"],
            },
            {"changed": False, "item": ["HOST-SYSCTL-009", "net.ipv4.conf.all.log_martians", "1", "/f", "1"]},
            {"changed": True, "item": {"key": "HOST-SVC-004", "value": ["telnetd"]}},
            {"changed": True, "item": {"path": "/etc/shadow", "control": "HOST-PERM-005"}},
        ],
    }
    found = findings_of("HOST-SYSCTL-001..029 | Set the running value", result, KNOWN)
    assert [f.control for f in found] == ["HOST-SYSCTL-005", "HOST-SVC-004", "HOST-PERM-005"]


def _event(
    host: str, result: dict[str, Any], name: str = "HOST-PERM-011 | Set the sticky bit"
) -> dict[str, Any]:
    return {"task": {"name": name}, "hosts": {host: result}}


def test_an_unreachable_or_failed_host_is_never_no_drift() -> None:
    document = {
        "plays": [
            {
                "tasks": [
                    _event("srv-01", {"changed": True, "item": "/srv/share"}),
                    _event("srv-02", {"unreachable": True, "msg": "ssh: connect to host port 22: No route"}),
                    _event("srv-03", {"failed": True, "msg": "boom"}),
                    _event("srv-04", {"changed": False}),
                ]
            }
        ],
        "stats": {
            "srv-01": {"changed": 1},
            "srv-02": {"unreachable": 1},
            "srv-03": {"failures": 1},
            "srv-04": {"ok": 1},
        },
    }
    results = {r.target: r for r in parse_events(document, KNOWN)}
    assert results["srv-01"].status == Status.FAIL and results["srv-01"].controls() == ["HOST-PERM-011"]
    assert results["srv-02"].status == Status.CANNOT_EVALUATE and "No route" in results["srv-02"].message
    assert results["srv-03"].status == Status.ERROR and "boom" in results["srv-03"].message
    assert results["srv-04"].status == Status.PASS


def test_a_real_check_run_against_a_host_that_does_not_answer_reports_it_unreachable(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[commune_servers]\nghost ansible_host=127.0.0.1 ansible_port=9 ansible_user=root\n", encoding="utf-8"
    )
    env_dir = tmp_path / "environments" / "ghost"
    env_dir.mkdir(parents=True)
    done = jamaa(
        "drift", "--env", "ghost", "--environments", str(tmp_path / "environments"),
        "--inventory", str(inventory), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (target,) = DriftRun.read(tmp_path / "out" / "hosts.json").targets
    assert (target.target, target.status) == ("ghost", Status.CANNOT_EVALUATE), target
    assert "cannot-evaluate hosts ghost (unreachable" in done.stdout, done.stdout


def test_the_report_section_shows_when_drift_ran_and_what_drifted(tmp_path: Path) -> None:
    assert drift_section("prod", tmp_path) is not None
    missing = drift_section("prod", tmp_path)
    assert (
        missing is not None
        and missing.status == Status.NOT_VERIFIED
        and "jamaa drift --env prod" in missing.intro
    )
    run = DriftRun(kind="hosts", environment="prod", ran_at="2026-12-03T08:00:00+00:00")
    run.targets = [
        TargetResult(
            target="srv-01",
            status=Status.FAIL,
            findings=[Finding(control="HOST-SSH-006", source="sshd settings up to date", detail="-a\n+b")],
        ),
        TargetResult(target="srv-02", status=Status.CANNOT_EVALUATE, message="unreachable: timeout"),
    ]
    run.write(tmp_path / "out" / "drift" / "prod" / "hosts.json")
    section = drift_section("prod", tmp_path)
    assert section is not None and section.status == Status.FAIL
    assert "hosts: last run 2026-12-03T08:00:00+00:00 (2 checked, 1 drifted, 1 not checked)" in section.intro
    assert section.rows[0][:5] == [
        "2026-12-03T08:00:00+00:00",
        "hosts",
        "srv-01",
        Status.FAIL,
        "HOST-SSH-006",
    ]
    assert section.rows[1][2:4] == ["srv-02", Status.CANNOT_EVALUATE]
    assert json.loads((tmp_path / "out" / "drift" / "prod" / "hosts.json").read_text())["kind"] == "hosts"
