"""Offline policy evaluation: the pack's own validate functions over a plan's resources and stack.

The engine builds the same argument objects the CrossGuard analyzer builds (`pulumi_policy`'s
`ResourceValidationArgs`, `StackValidationArgs`, `PolicyResource`, props wrapped in its
unknown-checking proxy) and calls each policy's `validate`, so `pulumi preview --policy-pack policies`
and `jamaa policy check` cannot disagree. Like the analyzer, a policy that reads a value only known
after deployment is reported as "cannot evaluate offline" (never passed), and `not_applicable()`
skips it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import jsonschema
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from jamaa.errors import ConfigError, JamaaError
from jamaa.policy.pack import Pack, PolicyInfo
from jamaa.results import Result, Status

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
FindingKind = Literal["violation", "unknown"]


class PolicyEvaluationError(JamaaError):
    """A policy raised an unexpected error (a bug in the policy or a malformed input)."""


class ResourceLike(Protocol):
    """What the engine needs of a planned resource (jamaa.plan.PlannedResource fits)."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def parent_urn(self) -> str | None: ...
    @property
    def inputs(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Finding:
    policy: str
    family: str
    severity: str
    enforcement: str
    kind: FindingKind
    message: str
    controls: tuple[str, ...]
    remediation: str
    description: str
    urn: str | None = None
    name: str | None = None
    resource_type: str | None = None
    strict: bool = False
    """Under --strict a mandatory policy that cannot be evaluated offline fails, as a violation does."""
    waiver: dict[str, Any] | None = None
    """The CLD-* waiver (control, scope, owner, reason, expires, ticket) that covers this finding."""

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    @property
    def blocking(self) -> bool:
        if self.waived or self.enforcement != "mandatory":
            return False
        return self.kind == "violation" or (self.strict and self.kind == "unknown")

    @property
    def status(self) -> Status:
        """fail (a violation) | cannot-evaluate (offline) | waived."""
        if self.waived:
            return Status.WAIVED
        return Status.FAIL if self.kind == "violation" else Status.CANNOT_EVALUATE

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "family": self.family,
            "severity": self.severity,
            "enforcement": self.enforcement,
            "status": self.status,
            "not_evaluable": self.kind == "unknown",
            "blocking": self.blocking,
            "waiver": self.waiver,
            "urn": self.urn,
            "name": self.name,
            "type": self.resource_type,
            "message": self.message,
            "controls": list(self.controls),
            "remediation": self.remediation,
        }


