"""The real CrossGuard pack: `policies/__main__.py` serves the analyzer gRPC protocol the Pulumi CLI
speaks, and its answers agree with `jamaa policy check` on the same resources.

The pack is started as the Pulumi CLI starts it (its directory as the working directory, the port
printed on stdout); the test then plays the engine: GetAnalyzerInfo, Analyze, AnalyzeStack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import empty_pb2, struct_pb2
from pack_server import served_pack
from policy_cases import CASES
from policy_kit import Res
from pulumi.runtime.proto import analyzer_pb2

from jamaa.policy import Pack, evaluate
from jamaa.policy.pack import policies_module

POLICIES = Path(__file__).resolve().parents[2] / "policies"
MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    with served_pack(POLICIES) as stub:
        yield stub


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def as_analyzer_resource(resource: Res) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=struct(resource.inputs),
        urn=resource.urn,
        name=resource.name,
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
            for key, urns in resource.property_dependencies.items()
        },
    )


def offline(pack: Pack, resources: list[Res]) -> set[tuple[str, str]]:
    report = evaluate(resources, pack, stack="test")
    return {(f.policy, f.urn or "") for f in report.violations}


def test_the_pack_describes_every_policy(analyzer: Any, pack: Pack) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "jamaa"
    served = {p.name: p for p in info.policies}
    assert set(served) == set(pack.by_name())
    for name, local in pack.by_name().items():
        policy = served[name]
        assert policy.description == local.description
        assert policy.remediation_steps == local.remediation
        assert set(local.controls) <= set(policy.tags)
        expected = (
            MANDATORY
            if local.default_enforcement == "mandatory"
            else analyzer_pb2.EnforcementLevel.Value("ADVISORY")
        )
        assert policy.enforcementLevel == expected
        assert set(policy.configSchema.properties) == set(local.config_schema)
    # the national defaults travel as the pack's initial config
    assert "eu-south-2" in info.initialConfig["residency-allowed-region"].properties["allowed_regions"]


KINDS = {name: spec.kind for name, spec in policies_module().framework.REGISTRY.items()}
RESOURCE_CASES = [
    (policy, case, resources[0])
    for policy, case, resources, expected in CASES
    if expected is not None
    and KINDS[policy] == "resource"
    and len(resources) == 1
    and not resources[0].unknown_keys
    and not resources[0].type.startswith("pulumi:providers:")
]


@pytest.mark.parametrize(
    ("policy", "resource"), [pytest.param(p, r, id=f"{p}:{c}") for p, c, r in RESOURCE_CASES]
)
def test_analyze_agrees_with_the_offline_check(analyzer: Any, pack: Pack, policy: str, resource: Res) -> None:
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=resource.type, properties=struct(resource.inputs), urn=resource.urn, name=resource.name
        )
    )
    served = {(d.policyName, d.urn or resource.urn) for d in response.diagnostics}
    local = {item for item in offline(pack, [resource]) if pack.by_name()[item[0]].kind == "resource"}
    assert (policy, resource.urn) in served
    assert served == local


@pytest.mark.parametrize(
    ("policy", "case"),
    [
        ("s3-bucket-public-access-block", "missing"),
        ("s3-tls-only-policy", "no-deny"),
        ("vpc-flow-logs", "none"),
        ("vpc-flow-logs", "reject-only"),
        ("backup-vault-lock", "unlocked"),
        ("backup-stateful-resources-selected", "other-class"),
        ("rds-instance-tls-parameter-group", "default-group"),
    ],
)
def test_analyze_stack_agrees_with_the_offline_check(
    analyzer: Any, pack: Pack, policy: str, case: str
) -> None:
    [resources] = [r for p, c, r, _ in CASES if (p, c) == (policy, case)]
    response = analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(resources=[as_analyzer_resource(r) for r in resources])
    )
    served = {(d.policyName, d.urn) for d in response.diagnostics}
    local = {item for item in offline(pack, resources) if pack.by_name()[item[0]].kind == "stack"}
    assert any(name == policy for name, _ in served)
    assert served == local
