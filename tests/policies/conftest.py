"""Fixtures for the policy pack: the pack itself, and a way to run one policy over fixture resources.

Fixture resources carry inputs in the engine's camelCase, exactly as the offline plan (and the
Pulumi engine) hands them to the analyzer; they go through the same engine as `jamaa policy check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from policy_kit import Res

from jamaa.policy import Pack, Report, evaluate, load_pack


@pytest.fixture(scope="session")
def pack() -> Pack:
    return load_pack()


Run = Callable[..., Report]


@pytest.fixture(scope="session")
def run_policy(pack: Pack) -> Run:
    def run(policy: str, resources: list[Res], config: dict[str, Any] | None = None) -> Report:
        assert policy in pack.by_name(), f"no policy {policy}"
        return evaluate(resources, pack, stack="test", config=config, only=[policy])

    return run
