"""Shared plans: every stack's program runs once per session under the mocks, and tests read it
(its registered resources, and the values it exports as stack outputs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pulumi
import pytest
from tenancy_plans import ROOT, plan_strictly

from jamaa.config import Environments, load_environments
from jamaa.plan import Plan


@pytest.fixture(scope="session")
def envs() -> Environments:
    return load_environments(ROOT / "environments")


@contextmanager
def recording_exports(into: dict[str, Any]) -> Iterator[None]:
    """`pulumi.export` still exports; each name and value is also kept in `into`."""
    original = pulumi.export

    def export(name: str, value: Any) -> None:
        into[name] = value
        original(name, value)

    with mock.patch.object(pulumi, "export", export):
        yield


_outputs: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session")
def plan_of() -> Callable[[str], Plan]:
    cache: dict[str, Plan] = {}

    def get(stack: str) -> Plan:
        if stack not in cache:
            exported: dict[str, Any] = {}
            with recording_exports(exported):
                cache[stack] = plan_strictly(stack)
            _outputs[stack] = exported
        return cache[stack]

    return get


@pytest.fixture(scope="session")
def outputs_of(plan_of: Callable[[str], Plan]) -> Callable[[str], dict[str, Any]]:
    """A stack's outputs (`pulumi.export` values) as its program exported them."""

    def get(stack: str) -> dict[str, Any]:
        plan_of(stack)
        return _outputs[stack]

    return get
