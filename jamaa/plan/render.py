"""A plan for people: a tree of resources (type, logical name, key security properties), totals."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.tree import Tree

from jamaa.plan.model import UNKNOWN, Plan, PlannedResource

# Inputs worth seeing at a glance when reviewing a tenancy's security (engine camelCase keys).
KEY_PROPERTIES = (
    "region",
    "cidrBlock",
    "availabilityZone",
    "mapPublicIpOnLaunch",
    "trafficType",
    "logDestinationType",
    "vpcEndpointType",
    "enableKeyRotation",
    "deletionWindowInDays",
    "isMultiRegionTrail",
    "enableLogFileValidation",
    "objectLockEnabled",
    "versioningConfiguration",
    "blockPublicAcls",
    "restrictPublicBuckets",
    "storageEncrypted",
    "multiAz",
    "deletionProtection",
    "publiclyAccessible",
    "iamDatabaseAuthenticationEnabled",
    "manageMasterUserPassword",
    "backupRetentionPeriod",
    "changeableForDays",
    "minRetentionDays",
    "internal",
    "sslPolicy",
    "protocol",
    "associatePublicIpAddress",
    "metadataOptions",
    "retentionInDays",
    "enable",
    "staticRoutesOnly",
    "limitAmount",
)
_MAX_VALUE = 60


def _short(value: Any) -> str:
    if value == UNKNOWN:
        return "(known after apply)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


# Nested inputs worth surfacing (found anywhere inside a resource's inputs).
NESTED_PROPERTIES = ("sseAlgorithm", "httpTokens", "encrypted", "mode", "objectOwnership", "status")


def _nested(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for item in value.values():
            found = _nested(item, key)
            if found is not None:
                return found
    if isinstance(value, list):
        for item in value:
            found = _nested(item, key)
            if found is not None:
                return found
    return None


def key_properties(resource: PlannedResource) -> str:
    shown = [f"{key}={_short(resource.inputs[key])}" for key in KEY_PROPERTIES if key in resource.inputs]
    for key in NESTED_PROPERTIES:
        if key not in resource.inputs and not any(s.startswith(f"{key}=") for s in shown):
            found = _nested(resource.inputs, key)
            if found is not None:
                shown.append(f"{key}={_short(found)}")
    encryption = resource.inputs.get("kmsKeyId") or resource.inputs.get("kmsMasterKeyId")
    if encryption is not None:
        shown.append(
            "kms=" + ("tenancy key (known after apply)" if encryption == UNKNOWN else _short(encryption))
        )
    return ", ".join(shown)


def tree(plan: Plan) -> Tree:
    root = Tree(f"[bold]{plan.project}[/] / [bold]{plan.stack}[/]: {len(plan.resources)} resources")
    children: dict[str | None, list[PlannedResource]] = {}
    known = {r.urn for r in plan.resources}
    for resource in plan.resources:
        parent = resource.parent_urn if resource.parent_urn in known else None
        children.setdefault(parent, []).append(resource)

    def add(node: Tree, parent: str | None) -> None:
        for resource in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
            props = key_properties(resource)
            label = f"[cyan]{resource.type}[/] {resource.name}"
            if props:
                label += f" [dim]{props}[/]"
            add(node.add(label, highlight=False), resource.urn)

    add(root, None)
    return root


def totals(plan: Plan) -> Table:
    table = Table(title=f"Totals per type ({plan.stack})")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, count in plan.totals().items():
        table.add_row(type_, str(count))
    table.add_row("[bold]total[/]", f"[bold]{len(plan.resources)}[/]")
    return table