@dataclass
class Report:
    stack: str
    project: str
    resource_count: int
    policies: list[PolicyInfo]
    enforcement: dict[str, str]
    findings: list[Finding] = field(default_factory=list)
    evaluations: int = 0
    not_applicable: int = 0
    elapsed: float = 0.0
    tallies: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per policy: how many times it ran, and how many of those were not applicable."""
    strict: bool = False
    deviations: list[dict[str, str]] = field(default_factory=list)
    """Policies the policy-pack config turns from mandatory to advisory or disabled."""

    def policy_status(self, name: str) -> Status:
        """pass | fail | cannot-evaluate (offline) | waived | not-applicable | disabled."""
        if self.enforcement[name] == "disabled":
            return Status.DISABLED
        mine = [f for f in self.findings if f.policy == name]
        if any(f.kind == "violation" and not f.waived for f in mine) or any(f.blocking for f in mine):
            return Status.FAIL
        if any(f.kind == "unknown" and not f.waived for f in mine):
            return Status.CANNOT_EVALUATE
        if mine:
            return Status.WAIVED
        tally = self.tallies.get(name, {})
        if tally.get("evaluations", 0) == tally.get("not_applicable", 0):
            return Status.NOT_APPLICABLE
        return Status.PASS

    def results(self) -> list[Result]:
        """One result per (policy, control) for the evidence report; disabled policies left out."""
        found: list[Result] = []
        for info in self.policies:
            status = self.policy_status(info.name)
            if status is Status.DISABLED:
                continue
            detail = [
                f"{f.urn}: {f.message}" if f.urn else f.message
                for f in self.findings
                if f.policy == info.name
            ]
            for control in info.controls:
                found.append(
                    Result(
                        source="policy",
                        control=control,
                        target=self.stack,
                        check=info.name,
                        status=status,
                        enforcement=self.enforcement[info.name],
                        detail=detail,
                    )
                )
        return found

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "violation" and not f.waived]

    @property
    def unknowns(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "unknown" and not f.waived]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.waived]

    @property
    def mandatory_violations(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory_violations else 0

    def summary(self) -> dict[str, int]:
        return {
            "resources": self.resource_count,
            "policies": sum(1 for p in self.policies if self.enforcement[p.name] != "disabled"),
            "evaluations": self.evaluations,
            "violations": len(self.violations),
            "mandatory_violations": len(self.mandatory_violations),
            "cannot_evaluate_offline": len(self.unknowns),
            "waived": len(self.waived),
            "not_applicable": self.not_applicable,
        }


# --- policy-pack configuration (the `pulumi preview --policy-pack-config` file format) ---------


def load_pack_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError([f"{path}: not a JSON policy-pack config: {error}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top): expected an object keyed by policy name"])
    return data


def resolve_config(
    pack: Pack, raw: Mapping[str, Any], source: str = "policy config"
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Enforcement level and knob values per policy, checked against each policy's config schema."""
    problems: list[str] = []
    known = pack.by_name()
    everyone = raw.get("all")
    if everyone is not None and everyone not in ENFORCEMENT_LEVELS:
        problems.append(f"{source}: all: {everyone!r} is not one of {', '.join(ENFORCEMENT_LEVELS)}")
    for name in raw:
        if name != "all" and name not in known:
            problems.append(f"{source}: {name}: no such policy")
    levels: dict[str, str] = {}
    knobs: dict[str, dict[str, Any]] = {}
    for info in pack.policies:
        level = everyone if everyone in ENFORCEMENT_LEVELS else info.default_enforcement
        values: dict[str, Any] = {}
        entry = raw.get(info.name)
        if isinstance(entry, str):
            level = entry
        elif isinstance(entry, dict):
            values = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            level = entry.get("enforcementLevel", level)
        elif entry is not None:
            problems.append(f"{source}: {info.name}: expected an enforcement level or an object")
        if level not in ENFORCEMENT_LEVELS:
            problems.append(
                f"{source}: {info.name}.enforcementLevel: {level!r} is not one of {ENFORCEMENT_LEVELS}"
            )
        schema = {"type": "object", "properties": info.config_schema, "additionalProperties": False}
        for error in jsonschema.Draft202012Validator(schema).iter_errors(values):
            where = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{source}: {info.name}{'.' + where if where else ''}: {error.message}")
        levels[info.name] = "mandatory" if level == "remediate" else str(level)
        knobs[info.name] = values
    if problems:
        raise ConfigError(problems)
    return levels, knobs


# --- building the analyzer's argument objects ---------------------------------------------------


