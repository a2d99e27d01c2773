"""Every policy: at least one compliant and one non-compliant fixture, asserting the message; every
rule by meaning also has fixtures written the evasive way (split ranges, NotAction, the other type)."""

from __future__ import annotations

import pytest
from policy_cases import CASES
from policy_cases_meaning import MEANING_CASES, evasive_policies
from policy_kit import Res, Run

from jamaa.policy import Pack

ALL_CASES = CASES + MEANING_CASES

# The rules that judge by meaning: each must be shown to catch at least one evasive spelling.
BY_MEANING = {
    "sg-no-world-admin-ports",
    "sg-rule-no-world-admin-ports",
    "sg-ingress-rule-no-world-admin-ports",
    "sg-union-no-world-admin-ports",
    "nacl-no-world-admin-ports",
    "nacl-rule-no-world-admin-ports",
    "iam-no-wildcard-admin-policy",
    "iam-no-inline-admin",
    "iam-no-admin-managed-attachment",
    "iam-no-service-wildcard",
    "iam-no-privilege-escalation",
    "iam-trust-policy-no-outside-principal",
    "resource-policy-no-outside-principal",
    "s3-no-public-acl",
    "s3-policy-no-public-principal",
    "s3-bucket-public-access-block",
    "kms-key-policy-no-public-access",
    "cloudtrail-management-events",
    "cloudtrail-present",
    "environment-tag",
    "rds-deletion-protection",
    "rds-storage-encrypted",
    "rds-not-publicly-accessible",
    "ec2-instance-imdsv2",
    "ec2-launch-template-imdsv2",
    "ec2-instance-no-public-ip",
    "ec2-instance-encrypted-volumes",
    "ec2-launch-template-in-stack",
    "no-plaintext-secrets",
}


@pytest.mark.parametrize(
    ("policy", "resources", "expected"),
    [pytest.param(p, r, e, id=f"{p}:{i}") for p, i, r, e in ALL_CASES],
)
def test_policy_case(run_policy: Run, policy: str, resources: list[Res], expected: str | None) -> None:
    report = run_policy(policy, resources)
    messages = [f.message for f in report.violations]
    if expected is None:
        assert not report.findings, [f.to_json() for f in report.findings]
    else:
        assert any(expected in m for m in messages), messages
        assert all(f.policy == policy for f in report.findings)


def test_every_policy_has_compliant_and_non_compliant_fixtures(pack: Pack) -> None:
    compliant = {p for p, _, _, e in ALL_CASES if e is None}
    broken = {p for p, _, _, e in ALL_CASES if e is not None}
    names = set(pack.by_name())
    assert names - compliant == set(), "policies without a compliant fixture"
    assert names - broken == set(), "policies without a non-compliant fixture"
    assert (compliant | broken) - names == set(), "fixtures for policies that do not exist"


def test_every_rule_by_meaning_has_an_evasive_fixture(pack: Pack) -> None:
    assert set(pack.by_name()) >= BY_MEANING
    assert BY_MEANING - evasive_policies() == set(), "rules without an evasive fixture"


def test_case_ids_are_unique() -> None:
    ids = [(p, i) for p, i, _, _ in ALL_CASES]
    assert len(ids) == len(set(ids))
