"""CLD-* waivers in the offline check (JSON, SARIF, JUnit, text), refused when expired or misplaced
as for hosts, and policy-pack config that weakens a mandatory policy shown as a deviation."""

from __future__ import annotations

import json
import shutil
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jamaa.paths import REPO
from jamaa.policy.cli import policy_app
from jamaa.results import Status

runner = CliRunner()

PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    tags = {"jamaa:region": "MA-07", "jamaa:environment": "prod", "jamaa:data-class": "internal",
            "jamaa:cost-centre": "DGCT-R07", "jamaa:managed-by": "pulumi"}
    eu = aws.Provider("eu", region="eu-south-2")
    aws.ec2.Vpc("legacy-vpc", cidr_block="10.99.0.0/16", tags=tags, opts=pulumi.ResourceOptions(provider=eu))
"""
ONLY_FLOW_LOGS = {"all": "disabled", "vpc-flow-logs": "mandatory"}


def waiver(
    scope: dict[str, str], expires: str = "2027-06-30", control: str = "CLD-NET-004"
) -> dict[str, object]:
    return {
        "control": control,
        "scope": scope,
        "owner": "DSI Région Marrakech-Safi",
        "reason": "The legacy VPC is being drained into the tenancy VPC by March.",
        "expires": expires,
        "ticket": "DGCT-4242",
    }


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    program = tmp_path / "legacy"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: legacy\nruntime: python\n")
    (program / "Pulumi.legacy-prod.yaml").write_text(
        "config:\n  jamaa:region: MA-07\n  jamaa:environment: prod\n"
    )
    (program / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    envs = tmp_path / "environments"
    shutil.copytree(REPO / "environments", envs, ignore=shutil.ignore_patterns("generated", "secrets"))
    config = tmp_path / "pack.json"
    config.write_text(json.dumps(ONLY_FLOW_LOGS))
    return program, envs, config


def write_waivers(envs: Path, *entries: dict[str, object]) -> None:
    (envs / "prod" / "waivers.yaml").write_text(
        yaml.safe_dump({"waivers": list(entries)}, allow_unicode=True)
    )


def check(program: Path, envs: Path, config: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        policy_app,
        [
            "check",
            "legacy-prod",
            "--program",
            str(program),
            "--environments",
            str(envs),
            "--config",
            str(config),
            *extra,
        ],
        env={"COLUMNS": "250"},
    )
    return result.exit_code, result.stdout, result.stderr


def test_without_a_waiver_the_violation_blocks(setup: tuple[Path, Path, Path]) -> None:
    program, envs, config = setup
    write_waivers(envs)
    code, out, _ = check(program, envs, config, "-f", "json")
    assert code == 1
    [finding] = json.loads(out)["violations"]
    assert finding["status"] == Status.FAIL and finding["blocking"] and finding["waiver"] is None


@pytest.mark.parametrize(
    "scope",
    [
        {"kind": "stack", "value": "legacy-prod"},
        {"kind": "resource", "value": "legacy-vpc"},
        {"kind": "region", "value": "MA-07"},
    ],
    ids=lambda s: s["kind"],
)
def test_a_cloud_waiver_turns_the_violation_into_waived(
    setup: tuple[Path, Path, Path], scope: dict[str, str]
) -> None:
    program, envs, config = setup
    write_waivers(envs, waiver(scope))
    code, out, _ = check(program, envs, config, "-f", "json")
    assert code == 0
    report = json.loads(out)
    [finding] = report["violations"]
    assert finding["status"] == Status.WAIVED and not finding["blocking"]
    assert finding["waiver"] == {
        "control": "CLD-NET-004",
        "scope": f"{scope['kind']}:{scope['value']}",
        "owner": "DSI Région Marrakech-Safi",
        "reason": "The legacy VPC is being drained into the tenancy VPC by March.",
        "expires": "2027-06-30",
        "ticket": "DGCT-4242",
    }
    assert report["summary"]["waived"] == 1 and report["summary"]["violations"] == 0
    assert {p["name"]: p["status"] for p in report["policies"]}["vpc-flow-logs"] == Status.WAIVED


def test_waived_in_sarif_junit_and_text(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    program, envs, config = setup
    write_waivers(envs, waiver({"kind": "resource", "value": "legacy-vpc"}))
    code, out, _ = check(program, envs, config, "-f", "sarif")
    assert code == 0
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["level"] == "note" and result["properties"]["status"] == Status.WAIVED
    assert (
        result["suppressions"][0]["kind"] == "external"
        and "DGCT-4242" in result["suppressions"][0]["justification"]
    )
    target = tmp_path / "policy.xml"
    code, _, _ = check(program, envs, config, "-f", "junit", "-o", str(target))
    assert code == 0
    case = next(c for c in ET.parse(target).getroot().iter("testcase") if c.get("name") == "vpc-flow-logs")
    skipped = case.find("skipped")
    assert (
        skipped is not None and skipped.get("message") == "waived: 1 case(s)" and case.find("failure") is None
    )
    assert {p.get("value") for p in case.iter("property") if p.get("name") == "waiver"} == {
        "CLD-NET-004 DGCT-4242"
    }
    code, out, _ = check(program, envs, config)
    assert code == 0 and "WAIVED by DSI Région Marrakech-Safi until 2027-06-30 (DGCT-4242)" in out


def test_a_waiver_for_another_resource_or_stack_does_not_apply(setup: tuple[Path, Path, Path]) -> None:
    program, envs, config = setup
    write_waivers(
        envs,
        waiver({"kind": "resource", "value": "other-vpc"}),
        waiver({"kind": "stack", "value": "ma-07-prod"}),
    )
    code, out, _ = check(program, envs, config, "-f", "json")
    assert code == 1 and json.loads(out)["violations"][0]["status"] == Status.FAIL


def test_expired_or_misplaced_cloud_waivers_are_refused(setup: tuple[Path, Path, Path]) -> None:
    program, envs, config = setup
    write_waivers(envs, waiver({"kind": "stack", "value": "legacy-prod"}, expires="2025-01-31"))
    code, _, err = check(program, envs, config)
    assert code == 2
    assert (
        f"{envs / 'prod' / 'waivers.yaml'}: waivers[0].expires: waiver of CLD-NET-004 for stack legacy-prod "
        "expired on 2025-01-31 (owner: DSI Région Marrakech-Safi)"
    ) in err
    write_waivers(envs, waiver({"kind": "host", "value": "srv-01"}))
    code, _, err = check(program, envs, config)
    assert code == 2
    assert "waivers[0].scope.kind: a cloud control (CLD-NET-004) is waived for a stack, a resource" in err
    write_waivers(envs, waiver({"kind": "stack", "value": "legacy-prod"}, control="CLD-NET-999"))
    code, _, err = check(program, envs, config)
    assert code == 2 and "waivers[0].control: unknown control id CLD-NET-999" in err


def test_a_weakened_mandatory_policy_is_a_deviation(setup: tuple[Path, Path, Path]) -> None:
    program, envs, config = setup
    write_waivers(envs)
    config.write_text(json.dumps({"all": "disabled", "vpc-flow-logs": "advisory"}))
    code, out, _ = check(program, envs, config, "-f", "json")
    report = json.loads(out)
    assert code == 0
    deviations = {d["policy"]: d for d in report["deviations"]}
    assert deviations["vpc-flow-logs"] == {
        "policy": "vpc-flow-logs",
        "default": "mandatory",
        "configured": "advisory",
    }
    assert deviations["sg-no-world-admin-ports"]["configured"] == "disabled"
    assert "subnet-no-auto-public-ip" not in deviations  # advisory by default: nothing weakened
    code, out, _ = check(program, envs, config)
    assert "deviation: vpc-flow-logs is advisory by the policy-pack config (default: mandatory)" in out


def test_the_report_reads_waived_policies_and_deviations(setup: tuple[Path, Path, Path]) -> None:
    from jamaa.report.sources import policy_evidence

    program, envs, config = setup
    write_waivers(envs, waiver({"kind": "stack", "value": "legacy-prod"}))
    config.write_text(json.dumps({**ONLY_FLOW_LOGS, "rds-multi-az": "disabled"}))
    evidence = policy_evidence(["legacy-prod"], config, repo=program, environments=envs)
    assert evidence.stacks == ["legacy-prod"] and not evidence.errors
    [result] = [r for r in evidence.results if r.control == "CLD-NET-004"]
    assert result.status == Status.WAIVED and result.check == "vpc-flow-logs"
    assert len(result.detail) == 1 and result.detail[0].startswith("urn:pulumi:legacy-prod::legacy::")
    assert "legacy-prod: rds-multi-az is disabled (default mandatory)" in evidence.deviations
