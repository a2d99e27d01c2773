"""Fixture resources for the policy tests: planned resources with camelCase inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jamaa.plan.model import UNKNOWN

PROVIDER_URN = "urn:pulumi:test::fixture::pulumi:providers:aws::primary"


@dataclass(frozen=True)
class Res:
    """A planned resource for fixtures (same fields as jamaa.plan.PlannedResource)."""

    type: str
    name: str
    inputs: dict[str, Any]
    unknown_keys: set[str] = field(default_factory=set)
    provider_urn: str | None = None
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    parent_urn: str | None = None

    @property
    def urn(self) -> str:
        return f"urn:pulumi:test::fixture::{self.type}::{self.name}"


def provider(region: str = "eu-south-2", tags: dict[str, str] | None = None, name: str = "primary") -> Res:
    inputs: dict[str, Any] = {"region": region}
    if tags is not None:
        inputs["defaultTags"] = json.dumps({"tags": tags})
    return Res("pulumi:providers:aws", name, inputs)


def unknown() -> str:
    return UNKNOWN


Run = Callable[..., Any]
"""The `run_policy` fixture: run one policy over fixture resources (returns a jamaa.policy Report)."""
