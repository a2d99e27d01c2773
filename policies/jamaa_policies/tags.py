# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Tags: every taggable resource carries the national mandatory tags and a valid data class."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from jamaa_policies.framework import (
    data_class_of,
    environment_of,
    resource_policy,
    string_list,
    tag_knobs,
    tags_of,
)

TAGGABLE_FILE = Path(__file__).with_name("taggable_types.json")


@cache
def taggable_types() -> frozenset[str]:
    """pulumi-aws resource types that accept `tags` (generated from the SDK, see tests/policies)."""
    return frozenset(json.loads(TAGGABLE_FILE.read_text(encoding="utf-8"))["types"])


@resource_policy(
    name="mandatory-tags",
    family="tags",
    types=[],  # every resource; non-taggable types are not applicable
    description="Every taggable resource carries the national mandatory tags (region, environment, data class, cost centre, manager).",
    severity="high",
    controls=["CLD-TAG-001"],
    remediation="Pass the tenancy's tag set (jamaa.config) to every resource; the component args carry it.",
    config=lambda s: {
        "mandatory_tags": string_list(list(s.mandatory_tags), "Tag keys every taggable resource must carry.")
    },
)
def mandatory_tags(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type not in taggable_types():
        return
    tags = tags_of(args)
    missing = [key for key in config["mandatory_tags"] if not str(tags.get(key) or "").strip()]
    if missing:
        report(f"Missing mandatory tag(s): {', '.join(missing)}.")


@resource_policy(
    name="data-class-tag",
    family="tags",
    types=[],
    description="The data class tag, where present, names one of the national data classes.",
    severity="high",
    controls=["CLD-TAG-002"],
    remediation="Use one of the data classes of national.yaml (public, internal, personal, sensitive).",
    config=lambda s: {
        **tag_knobs(s),
        "data_classes": string_list(sorted(s.retention_floor_days), "The national data classes."),
    },
)
def data_class_tag(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type not in taggable_types():
        return
    data_class = data_class_of(args, config)
    if data_class is not None and data_class not in config["data_classes"]:
        report(f"Data class {data_class!r} is not one of {', '.join(config['data_classes'])}.")


@resource_policy(
    name="environment-tag",
    family="tags",
    types=[],
    description="The environment tag, where present, names one of the environments of environments/ exactly (a typo would switch the prod-only rules off).",
    severity="high",
    controls=["CLD-TAG-003"],
    remediation="Use the environment name of environments/<env>/ (prod, staging, lab), as the stack's config gives it.",
    config=lambda s: {
        **tag_knobs(s),
        "environments": string_list(
            s.environment_names, "The environments of environments/ (and the organization stacks')."
        ),
    },
)
def environment_tag(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type not in taggable_types() and args.resource_type != "pulumi:providers:aws":
        return
    environment = environment_of(args, config)
    if environment is not None and environment not in config["environments"]:
        report(f"Environment {environment!r} is not one of {', '.join(config['environments'])}.")
