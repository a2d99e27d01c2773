"""How a Jamaa policy is declared, and the small helpers every rule uses.

A rule is a plain function `rule(args, report_violation, config)`. The decorators `resource_policy`
and `stack_policy` register it with its metadata (name, family, severity, control ids, remediation,
config schema). `PolicySpec.build(settings)` turns it into a real `pulumi_policy`
`ResourceValidationPolicy` / `StackValidationPolicy` whose `validate` is the one both the CrossGuard
pack (`policies/__main__.py`) and the offline check (`jamaa policy check`) call, so they cannot
disagree.

Properties reach the rules exactly as the engine sends them: camelCase keys, wrapped in
`pulumi_policy`'s unknown-checking proxy (reading a value only known after deployment raises
`UnknownValueError`: the policy then "cannot be evaluated", never passes silently). Proxies are
`Mapping`/`Sequence`, not `dict`/`list`: the helpers below test for the abstract types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

if TYPE_CHECKING:
    from jamaa_policies.settings import Settings

T = TypeVar("T")
SEVERITIES = {s.value: s for s in Severity}
FAMILIES = (
    "s3",
    "ec2",
    "network",
    "rds",
    "kms",
    "logging",
    "detection",
    "backup",
    "iam",
    "tags",
    "residency",
    "organization",
    "secrets",
)

ConfigSchema = Callable[["Settings"], dict[str, dict[str, Any]]]
ResourceRule = Callable[[ResourceValidationArgs, ReportViolation, Mapping[str, Any]], None]
StackRule = Callable[[StackValidationArgs, ReportViolation, Mapping[str, Any]], None]


@dataclass(frozen=True)
class PolicySpec:
    """One policy: its metadata and its rule; `build()` makes the pulumi_policy object."""

    name: str
    family: str
    kind: str  # "resource" | "stack"
    description: str
    severity: str
    controls: tuple[str, ...]
    remediation: str
    rule: Callable[..., None]
    config: ConfigSchema
    types: tuple[str, ...] = ()
    """Resource policies: the types validated (empty: every type). Stack policies: the types read
    (only for the family coverage test; a stack policy always sees the whole stack)."""
    enforcement: str | None = None  # None: mandatory for high/critical, advisory otherwise

    @property
    def default_enforcement(self) -> EnforcementLevel:
        if self.enforcement is not None:
            return EnforcementLevel(self.enforcement)
        high = self.severity in ("high", "critical")
        return EnforcementLevel.MANDATORY if high else EnforcementLevel.ADVISORY

    def config_schema(self, settings: Settings) -> dict[str, dict[str, Any]]:
        return self.config(settings)

    def defaults(self, settings: Settings) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.config_schema(settings).items() if "default" in v}

    def build(self, settings: Settings) -> ResourceValidationPolicy | StackValidationPolicy:
        defaults = self.defaults(settings)
        schema = PolicyConfigSchema(properties=self.config_schema(settings))
        framework = PolicyComplianceFramework(
            name="jamaa-controls", reference=",".join(self.controls), version="1"
        )
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.default_enforcement,
            "config_schema": schema,
            "severity": SEVERITIES[self.severity],
            "framework": framework,
            "tags": [self.family, *self.controls],
            "remediation_steps": self.remediation,
        }
        rule = self.rule
        types = frozenset(self.types)
        if self.kind == "resource":

            def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
                if types and args.resource_type not in types:
                    return
                rule(args, report, {**defaults, **dict(args.get_config())})

            return ResourceValidationPolicy(validate=validate_resource, **common)

        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
            rule(args, report, {**defaults, **dict(args.get_config())})

        return StackValidationPolicy(validate=validate_stack, **common)


REGISTRY: dict[str, PolicySpec] = {}


def _no_config(_settings: Settings) -> dict[str, dict[str, Any]]:
    return {}


def _register(spec: PolicySpec) -> None:
    if spec.name in REGISTRY:
        raise ValueError(f"policy {spec.name} declared twice")
    if spec.family not in FAMILIES:
        raise ValueError(f"policy {spec.name}: unknown family {spec.family}")
    if spec.severity not in SEVERITIES:
        raise ValueError(f"policy {spec.name}: unknown severity {spec.severity}")
    REGISTRY[spec.name] = spec


def resource_policy(
    *,
    name: str,
    family: str,
    types: Iterable[str],
    description: str,
    severity: str,
    controls: Iterable[str],
    remediation: str,
    config: ConfigSchema = _no_config,
    enforcement: str | None = None,
) -> Callable[[ResourceRule], ResourceRule]:
    def register(rule: ResourceRule) -> ResourceRule:
        _register(
            PolicySpec(
                name=name,
                family=family,
                kind="resource",
                description=description,
                severity=severity,
                controls=tuple(controls),
                remediation=remediation,
                rule=rule,
                config=config,
                types=tuple(types),
                enforcement=enforcement,
            )
        )
        return rule

    return register


def stack_policy(
    *,
    name: str,
    family: str,
    types: Iterable[str] = (),
    description: str,
    severity: str,
    controls: Iterable[str],
    remediation: str,
    config: ConfigSchema = _no_config,
    enforcement: str | None = None,
) -> Callable[[StackRule], StackRule]:
    def register(rule: StackRule) -> StackRule:
        _register(
            PolicySpec(
                name=name,
                family=family,
                kind="stack",
                description=description,
                severity=severity,
                controls=tuple(controls),
                remediation=remediation,
                rule=rule,
                config=config,
                types=tuple(types),
                enforcement=enforcement,
            )
        )
        return rule

    return register


# --- value helpers -----------------------------------------------------------------------------


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def as_list(value: Any) -> list[Any]:
    """A list-valued input as a list (an absent input is empty; a single map is one element)."""
    if value is None:
        return []
    if is_list(value):
        return list(value)
    return [value]


def number(value: Any) -> Any:
    """A number as a person writes it: the engine sends every number as a float (35.0 -> 35)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def truthy(value: Any) -> bool:
    """Pulumi-aws passes some booleans as strings ("true"); accept both spellings."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def falsy_or_absent(value: Any) -> bool:
    return value is None or not truthy(value)


def get_path(props: Mapping[str, Any], *path: str | int) -> Any:
    """Walk nested inputs (maps and lists); None when a step is absent."""
    current: Any = props
    for step in path:
        if isinstance(step, int):
            if not is_list(current) or step >= len(current):
                return None
            current = current[step]
        else:
            if not is_map(current) or step not in current:
                return None
            current = current[step]
    return current


def _tag_map(value: Any) -> dict[str, str]:
    if isinstance(value, str):  # provider inputs arrive JSON-encoded
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    if not is_map(value):
        return {}
    return {str(k): value[k] for k in value}


def tags_of(resource: Any) -> dict[str, str]:
    """A resource's effective tags: its provider's default tags, then `tagsAll`, then `tags`.

    `resource` is anything with `props` (and maybe `provider`): ResourceValidationArgs or a
    PolicyResource. pulumi-aws merges a provider's `defaultTags` into every taggable resource.
    """
    merged: dict[str, str] = {}
    provider = getattr(resource, "provider", None)
    if provider is not None:
        defaults = provider.props.get("defaultTags")
        merged.update(_tag_map(_tag_map(defaults).get("tags") if defaults is not None else None))
    props = resource.props
    for key in ("tagsAll", "tags"):
        if key in props and props[key] is not None:
            merged.update(_tag_map(props[key]))
    return merged


def environment_of(resource: Any, config: Mapping[str, Any]) -> str | None:
    return tags_of(resource).get(str(config.get("environment_tag", "jamaa:environment")))


def data_class_of(resource: Any, config: Mapping[str, Any]) -> str | None:
    return tags_of(resource).get(str(config.get("data_class_tag", "jamaa:data-class")))


def policy_document(value: Any) -> Mapping[str, Any] | None:
    """An IAM/bucket policy document given as a JSON string or a map; None if unreadable."""
    if value is None:
        return None
    if is_map(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if is_map(s)]


def port_range_covers(from_port: Any, to_port: Any, port: int, protocol: Any = None) -> bool:
    """True when a rule's port range includes `port` (protocol -1/all means every port)."""
    if str(protocol).lower() in ("-1", "all"):
        return True
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return False
    return low <= port <= high


WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


# --- stack helpers -----------------------------------------------------------------------------


@dataclass
class StackIndex:
    """The stack's resources by type, with reference resolution between them.

    A reference (a PublicAccessBlock's `bucket`, a flow log's `vpcId`) resolves first through the
    engine's property dependencies (known even when the referenced id is not), then by value against
    the identifiers the referenced resource declares (its explicit name or id). When neither decides,
    the reference is unknown and reading it raises `UnknownValueError`: the policy cannot be
    evaluated offline rather than passing or failing by guess.
    """

    resources: list[PolicyResource]
    by_type: dict[str, list[PolicyResource]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self.by_type.setdefault(resource.resource_type, []).append(resource)

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for t in types for r in self.by_type.get(t, [])]

    def targets(
        self,
        referrer: PolicyResource,
        key: str,
        candidates: Sequence[PolicyResource],
        identifiers: Callable[[PolicyResource], Iterable[Any]],
    ) -> list[PolicyResource]:
        """The candidates that `referrer.props[key]` refers to (raises if it cannot be decided)."""
        by_urn = {c.urn: c for c in candidates}
        deps = referrer.property_dependencies.get(key) or []
        linked = [by_urn[d.urn] for d in deps if d.urn in by_urn]
        if linked:
            return linked
        value = referrer.props[key]  # raises UnknownValueError when only known after deployment
        found = []
        for candidate in candidates:
            try:
                ids = {str(i) for i in identifiers(candidate) if i is not None}
            except UnknownValueError:
                continue
            if str(value) in ids:
                found.append(candidate)
        return found


