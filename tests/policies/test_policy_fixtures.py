"""Every policy: at least one compliant and one non-compliant fixture, asserting the message."""

from __future__ import annotations

import pytest
from conftest import Run
from policy_cases import CASES
from policy_kit import Res

from jamaa.policy import Pack


@pytest.mark.parametrize(
    ("policy", "resources", "expected"),
    [pytest.param(p, r, e, id=f"{p}:{i}") for p, i, r, e in CASES],
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
    compliant = {p for p, _, _, e in CASES if e is None}
    broken = {p for p, _, _, e in CASES if e is not None}
    names = set(pack.by_name())
    assert names - compliant == set(), "policies without a compliant fixture"
    assert names - broken == set(), "policies without a non-compliant fixture"
    assert (compliant | broken) - names == set(), "fixtures for policies that do not exist"


def test_case_ids_are_unique() -> None:
    ids = [(p, i) for p, i, _, _ in CASES]
    assert len(ids) == len(set(ids))