def _options(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


class _Stack:
    """The plan's resources as analyzer objects, built once and shared by every policy."""

    def __init__(self, resources: Sequence[ResourceLike]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self.providers: dict[str, PolicyProviderResource] = {}
        for r in self.resources:
            if r.type.startswith("pulumi:providers:"):
                self.providers[r.urn] = PolicyProviderResource(
                    r.type, unknown_checking_proxy(dict(r.inputs)), r.urn, r.name
                )
        self.props = {r.urn: unknown_checking_proxy(dict(r.inputs)) for r in self.resources}
        self.policy_resources: list[PolicyResource] = []
        index: dict[str, PolicyResource] = {}
        for r in self.resources:
            resource = PolicyResource(
                r.type,
                self.props[r.urn],
                r.urn,
                r.name,
                _options(r.parent_urn),
                self.provider_of(r),
                None,
                [],
                {},
            )
            index[r.urn] = resource
            self.policy_resources.append(resource)
        for r in self.resources:
            resource = index[r.urn]
            if r.parent_urn and r.parent_urn in index:
                resource.parent = index[r.parent_urn]
            for urn in getattr(r, "dependencies", None) or []:
                if urn in index:
                    resource.dependencies.append(index[urn])
            for key, urns in (getattr(r, "property_dependencies", None) or {}).items():
                resource.property_dependencies[key] = [index[u] for u in urns if u in index]

    def provider_of(self, resource: ResourceLike) -> PolicyProviderResource | None:
        urn = getattr(resource, "provider_urn", None)
        return self.providers.get(urn) if urn else None

    def resource_args(self, resource: ResourceLike, config: Mapping[str, Any]) -> ResourceValidationArgs:
        return ResourceValidationArgs(
            resource.type,
            self.props[resource.urn],
            resource.urn,
            resource.name,
            _options(resource.parent_urn),
            self.provider_of(resource),
            dict(config),
            {},
        )


def _unknown_message(error: UnknownValueError) -> str:
    return f"cannot evaluate offline: {error.message} (known only after deployment)"


def evaluate(
    resources: Sequence[ResourceLike],
    pack: Pack,
    *,
    stack: str,
    project: str = "",
    config: Mapping[str, Any] | None = None,
    only: Iterable[str] | None = None,
    strict: bool = False,
    waivers: Callable[[str, str | None, str | None], dict[str, Any] | None] | None = None,
) -> Report:
    """Run every enabled policy over `resources` (each resource policy) and the whole (stack policies).

    `strict`: a mandatory policy that cannot be evaluated offline fails the check. `waivers(control,
    urn, name)` returns the waiver covering a finding of that control on that resource (or the stack).
    """
    started = time.perf_counter()
    levels, knobs = resolve_config(pack, config or {})
    selected = [p for p in pack.policies if only is None or p.name in set(only)]
    report = Report(
        stack=stack,
        project=project,
        resource_count=len(resources),
        policies=selected,
        enforcement=levels,
        strict=strict,
        deviations=[
            {"policy": p.name, "default": p.default_enforcement, "configured": levels[p.name]}
            for p in selected
            if p.default_enforcement == "mandatory" and levels[p.name] in ("advisory", "disabled")
        ],
    )
    graph = _Stack(resources)

    def add(info: PolicyInfo, kind: FindingKind, message: str, urn: str | None) -> None:
        target = graph.by_urn.get(urn) if urn else None
        waiver = None
        if waivers is not None:
            for control in info.controls:
                waiver = waivers(control, urn or None, target.name if target else None)
                if waiver is not None:
                    break
        report.findings.append(
            Finding(
                policy=info.name,
                family=info.family,
                severity=info.severity,
                enforcement=levels[info.name],
                kind=kind,
                message=message,
                controls=info.controls,
                remediation=info.remediation,
                description=info.description,
                urn=urn or None,
                name=target.name if target else None,
                resource_type=target.type if target else None,
                strict=strict,
                waiver=waiver,
            )
        )

    def run(info: PolicyInfo, args: Any, default_urn: str | None) -> None:
        def report_violation(message: str, urn: str | None = None) -> None:
            # As in the analyzer: a resource policy's violations always name the resource itself.
            target = default_urn if info.kind == "resource" else urn
            add(info, "violation", message or info.description, target)

        report.evaluations += 1
        tally = report.tallies.setdefault(info.name, {"evaluations": 0, "not_applicable": 0})
        tally["evaluations"] += 1
        try:
            info.policy.validate(args, report_violation)
        except UnknownValueError as error:
            add(info, "unknown", _unknown_message(error), default_urn)
        except _NotApplicableError:
            report.not_applicable += 1
            tally["not_applicable"] += 1
        except Exception as error:
            where = f" on {default_urn}" if default_urn else ""
            raise PolicyEvaluationError(
                f"policy {info.name}{where}: {type(error).__name__}: {error}"
            ) from error

    for info in selected:
        if levels[info.name] == "disabled":
            continue
        if info.kind == "resource":
            # A resource policy's validate returns at once for types it does not look at; skipping
            # those calls changes nothing but the time taken.
            wanted = set(info.types)
            for resource in graph.resources:
                if wanted and resource.type not in wanted:
                    continue
                run(info, graph.resource_args(resource, knobs[info.name]), resource.urn)
        else:
            run(info, StackValidationArgs(graph.policy_resources, dict(knobs[info.name]), {}), None)
    report.findings.sort(key=lambda f: (not f.blocking, f.kind != "violation", f.policy, f.urn or ""))
    report.elapsed = time.perf_counter() - started
    return report
