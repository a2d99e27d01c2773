"""Ansible filters over Jamaa's waivers and control catalogue (collection jamaa.commune).

Self-contained: the rules come from the collection's plugin_utils/waiver_rules.py and scope.py (standard
library only), the files are read with PyYAML (ansible-core's own dependency); no import of the `jamaa` Python
package or pydantic, so the filter runs wherever ansible-core runs (a pull-mode host, an execution
environment). The `jamaa` package imports the same waiver_rules.py (jamaa.waiver_rules), so a control
waived for a host is neither enforced here nor reported as a failure by the baseline or the report.
An expired waiver, one longer than national.yaml allows or one naming an unknown control stops the run.

    jamaa_waivers:           host -> {control id: {owner, reason, expires, ticket, scope}}
    jamaa_waived_controls:   host -> [control id, ...]
    jamaa_not_applicable:    catalogue dir -> {control id: reason} for a container / a reduced scope
    jamaa_host_roles:        roles -> those the host gets (scope, communes; plugin_utils/scope.py)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError


def _sibling(name: str) -> Any:
    """A module of the collection's plugin_utils: from the collection when installed (or the
    repository seen as one), else the file beside this one."""
    try:
        return importlib.import_module(f"ansible_collections.jamaa.commune.plugins.plugin_utils.{name}")
    except ImportError:
        spec = importlib.util.spec_from_file_location(
            f"jamaa_commune_{name}", Path(__file__).resolve().parents[1] / "plugin_utils" / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
        spec.loader.exec_module(module)
        return module


rules = _sibling("waiver_rules")
scope = _sibling("scope")


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except (OSError, yaml.YAMLError) as error:
        raise AnsibleFilterError(f"{path}: cannot read: {error}") from None


@lru_cache(maxsize=8)
def _host_controls(
    catalogue_dir: str,
) -> tuple[frozenset[str], tuple[tuple[str, bool, tuple[str, ...]], ...]]:
    """Every control id of the catalogue, and the host controls as (id, kernel_level, roles).

    A control's roles are those with a task naming it (`roles/*/tasks/*.yml`, beside the catalogue's
    `policies/` directory), the rule `jamaa.controls` derives its enforcement from."""
    root = Path(catalogue_dir)
    files = sorted(root.glob("*.yaml"))
    roles_dir = root.resolve().parents[1] / "roles"
    task_files = [
        (path.parents[1].name, _read_yaml(path)) for path in sorted(roles_dir.glob("*/tasks/*.yml"))
    ]
    enforcing = rules.roles_by_control(task_files)
    if not files:
        raise AnsibleFilterError(f"control catalogue: {root}: no catalogue file (*.yaml)")
    ids: set[str] = set()
    host: list[tuple[str, bool, tuple[str, ...]]] = []
    for path in files:
        data = _read_yaml(path)
        records = data.get("controls") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise AnsibleFilterError(f"control catalogue: {path}: controls: must be a list")
        for index, record in enumerate(records):
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise AnsibleFilterError(f"control catalogue: {path}: controls[{index}].id: missing")
            ids.add(record["id"])
            if record.get("layer") == "host":
                host.append((record["id"], bool(record.get("kernel_level")), enforcing.get(record["id"], ())))
    return frozenset(ids), tuple(host)


@lru_cache(maxsize=8)
def _waivers(env_dir: str, catalogue_dir: str, today: str) -> tuple[dict[str, Any], ...]:
    """The validated waiver records of `<env_dir>/waivers.yaml` (none when the file is absent)."""
    path = Path(env_dir) / "waivers.yaml"
    if not path.exists():
        return ()
    data = _read_yaml(path)
    records = (data or {}).get("waivers", []) if isinstance(data, dict) or data is None else None
    if not isinstance(records, list):
        raise AnsibleFilterError(f"waivers refused, nothing was changed: {path}: waivers: must be a list")
    national = Path(env_dir).parent / "national.yaml"
    max_days, problems = None, []
    if national.exists():
        max_days, problems = rules.national_max_days(str(national), _read_yaml(national))
    known, _ = _host_controls(catalogue_dir)
    day = date.fromisoformat(today)
    for index, record in enumerate(records):
        where = f"{path}: waivers[{index}]"
        shape = rules.record_problems(where, record)
        problems += shape
        if not shape:
            problems += rules.waiver_problems(
                where,
                record["control"],
                record["scope"]["kind"],
                record["scope"]["value"],
                record["owner"],
                rules.expiry(record),
                day,
                max_days,
                known,
            )
    if problems:
        raise AnsibleFilterError("waivers refused, nothing was changed: " + "; ".join(problems))
    return tuple(records)


def jamaa_waivers(
    host: str,
    env_dir: str,
    catalogue_dir: str,
    groups: list[str] | None = None,
    communes: list[str] | None = None,
    region: str | None = None,
    today: str | None = None,
) -> dict[str, dict[str, str]]:
    """The waivers that apply to `host`, by control id, as plain data for facts and files."""
    records = _waivers(str(env_dir), str(catalogue_dir), today or date.today().isoformat())
    environment = Path(str(env_dir)).name
    applies: dict[str, dict[str, Any]] = {}
    for record in records:
        scope = record["scope"]
        if rules.applies_to_host(
            scope["kind"],
            scope["value"],
            environment,
            str(host),
            set(groups or []),
            set(communes or []),
            region or None,
        ):
            applies[record["control"]] = record
    return {
        control: {
            "owner": record["owner"],
            "reason": record["reason"],
            "expires": rules.expiry(record).isoformat(),
            "ticket": record["ticket"],
            "scope": f"{record['scope']['kind']}:{record['scope']['value']}",
        }
        for control, record in sorted(applies.items())
    }


def jamaa_waived_controls(host: str, *args: Any, **kwargs: Any) -> list[str]:
    """Only the ids of `jamaa_waivers` (what the roles' `when:` conditions test)."""
    return sorted(jamaa_waivers(host, *args, **kwargs))


def jamaa_not_applicable(
    catalogue_dir: str,
    container: str | None = None,
    scope_name: str | None = None,
    communes: list[str] | None = None,
) -> dict[str, str]:
    """Host controls that cannot or do not apply here (a container; the host's scope and communes),
    with the reason recorded on the host."""
    _, host = _host_controls(str(catalogue_dir))
    return {
        control: f"not applicable: {reason}"
        for control, reason in scope.not_applicable(host, container, scope_name, communes).items()
    }


def jamaa_host_roles(
    roles: list[str], scope_name: str | None = None, communes: list[str] | None = None
) -> list[str]:
    """The roles among `roles` (a play's) that a host of this scope, serving these communes, gets."""
    return list(scope.host_roles(roles, scope_name, communes))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "jamaa_waivers": jamaa_waivers,
            "jamaa_waived_controls": jamaa_waived_controls,
            "jamaa_not_applicable": jamaa_not_applicable,
            "jamaa_host_roles": jamaa_host_roles,
        }
