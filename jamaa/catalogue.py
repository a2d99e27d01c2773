"""The control catalogue: `policies/controls/*.yaml`, the single source of truth for control ids.

Every control is a record (see docs/CONTRACTS.md and `policies/controls/schema.json`): an id, a title
in French and English, a rationale, a severity, a layer (cloud or host), references to the documents it
implements, and where it is enforced (`policy:<name>`, `role:<name>`) and verified (`policy:<name>`,
`testinfra:<control id>`). Policies, roles' waivers, the testinfra baseline and the evidence report all
read ids from here:

    catalogue = load_catalogue(Path("policies/controls"))
    catalogue.controls["CLD-S3-001"].title.en
    catalogue.cloud_controls(), catalogue.host_controls()

A bad file stops here with one line per problem, `FILE: FIELD.PATH: reason`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from jamaa.errors import ConfigError
from jamaa.yamlio import load_yaml

Severity = Literal["low", "medium", "high", "critical"]
Layer = Literal["cloud", "host"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}

SCHEMA_FILE = "schema.json"
DEFAULT_CONTROLS_DIR = Path(__file__).resolve().parent.parent / "policies" / "controls"


class Title(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fr: str
    en: str


class Reference(BaseModel):
    """A document a control implements; `id` only when the document really numbers it so."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    framework: str
    id: str | None = None
    title: str | None = None

    def __str__(self) -> str:
        return f"{self.framework} {self.id}" if self.id else self.framework


class Control(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    title: Title
    rationale: str
    severity: Severity
    layer: Layer
    references: tuple[Reference, ...]
    enforced_by: tuple[str, ...] = ()
    verified_by: tuple[str, ...] = ()
    kernel_level: bool = False
    manual: str | None = None
    source: Path = Field(default=Path(), exclude=True)
    """The catalogue file the record came from (for messages)."""

    def _named(self, prefix: str, items: Iterable[str]) -> tuple[str, ...]:
        return tuple(item.split(":", 1)[1] for item in items if item.startswith(prefix + ":"))

    @property
    def policies(self) -> tuple[str, ...]:
        """Policy names that enforce or verify this control (each listed once)."""
        return tuple(dict.fromkeys(self._named("policy", (*self.enforced_by, *self.verified_by))))

    @property
    def roles(self) -> tuple[str, ...]:
        return self._named("role", self.enforced_by)

    @property
    def testinfra_checks(self) -> tuple[str, ...]:
        return self._named("testinfra", self.verified_by)

    @property
    def automated(self) -> bool:
        return self.manual is None


class Catalogue(BaseModel):
    """All controls of every catalogue file, by id (ids are unique across files)."""

    model_config = ConfigDict(frozen=True)
    root: Path
    controls: dict[str, Control]

    def __contains__(self, control_id: object) -> bool:
        return control_id in self.controls

    def __getitem__(self, control_id: str) -> Control:
        return self.controls[control_id]

    def __len__(self) -> int:
        return len(self.controls)

    def host_controls(self) -> list[Control]:
        return [c for c in self.controls.values() if c.layer == "host"]

    def cloud_controls(self) -> list[Control]:
        return [c for c in self.controls.values() if c.layer == "cloud"]

    @cached_property
    def _by_policy(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for control in self.controls.values():
            for name in control.policies:
                index.setdefault(name, []).append(control.id)
        return index

    def controls_for_policy(self, policy_name: str) -> list[str]:
        """Ids of the controls that name `policy:<policy_name>` (enforced or verified)."""
        return list(self._by_policy.get(policy_name, []))

    def unknown_ids(self, ids: Iterable[str]) -> list[str]:
        """The ids among `ids` that name no control (for policies, roles and checks that cite ids)."""
        return sorted({i for i in ids if i not in self.controls})

    def coverage_problems(self) -> list[str]:
        """Controls lacking enforcement or verification that are not marked manual with a reason."""
        problems = []
        for c in self.controls.values():
            if c.manual is not None:
                continue
            missing = [
                name
                for name, value in (("enforced_by", c.enforced_by), ("verified_by", c.verified_by))
                if not value
            ]
            if missing:
                problems.append(
                    f"{c.source}: {c.id}: no {' and no '.join(missing)}, and not marked manual with a reason"
                )
        return problems


def _load_schema(controls_dir: Path) -> dict[str, Any]:
    path = controls_dir / SCHEMA_FILE
    if not path.is_file():
        path = DEFAULT_CONTROLS_DIR / SCHEMA_FILE
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the catalogue schema: {error}"]) from None
    return schema


def _field_path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(top)"


def validate_file(path: Path, data: Any, schema: dict[str, Any]) -> list[str]:
    """Every schema problem of one parsed catalogue file, as `FILE: FIELD.PATH: reason`."""
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in validator.iter_errors(data):
        # `if/then` branches report against the failing property, which is what a reader needs.
        problems.append(f"{path}: {_field_path(error.absolute_path)}: {error.message}")
    return problems


def _resolve_dir(root: Path) -> Path:
    nested = root / "policies" / "controls"
    return nested if nested.is_dir() else root


def load_catalogue(root: Path | None = None) -> Catalogue:
    """Load and validate every `*.yaml` file of the catalogue directory.

    `root` is the controls directory (`policies/controls`) or the repository root; by default, the
    directory next to this package. Raises `ConfigError` listing every problem.
    """
    controls_dir = _resolve_dir(root) if root is not None else DEFAULT_CONTROLS_DIR
    if not controls_dir.is_dir():
        raise ConfigError([f"{controls_dir}: catalogue directory not found"])
    schema = _load_schema(controls_dir)
    files = sorted(controls_dir.glob("*.yaml"))
    if not files:
        raise ConfigError([f"{controls_dir}: no catalogue file (*.yaml)"])
    problems: list[str] = []
    controls: dict[str, Control] = {}
    for path in files:
        try:
            data = load_yaml(path)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        file_problems = validate_file(path, data, schema)
        if file_problems:
            problems.extend(file_problems)
            continue
        for index, record in enumerate(data["controls"]):
            control = Control.model_validate({**record, "source": path})
            if control.id in controls:
                other = controls[control.id].source
                problems.append(f"{path}: controls.{index}.id: duplicate id {control.id} (also in {other})")
                continue
            controls[control.id] = control
    if problems:
        raise ConfigError(problems)
    return Catalogue(root=controls_dir, controls=controls)
