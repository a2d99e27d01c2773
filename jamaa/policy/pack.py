"""Where the policy pack lives, and loading it without starting a policy server.

The policies are the importable package `policies/jamaa_policies` (the CrossGuard pack's own
modules). Importing it registers every policy's metadata; `build_policies(settings)` makes the
`pulumi_policy` objects. Only `policies/__main__.py` calls `PolicyPack(...)` (which serves gRPC).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from jamaa.errors import ConfigError
from jamaa.paths import ENVIRONMENTS as ENVIRONMENTS_DIR
from jamaa.paths import POLICIES as POLICIES_DIR


def policies_module(policies_dir: Path = POLICIES_DIR) -> ModuleType:
    """The `jamaa_policies` package (imported once; its directory is put on sys.path)."""
    path = str(policies_dir.resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("jamaa_policies")


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as the offline engine and the reports see it."""

    name: str
    family: str
    kind: str  # "resource" | "stack"
    description: str
    severity: str
    controls: tuple[str, ...]
    remediation: str
    default_enforcement: str
    config_schema: dict[str, dict[str, Any]]
    types: tuple[str, ...]  # resource types a resource policy looks at (empty: every type)
    policy: Any  # the pulumi_policy ResourceValidationPolicy / StackValidationPolicy


@dataclass(frozen=True)
class Pack:
    policies: list[PolicyInfo]
    settings: Any

    def by_name(self) -> dict[str, PolicyInfo]:
        return {p.name: p for p in self.policies}


def load_pack(environments: Path = ENVIRONMENTS_DIR, policies_dir: Path = POLICIES_DIR) -> Pack:
    """The pack's policies, their config defaults derived from `environments/`."""
    module = policies_module(policies_dir)
    if not environments.is_dir():
        raise ConfigError([f"{environments}: environments directory not found"])
    settings = module.Settings.from_environments(environments)
    infos = []
    for spec in module.specs():
        infos.append(
            PolicyInfo(
                name=spec.name,
                family=spec.family,
                kind=spec.kind,
                description=spec.description,
                severity=spec.severity,
                controls=tuple(spec.controls),
                remediation=spec.remediation,
                default_enforcement=spec.default_enforcement.value,
                config_schema=spec.config_schema(settings),
                types=tuple(spec.types),
                policy=spec.build(settings),
            )
        )
    return Pack(policies=infos, settings=settings)
