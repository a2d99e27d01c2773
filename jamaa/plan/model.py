"""What an offline plan holds: the resources a Pulumi program registered, with their inputs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Stands in an input for a value the preview cannot know yet (the engine's own sentinel)."""


@dataclass(frozen=True)
class PlannedResource:
    """One registered resource.

    `inputs` uses the engine's camelCase keys, exactly as the mocks receive them; any value the
    preview cannot know (an id or ARN of a resource not yet created) is replaced by `UNKNOWN`, and
    its path is listed in `unknown_keys`: a top-level input is its key (`vpcId`), a nested one its
    dotted path with list indexes (`rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId`).
    """

    urn: str
    type: str
    name: str
    parent_urn: str | None
    inputs: dict[str, Any]
    unknown_keys: set[str]
    provider_urn: str | None = None
    """The explicit provider the resource was registered with (None: the default provider)."""
    dependencies: list[str] = field(default_factory=list)
    """URNs this resource depends on (its inputs' resources and `depends_on`)."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Per input key, the URNs of the resources its value comes from: links a `vpcId` that is
    unknown offline to the VPC it will be."""
    protect: bool = False
    """Registered with `protect=True`: the engine refuses to delete it."""

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    def is_unknown(self, key: str) -> bool:
        """True when the input at `key` (or anything inside it) cannot be known offline."""
        return any(k == key or k.startswith((key + ".", key + "[")) for k in self.unknown_keys)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedResource:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            parent_urn=data.get("parent"),
            inputs=data.get("inputs") or {},
            unknown_keys=set(data.get("unknown_keys") or ()),
            provider_urn=data.get("provider"),
            dependencies=list(data.get("dependencies") or ()),
            property_dependencies=dict(data.get("property_dependencies") or {}),
            protect=bool(data.get("protect", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent_urn,
            "inputs": self.inputs,
            "unknown_keys": sorted(self.unknown_keys),
            "provider": self.provider_urn,
            "dependencies": self.dependencies,
            "protect": self.protect,
            "property_dependencies": self.property_dependencies,
        }


@dataclass
class Plan:
    """Every resource a program registered under the mocks, sorted by URN."""

    stack: str
    project: str
    resources: list[PlannedResource]
    warnings: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    """The stack outputs the program exported (`pulumi.export`), unknowns as `UNKNOWN`."""
    _index: dict[str, PlannedResource] | None = field(default=None, init=False, repr=False, compare=False)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, PlannedResource]:
        if self._index is None or len(self._index) != len(self.resources):
            self._index = {r.urn: r for r in self.resources}
        return self._index

    def children(self, parent_urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent_urn == parent_urn]

    def provider_of(self, resource: PlannedResource) -> PlannedResource | None:
        if resource.provider_urn is None:
            return None
        return self.by_urn().get(resource.provider_urn)

    def region_of(self, resource: PlannedResource) -> str | None:
        """The AWS region a resource lands in: its own `region` input, else its provider's."""
        own = resource.inputs.get("region")
        if isinstance(own, str):
            return own
        provider = self.provider_of(resource)
        region = provider.inputs.get("region") if provider else None
        return region if isinstance(region, str) else None

    def effective_tags(self, resource: PlannedResource) -> dict[str, Any]:
        """The tags AWS would apply: the provider's default tags, overridden by the resource's own."""
        tags: dict[str, Any] = {}
        provider = self.provider_of(resource)
        if provider is not None:
            default_tags = provider.inputs.get("defaultTags")
            if isinstance(default_tags, str) and default_tags != UNKNOWN:
                default_tags = json.loads(default_tags)  # provider config travels JSON-encoded
            if isinstance(default_tags, dict) and isinstance(default_tags.get("tags"), dict):
                tags.update(default_tags["tags"])
        own = resource.inputs.get("tags")
        if isinstance(own, dict):
            tags.update(own)
        return tags

    def totals(self) -> dict[str, int]:
        counts = Counter(r.type for r in self.resources)
        return dict(sorted(counts.items()))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            stack=data["stack"],
            project=data["project"],
            resources=[PlannedResource.from_json(r) for r in data.get("resources") or ()],
            warnings=list(data.get("warnings") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resource_count": len(self.resources),
            "totals": self.totals(),
            "warnings": self.warnings,
            "resources": [r.to_json() for r in self.resources],
        }
