"""`jamaa policy check`: deliberately broken programs fail with the expected policies; the tenancy's
stacks pass; bad input exits 2 with a message naming what and why."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.paths import REPO
from jamaa.plan import known_stacks
from jamaa.policy.cli import policy_app
from jamaa.results import Status

PROGRAMS = Path(__file__).parent / "programs"
runner = CliRunner()

BROKEN = {
    "public-bucket": {"s3-public-access-block-settings", "s3-policy-no-public-principal"},
    "ssh-open-to-world": {"sg-no-world-admin-ports", "sg-ingress-rule-no-world-admin-ports"},
    "public-unencrypted-database": {"rds-not-publicly-accessible", "rds-storage-encrypted"},
    "vpc-without-flow-logs": {"vpc-flow-logs"},
    "backups-without-lock": {"backup-vault-lock"},
    "host-backups-deletable": {"backup-host-bucket-object-lock", "backup-host-bucket-no-version-removal"},
    "sensitive-data-abroad": {"residency-sensitive-not-in-aws", "residency-allowed-region"},
    "personal-data-without-cndp": {"residency-personal-data-cndp", "residency-allowed-region"},
    "subverting-rules": {"sg-ingress-rule-no-world-admin-ports"},
    "default-provider-abroad": {"residency-allowed-region"},
}


def check(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(policy_app, ["check", *args], env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_there_are_at_least_six_broken_programs() -> None:
    programs = {p.name for p in PROGRAMS.iterdir() if (p / "__main__.py").is_file()}
    assert programs == set(BROKEN)
    assert len(programs) >= 6


@pytest.mark.parametrize("program", sorted(BROKEN))
def test_broken_program_fails_with_expected_policies(program: str) -> None:
    code, out, err = check("--program", str(PROGRAMS / program), "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    mandatory = {
        f["policy"]
        for f in report["violations"]
        if f["status"] == Status.FAIL and f["enforcement"] == "mandatory"
    }
    assert BROKEN[program] <= mandatory, mandatory
    assert report["passed"] is False
    for finding in report["violations"]:
        assert finding["controls"] and finding["remediation"]
    statuses = {p["name"]: p["status"] for p in report["policies"]}
    assert all(statuses[name] == Status.FAIL for name in BROKEN[program])
    assert set(statuses.values()) <= {
        Status.PASS,
        Status.FAIL,
        Status.CANNOT_EVALUATE,
        Status.NOT_APPLICABLE,
        Status.DISABLED,
    }
    assert Status.PASS in statuses.values()


def test_text_report_names_policy_resource_message_and_controls() -> None:
    code, out, _ = check("--program", str(PROGRAMS / "ssh-open-to-world"))
    assert code == 1
    for fragment in ("sg-no-world-admin-ports", "CLD-NET-001", "opens port 22 from", "FAILED", "Remediation"):
        assert fragment in out


def test_sarif_output_is_sarif_2_1_0() -> None:
    code, out, _ = check("--program", str(PROGRAMS / "public-bucket"), "--format", "sarif")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {"s3-public-access-block-settings"}
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        assert result["properties"]["controls"]


def test_junit_output_carries_control_ids(tmp_path: Path) -> None:
    target = tmp_path / "policy.xml"
    code, _, _ = check(
        "--program", str(PROGRAMS / "vpc-without-flow-logs"), "--format", "junit", "-o", str(target)
    )
    assert code == 1
    suite = ET.parse(target).getroot().find("testsuite")
    assert suite is not None
    case = next(c for c in suite.iter("testcase") if c.get("name") == "vpc-flow-logs")
    assert case.find("failure") is not None
    assert {p.get("value") for p in case.iter("property") if p.get("name") == "control"} == {"CLD-NET-004"}
    assert int(suite.get("failures", "0")) >= 1


def test_advisory_config_turns_a_failure_into_a_pass(tmp_path: Path) -> None:
    config = tmp_path / "pack.json"
    levels = {name: "advisory" for name in BROKEN["vpc-without-flow-logs"] | {"cloudtrail-present"}}
    levels.update({"guardduty-enabled": "disabled", "config-recorder-enabled": "disabled"})
    config.write_text(json.dumps(levels))
    code, out, err = check(
        "--program", str(PROGRAMS / "vpc-without-flow-logs"), "--config", str(config), "-f", "json"
    )
    assert code == 0, err
    findings = json.loads(out)["violations"]
    assert {f["enforcement"] for f in findings if f["policy"] == "vpc-flow-logs"} == {"advisory"}
    assert not [f for f in findings if f["policy"] == "guardduty-enabled"]
    statuses = {p["name"]: p["status"] for p in json.loads(out)["policies"]}
    assert statuses["guardduty-enabled"] == Status.DISABLED and statuses["vpc-flow-logs"] == Status.FAIL


def test_bad_config_is_refused_with_its_field(tmp_path: Path) -> None:
    config = tmp_path / "pack.json"
    config.write_text(
        json.dumps({"sg-no-world-admin-ports": {"admin_ports": ["ssh"]}, "no-such-policy": "mandatory"})
    )
    code, _, err = check("--program", str(PROGRAMS / "vpc-without-flow-logs"), "--config", str(config))
    assert code == 2
    assert "policy config: no-such-policy: no such policy" in err
    assert "sg-no-world-admin-ports.admin_ports.0: 'ssh' is not of type 'integer'" in err


def test_unknown_stack_exits_2() -> None:
    code, _, err = check("ma-13-prod")
    assert code == 2
    assert "STACK: unknown stack 'ma-13-prod'" in err


def test_program_error_exits_2(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi_aws as aws\naws.s3.Bucket('b', no_such_argument=1)\n"
    )
    code, _, err = check("--program", str(tmp_path))
    assert code == 2
    assert "no_such_argument" in err


def test_missing_program_dir_exits_2(tmp_path: Path) -> None:
    code, _, err = check("--program", str(tmp_path / "nowhere"))
    assert code == 2
    assert "not a directory" in err


def test_bad_format_exits_2() -> None:
    code, _, err = check("ma-07-prod", "--format", "html")
    assert code == 2
    assert "--format: 'html' is not one of text, json, sarif, junit" in err


def test_ma_07_prod_passes() -> None:
    code, out, err = check("ma-07-prod")
    assert code == 0, out + err
    assert "PASSED" in out


def test_the_program_cannot_switch_the_rules_off() -> None:
    """It patched the engine and the rules and printed a forged result: it ran in the worker process."""
    code, out, _ = check("--program", str(PROGRAMS / "subverting-rules"), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["passed"] is False
    assert len(report["policies"]) > 45
    assert any(
        f["policy"] == "sg-ingress-rule-no-world-admin-ports" and f["status"] == Status.FAIL
        for f in report["violations"]
    )


def test_a_program_that_kills_its_worker_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: quitter\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import os\nos._exit(0)\n")
    code, _, err = check("--program", str(tmp_path))
    assert code == 2
    assert "the program ended the plan worker (exit code 0) before this stack was planned" in err


STRICT_PROGRAM = """
import pulumi
import pulumi_aws as aws

