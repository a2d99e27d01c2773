# ruff: noqa: E501  (expected messages and fixtures read best on one line)
"""The offline engine: unknown values, not-applicable, configuration, and the pack's own objects."""

from __future__ import annotations

import ast

import pytest
from policy_cases import T  # the resource-type names, once
from policy_kit import Res, Run, unknown
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from jamaa.errors import ConfigError
from jamaa.paths import POLICIES
from jamaa.policy import Pack, evaluate, resolve_config
from jamaa.results import Status


def test_unknown_reference_is_reported_not_passed(run_policy: Run) -> None:
    resources = [
        Res(T.S3_BUCKETS[0], "docs", {"bucket": "docs-b"}),
        Res(T.S3_PUBLIC_ACCESS_BLOCKS[0], "pab", {"bucket": unknown()}, {"bucket"}),
    ]
    report = run_policy("s3-bucket-public-access-block", resources)
    assert not report.violations
    [finding] = report.unknowns
    assert finding.message.startswith("cannot evaluate offline: string value at .bucket")
    assert finding.to_json()["status"] == Status.CANNOT_EVALUATE
    assert report.exit_code == 0


def test_unknown_resource_input_is_reported(run_policy: Run) -> None:
    report = run_policy(
        "rds-not-publicly-accessible",
        [
            Res(
                T.RDS_INSTANCE,
                "db",
                {"storageEncrypted": True, "publiclyAccessible": unknown()},
                {"publiclyAccessible"},
            )
        ],
    )
    [finding] = report.unknowns
    assert ".publiclyAccessible" in finding.message
    assert finding.urn == "urn:pulumi:test::fixture::aws:rds/instance:Instance::db"


def test_a_value_known_only_after_deployment_is_still_a_value(run_policy: Run) -> None:
    """A key ARN only known after deployment is set: "is a customer key named?" is decided offline."""
    report = run_policy(
        "rds-storage-encrypted",
        [
            Res(
                T.RDS_INSTANCE,
                "db",
                {"storageEncrypted": True, "kmsKeyId": unknown()},
                {"kmsKeyId"},
            )
        ],
    )
    assert not report.findings


def test_not_applicable_is_counted(run_policy: Run) -> None:
    report = run_policy(
        "rds-multi-az",
        [Res(T.RDS_INSTANCE, "db", {"multiAz": False, "tags": {"jamaa:environment": "lab"}})],
    )
    assert not report.findings
    assert report.not_applicable == 1


def test_violations_of_a_mandatory_policy_fail_and_advisory_ones_do_not(run_policy: Run) -> None:
    bad = [Res(T.SUBNET, "s", {"mapPublicIpOnLaunch": True})]
    advisory = run_policy("subnet-no-auto-public-ip", bad)  # medium: advisory by default
    assert advisory.violations and advisory.exit_code == 0
    mandatory = run_policy("subnet-no-auto-public-ip", bad, config={"subnet-no-auto-public-ip": "mandatory"})
    assert mandatory.exit_code == 1
    disabled = run_policy(
        "subnet-no-auto-public-ip", bad, config={"subnet-no-auto-public-ip": {"enforcementLevel": "disabled"}}
    )
    assert not disabled.findings


def test_knobs_override_defaults(run_policy: Run) -> None:
    rule = [
        Res(
            T.SG_INGRESS_RULE,
            "r",
            {"cidrIpv4": "0.0.0.0/0", "fromPort": 8080, "toPort": 8080, "ipProtocol": "tcp"},
        )
    ]
    assert not run_policy("sg-ingress-rule-no-world-admin-ports", rule).findings
    report = run_policy(
        "sg-ingress-rule-no-world-admin-ports",
        rule,
        config={"sg-ingress-rule-no-world-admin-ports": {"admin_ports": [8080]}},
    )
    assert [f.message for f in report.violations] == [
        "Ingress rule opens port 8080 from the internet (0.0.0.0/0)."
    ]


def test_config_defaults_come_from_environments(pack: Pack) -> None:
    by_name = pack.by_name()
    settings = pack.settings
    assert by_name["residency-allowed-region"].config_schema["allowed_regions"]["default"] == list(
        settings.allowed_regions
    )
    assert by_name["mandatory-tags"].config_schema["mandatory_tags"]["default"] == list(
        settings.mandatory_tags
    )
    floors = by_name["backup-plan-retention-floor"].config_schema["retention_floor_days"]["default"]
    assert floors == {c: settings.retention_floor_days[c] for c in ("internal", "personal", "public")}
    refs = [
        a["reference"]
        for a in by_name["residency-personal-data-cndp"].config_schema["authorisations"]["default"]
    ]
    assert refs == [a["reference"] for a in settings.cndp_authorisations]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"all": "loud"}, "policy config: all: 'loud' is not one of"),
        (
            {"kms-key-rotation": 3},
            "policy config: kms-key-rotation: expected an enforcement level or an object",
        ),
        (
            {"kms-key-rotation": {"enforcementLevel": "sometimes"}},
            "policy config: kms-key-rotation.enforcementLevel: 'sometimes'",
        ),
        (
            {"kms-key-rotation": {"colour": "red"}},
            "policy config: kms-key-rotation: Additional properties are not allowed ('colour' was unexpected)",
        ),
    ],
)
def test_bad_config_names_policy_and_field(pack: Pack, raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_config(pack, raw)
    assert any(p.startswith(message) for p in caught.value.problems), caught.value.problems


def test_policies_are_real_pulumi_policy_objects_with_metadata(pack: Pack) -> None:
    assert len(pack.policies) >= 45
    for info in pack.policies:
        policy = info.policy
        assert isinstance(
            policy, ResourceValidationPolicy if info.kind == "resource" else StackValidationPolicy
        )
        assert policy.name == info.name and policy.description and policy.remediation_steps
        assert policy.severity is not None and policy.severity.value == info.severity
        assert policy.config_schema is not None
        assert set(info.controls) <= set(policy.tags or [])
        expected = "mandatory" if info.severity in ("high", "critical") else "advisory"
        assert policy.enforcement_level is not None and policy.enforcement_level.value == expected
        assert info.name == info.name.lower() and " " not in info.name and "_" not in info.name


def test_policy_modules_never_build_a_pack() -> None:
    """Building a PolicyPack starts a gRPC server: only policies/__main__.py may do it."""
    for path in (POLICIES / "jamaa_policies").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
        }
        assert "PolicyPack" not in names, path
    main = ast.parse((POLICIES / "__main__.py").read_text())
    calls = [
        n for n in ast.walk(main) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PolicyPack"
    ]
    assert len(calls) == 1


def test_pack_files_are_what_the_pulumi_cli_expects() -> None:
    import yaml

    manifest = yaml.safe_load((POLICIES / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    requirements = (POLICIES / "requirements.txt").read_text()
    assert "pulumi-policy==" in requirements


def test_evaluation_error_in_a_policy_is_an_error_not_a_pass(pack: Pack) -> None:
    from jamaa.policy import PolicyEvaluationError

    weird = [Res(T.BACKUP_VAULT_LOCK, "l", {"minRetentionDays": "many"})]
    with pytest.raises(PolicyEvaluationError, match="policy backup-vault-lock-settings on urn:"):
        evaluate(weird, pack, stack="t", only=["backup-vault-lock-settings"])
