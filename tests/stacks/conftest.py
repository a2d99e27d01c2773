"""Shared plans: every stack's program runs once per session under the mocks, and tests read it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tenancy_plans import ROOT, plan_strictly

from jamaa.config import Environments, load_environments
from jamaa.plan import Plan


@pytest.fixture(scope="session")
def envs() -> Environments:
    return load_environments(ROOT / "environments")


@pytest.fixture(scope="session")
def plan_of() -> Callable[[str], Plan]:
    cache: dict[str, Plan] = {}

    def get(stack: str) -> Plan:
        if stack not in cache:
            cache[stack] = plan_strictly(stack)
        return cache[stack]

    return get