def is_set(props: Mapping[str, Any], key: str) -> bool:
    """True when an input is given: a value, or one only known after deployment (the ARN of a key
    the stack creates is never empty, so "is a customer key named?" is decided offline)."""
    try:
        return bool(props.get(key))
    except UnknownValueError:
        return True


def known_or_none(props: Mapping[str, Any], key: str) -> Any:
    try:
        return props.get(key)
    except UnknownValueError:
        return None


def bucket_identifiers(bucket: PolicyResource) -> Iterator[Any]:
    """What a reference to a bucket may hold: its name (= its id) or its ARN."""
    name = known_or_none(bucket.props, "bucket")
    if name:
        yield name
        yield f"arn:aws:s3:::{name}"
    for key in ("id", "arn"):
        value = known_or_none(bucket.props, key)
        if value:
            yield value


def covered(
    index: StackIndex,
    resource: PolicyResource,
    companions: Sequence[PolicyResource],
    key: str,
    identifiers: Callable[[PolicyResource], Iterable[Any]],
) -> list[PolicyResource]:
    """The companions (e.g. PublicAccessBlocks) whose `key` refers to `resource`.

    Raises UnknownValueError only if no companion is known to refer to it and at least one
    companion's reference cannot be decided offline.
    """
    found: list[PolicyResource] = []
    undecided: UnknownValueError | None = None
    for companion in companions:
        try:
            if resource in index.targets(companion, key, [resource], identifiers):
                found.append(companion)
        except UnknownValueError as error:
            undecided = error
    if not found and undecided is not None:
        raise undecided
    return found


def each(items: Iterable[T], check: Callable[[T], None], then: Callable[[], None] | None = None) -> None:
    """Run `check` on every item (then `then`, if given), and only then re-raise the first reference
    that could not be decided offline.

    Violations found meanwhile are already reported; the policy is then also marked as not fully
    evaluable offline (the engine turns the exception into a diagnostic).
    """
    undecided: UnknownValueError | None = None
    for item in items:
        try:
            check(item)
        except UnknownValueError as error:
            undecided = undecided or error
    if then is not None:
        then()
    if undecided is not None:
        raise undecided


def label(resource: PolicyResource) -> str:
    return f"{resource.resource_type.split(':')[-1]} '{resource.name}'"


# --- config knobs shared by many policies ------------------------------------------------------


def tag_knobs(_settings: Settings) -> dict[str, dict[str, Any]]:
    from jamaa_policies.settings import DATA_CLASS_TAG, ENVIRONMENT_TAG

    return {
        "data_class_tag": {
            "type": "string",
            "default": DATA_CLASS_TAG,
            "description": "Tag key carrying the data class.",
        },
        "environment_tag": {
            "type": "string",
            "default": ENVIRONMENT_TAG,
            "description": "Tag key carrying the environment (prod, staging, lab).",
        },
    }


def string_list(default: list[str], description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default, "description": description}


def integer(default: int, description: str, minimum: int = 0) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "default": default, "description": description}
