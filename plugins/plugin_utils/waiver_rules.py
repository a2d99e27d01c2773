"""Waiver rules, in plain Python (standard library only). Applicability (roles, not applicable) is
the sibling module scope.py.

The one implementation shared by enforcement and verification: the collection's filter
(`jamaa.commune.jamaa_waivers`, plugins/filter/jamaa_waivers.py) imports it from the collection, and
the `jamaa` Python package imports the same file as `jamaa.waiver_rules` (a link to this file, not a
copy), so a control waived for a host is neither enforced by the roles nor reported as a failure.

No import of the `jamaa` package, pydantic or Ansible: the collection runs on a controller, an
execution environment or a pull-mode host that has only ansible-core and PyYAML.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

SCOPE_KINDS = ("host", "group", "commune", "region", "environment", "stack", "resource")
HOST_ONLY_SCOPES = ("host", "group", "commune")
CLOUD_ONLY_SCOPES = ("stack", "resource")
CONTROL_ID = re.compile(r"^(CLD|HOST)-[A-Z0-9]+-\d{3}$")
WAIVER_FIELDS = ("control", "scope", "owner", "reason", "expires", "ticket")
DEFAULT_MAX_DURATION_DAYS = 365
MAX_DURATION_BOUNDS = (1, 1095)


def applies_to_host(
    kind: str,
    value: str,
    environment: str,
    host: str,
    groups: Collection[str] = (),
    communes: Collection[str] = (),
    region: str | None = None,
) -> bool:
    """Whether a waiver scoped `kind: value` covers one host."""
    return (
        (kind == "host" and value == host)
        or (kind == "group" and value in groups)
        or (kind == "commune" and value in communes)
        or (kind == "region" and value == region)
        or (kind == "environment" and value == environment)
    )


def applies_to_cloud(
    kind: str,
    value: str,
    environment: str,
    stack: str,
    region: str | None,
    urn: str | None,
    name: str | None,
) -> bool:
    """Whether a waiver scoped `kind: value` covers a resource (urn, logical name) of `stack`."""
    return (
        (kind == "stack" and value == stack)
        or (kind == "resource" and value in (urn, name) and value is not None)
        or (kind == "region" and value == region)
        or (kind == "environment" and value == environment)
    )


def record_problems(where: str, record: Any) -> list[str]:
    """Shape problems of one raw waiver record (a mapping read from waivers.yaml), `WHERE.FIELD: reason`."""
    if not isinstance(record, Mapping):
        return [f"{where}: must be a mapping with {', '.join(WAIVER_FIELDS)}"]
    problems = [f"{where}.{field}: field required" for field in WAIVER_FIELDS if field not in record]
    problems += [f"{where}.{field}: unknown field" for field in record if field not in WAIVER_FIELDS]
    control = record.get("control")
    if "control" in record and not (isinstance(control, str) and CONTROL_ID.match(control)):
        problems.append(f"{where}.control: {control!r} is not a control id (CLD-XXX-000 or HOST-XXX-000)")
    for field, least in (("owner", 1), ("reason", 10), ("ticket", 1)):
        if field not in record:
            continue
        text = record[field]
        if not isinstance(text, str) or not text.strip():
            problems.append(
                f"{where}.{field}: must not be blank (a waiver names who answers for it, why, and where)"
            )
        elif len(text) < least:
            problems.append(f"{where}.{field}: at least {least} characters")
    if "expires" in record and not isinstance(record["expires"], date):
        try:
            date.fromisoformat(str(record["expires"]))
        except ValueError:
            problems.append(f"{where}.expires: {record['expires']!r} is not a date (YYYY-MM-DD)")
    scope = record.get("scope")
    if "scope" in record:
        if not isinstance(scope, Mapping) or set(scope) != {"kind", "value"}:
            problems.append(f"{where}.scope: must be a mapping with exactly kind and value")
        else:
            if scope["kind"] not in SCOPE_KINDS:
                problems.append(
                    f"{where}.scope.kind: {scope['kind']!r} is not one of {', '.join(SCOPE_KINDS)}"
                )
            if not isinstance(scope["value"], str) or not scope["value"]:
                problems.append(f"{where}.scope.value: must be a non-empty string")
    return problems


def expiry(record: Mapping[str, Any]) -> date:
    """The `expires` of a record whose shape is valid, as a date."""
    value = record["expires"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def waiver_problems(
    where: str,
    control: str,
    scope_kind: str,
    scope_value: str,
    owner: str,
    expires: date,
    today: date,
    max_days: int | None,
    known_controls: Collection[str] | None,
) -> list[str]:
    """The rules on one well-formed waiver: a known control, a scope of its layer, not expired, not
    longer than the national limit."""
    problems: list[str] = []
    if known_controls is not None and control not in known_controls:
        problems.append(f"{where}.control: unknown control id {control}")
    cloud = control.startswith("CLD-")
    if cloud and scope_kind in HOST_ONLY_SCOPES:
        problems.append(
            f"{where}.scope.kind: a cloud control ({control}) is waived for a stack, a resource, "
            f"a region or an environment, not a {scope_kind}"
        )
    if not cloud and scope_kind in CLOUD_ONLY_SCOPES:
        problems.append(f"{where}.scope.kind: a host control ({control}) cannot be waived for a {scope_kind}")
    if expires < today:
        problems.append(
            f"{where}.expires: waiver of {control} for {scope_kind} "
            f"{scope_value} expired on {expires.isoformat()} (owner: {owner})"
        )
    elif max_days is not None and (expires - today).days > max_days:
        problems.append(
            f"{where}.expires: waiver of {control} runs {(expires - today).days} days, "
            f"to {expires.isoformat()}; the longest allowed is {max_days} days "
            "(national.yaml waivers.max_duration_days)"
        )
    return problems


def national_max_days(where: str, national: Any) -> tuple[int | None, list[str]]:
    """`waivers.max_duration_days` of raw national.yaml data (365 when the key is absent)."""
    section = national.get("waivers", {}) if isinstance(national, Mapping) else None
    if not isinstance(section, Mapping):
        return None, [f"{where}: waivers: must be a mapping"]
    value = section.get("max_duration_days", DEFAULT_MAX_DURATION_DAYS)
    low, high = MAX_DURATION_BOUNDS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None, [
            f"{where}: waivers.max_duration_days: {value!r} is not a whole number from {low} to {high}"
        ]
    return value, []


TASK_PREFIX = re.compile(r"^((?:(?:CLD|HOST)-[A-Z0-9]+-\d{3}) \| )+")
TASK_SECTIONS = ("block", "rescue", "always")


def task_controls(name: Any, tags: Any) -> tuple[str, ...]:
    """The control ids a role task enforces: the ids its name starts with (`"HOST-SSH-002 | HOST-SSH-004 |
    …"`) and its tags that are control ids, each once, in that order."""
    found: list[str] = []
    match = TASK_PREFIX.match(name) if isinstance(name, str) else None
    if match:
        found += [part.strip() for part in match.group(0).split("|") if part.strip()]
    for tag in [tags] if isinstance(tags, str) else tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and CONTROL_ID.match(tag):
            found.append(tag)
    return tuple(dict.fromkeys(found))


def walk_tasks(tasks: Any) -> Iterable[Mapping[str, Any]]:
    """Every task of a parsed task file, the tasks inside blocks (block/rescue/always) included."""
    for task in tasks if isinstance(tasks, list) else []:
        if isinstance(task, Mapping):
            yield task
            for section in TASK_SECTIONS:
                yield from walk_tasks(task.get(section))


def roles_by_control(task_files: Iterable[tuple[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Control id -> the roles with a task enforcing it, from (role name, parsed task file) pairs."""
    found: dict[str, dict[str, None]] = {}
    for role, tasks in task_files:
        for task in walk_tasks(tasks):
            for control_id in task_controls(task.get("name"), task.get("tags")):
                found.setdefault(control_id, {})[role] = None
    return {control_id: tuple(sorted(roles)) for control_id, roles in found.items()}