flag = aws.s3.Bucket("flags").id.apply(lambda _: False)  # known only after deployment
aws.rds.Instance(
    "db",
    engine="postgres",
    instance_class="db.t4g.micro",
    allocated_storage=20,
    publicly_accessible=flag,
    storage_encrypted=True,
)
"""


def test_strict_fails_a_mandatory_policy_that_cannot_be_evaluated(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: undecided\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(STRICT_PROGRAM)
    config = tmp_path / "only.json"
    config.write_text(json.dumps({"all": "disabled", "rds-not-publicly-accessible": "mandatory"}))
    code, out, _ = check("--program", str(tmp_path), "--config", str(config), "-f", "json")
    report = json.loads(out)
    assert code == 0 and report["passed"] and not report["strict"]
    [finding] = report["violations"]
    assert finding["status"] == Status.CANNOT_EVALUATE and finding["blocking"] is False
    code, out, _ = check("--program", str(tmp_path), "--config", str(config), "-f", "json", "--strict")
    report = json.loads(out)
    assert code == 1 and not report["passed"] and report["strict"]
    [finding] = report["violations"]
    assert finding["blocking"] is True and ".publiclyAccessible" in finding["message"]
    code, out, _ = check("--program", str(tmp_path), "--config", str(config), "--strict")
    assert code == 1 and "strict" in out


@pytest.mark.slow
def test_every_stack_passes_every_mandatory_policy_strictly() -> None:
    """The whole estate (every Pulumi.<stack>.yaml), planned in one worker process, checked under
    --strict: no mandatory violation, and no mandatory policy left undecided offline."""
    code, out, err = check("--all", "--strict", "--format", "json")
    document = json.loads(out)
    assert code == 0, [(s["stack"], s["violations"]) for s in document["stacks"] if not s["passed"]] or err
    stacks = {s["stack"] for s in document["stacks"]}
    expected = {f"ma-{n:02d}-{env}" for n in range(1, 13) for env in ("prod", "staging")} | {"lab"}
    assert expected <= stacks and stacks == set(known_stacks(REPO))
    assert document["passed"] and not document["errors"]
    for report in document["stacks"]:
        assert report["strict"] and report["summary"]["resources"] >= (
            100 if report["stack"].startswith("ma-") else 20
        )
        assert report["summary"]["mandatory_violations"] == 0


def test_list_shows_every_policy_with_controls() -> None:
    result = runner.invoke(policy_app, ["list", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 45
    for row in rows:
        assert row["controls"] and row["severity"] in ("low", "medium", "high", "critical")
        expected = "mandatory" if row["severity"] in ("high", "critical") else "advisory"
        assert row["enforcement"] == expected
    text = runner.invoke(policy_app, ["list"])
    assert text.exit_code == 0
    assert "CLD-S3-001" in text.stdout
