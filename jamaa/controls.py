"""The control catalogue: `policies/controls/*.yaml`, the single source of truth for control ids.

Every control is a record (see docs/CONTRACTS.md and `policies/controls/schema.json`): an id, a title
in French and English, a rationale, a severity, a layer (cloud or host), and compact references to the
documents it implements (`cis-debian-12: 5.1.20`), each framework declared once in
`policies/frameworks.yaml`. Where a control is enforced (`policy:<name>`, `role:<name>`, `scp:<name>`)
and verified (`policy:<name>`, `testinfra:<control id>`, `audit:<check>`) is never written here: it is
derived from the implementation when the catalogue loads (`jamaa.links`). Policies, roles' waivers, the
testinfra baseline and the evidence report all read ids from here:

    catalogue = load_catalogue(Path("policies/controls"))
    catalogue.controls["CLD-S3-001"].title.en
    catalogue.cloud_controls(), catalogue.host_controls()

A bad file stops here with one line per problem, `FILE: FIELD.PATH: reason`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jamaa.errors import ConfigError
from jamaa.links import Link, derive_links
from jamaa.links import refs as link_refs
from jamaa.paths import CONTROLS, REPO
from jamaa.yamlio import load_yaml

Severity = Literal["low", "medium", "high", "critical"]
Layer = Literal["cloud", "host"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}

SCHEMA_FILE = "schema.json"
FRAMEWORKS_FILE = "frameworks.yaml"
DEFAULT_CONTROLS_DIR = CONTROLS
DEFAULT_FRAMEWORKS = DEFAULT_CONTROLS_DIR.parent / FRAMEWORKS_FILE
DERIVED_FIELDS = ("enforced_by", "verified_by")
REPO_ROOT = REPO


class Title(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fr: str
    en: str


class Framework(BaseModel):
    """A document the controls cite, declared once in `policies/frameworks.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=3)
    version: str | None = None
    source: str = Field(pattern=r"^https://\S+$")
    ids: str | None = None
    """The shape of the document's identifiers (a regular expression); none: cited without numbers."""

    @property
    def label(self) -> str:
        return f"{self.title} {self.version}" if self.version else self.title


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
    """Derived when the catalogue loads (jamaa.links): `policy:<name>`, `role:<name>`, `scp:<name>`."""
    verified_by: tuple[str, ...] = ()
    """Derived when the catalogue loads: `policy:<name>`, `testinfra:<id>`, `audit:<check>`."""
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
    """All controls of every catalogue file, by id (ids are unique across files), the frameworks they
    cite, and the links (jamaa.links) that enforce and verify them."""

    model_config = ConfigDict(frozen=True)
    root: Path
    controls: dict[str, Control]
    frameworks: dict[str, Framework] = Field(default_factory=dict)
    links: tuple[Link, ...] = ()

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

    def links_of(self, control_id: str) -> list[Link]:
        """The places that enforce or verify `control_id`, with file and line."""
        return [link for link in self.links if link.control == control_id]

    def unknown_links(self) -> list[str]:
        """Links naming a control the catalogue does not have, as `FILE:LINE: kind name: reason`."""
        return [
            f"{link.where}: {link.ref}: names {link.control}, which is not in the catalogue"
            for link in self.links
            if link.control not in self.controls
        ]

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
        """Automated controls that nothing enforces or nothing verifies (manual ones give a reason)."""
        problems = []
        for c in self.controls.values():
            if c.manual is not None:
                continue
            missing = [
                what
                for what, value in (
                    (
                        "enforcement (a policy's controls=, a role task named or tagged with the id, an SCP)",
                        c.enforced_by,
                    ),
                    ("verification (a policy, a baseline @check, an audit check)", c.verified_by),
                )
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
    problems = []
    records = data.get("controls") if isinstance(data, dict) else None
    for index, record in enumerate(records if isinstance(records, list) else []):
        for derived in DERIVED_FIELDS:
            if isinstance(record, dict) and derived in record:
                problems.append(
                    f"{path}: controls.{index}.{derived}: derived from the implementation when the catalogue "
                    "loads (policies' controls=, role task names, baseline @check, audit, SCPs); remove it"
                )
    if problems:
        return problems
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(data):
        # `if/then` branches report against the failing property, which is what a reader needs.
        problems.append(f"{path}: {_field_path(error.absolute_path)}: {error.message}")
    return problems


def load_frameworks(path: Path) -> dict[str, Framework]:
    """`frameworks.yaml`: every document the catalogue may cite, by key."""
    data = load_yaml(path)
    section = data.get("frameworks") if isinstance(data, dict) else None
    if not isinstance(section, dict) or not section:
        raise ConfigError([f"{path}: frameworks: must be a mapping of framework key to its record"])
    problems: list[str] = []
    frameworks: dict[str, Framework] = {}
    for key, record in section.items():
        try:
            frameworks[str(key)] = Framework.model_validate(record)
        except ValidationError as error:
            for item in error.errors():
                where = _field_path(("frameworks", key, *item["loc"]))
                problems.append(f"{path}: {where}: {item['msg']}")
            continue
        if frameworks[str(key)].ids is not None:
            try:
                re.compile(str(frameworks[str(key)].ids))
            except re.error as error:
                problems.append(f"{path}: frameworks.{key}.ids: not a regular expression: {error}")
    if problems:
        raise ConfigError(problems)
    return frameworks


def _references(
    where: str, compact: dict[str, Any], frameworks: dict[str, Framework], problems: list[str]
) -> tuple[Reference, ...]:
    """`{framework: id | [ids] | null}` -> one Reference per identifier (or one for the document)."""
    found: list[Reference] = []
    for key, value in compact.items():
        framework = frameworks.get(key)
        if framework is None:
            problems.append(f"{where}.{key}: unknown framework (declared: {', '.join(sorted(frameworks))})")
            continue
        ids = [] if value is None else [value] if isinstance(value, str) else list(value)
        for ref_id in ids:
            if framework.ids is None:
                problems.append(f"{where}.{key}: {ref_id!r}: {key} is cited without numbers")
            elif not re.fullmatch(framework.ids, ref_id):
                problems.append(f"{where}.{key}: {ref_id!r} is not an identifier of {key} ({framework.ids})")
        found += [Reference(framework=key, id=ref_id, title=framework.label) for ref_id in ids] or [
            Reference(framework=key, title=framework.label)
        ]
    return tuple(found)


def load_records(root: Path | None = None) -> Catalogue:
    """The records alone, validated, without deriving the links (for callers that only need ids,
    severities or kernel levels: waivers, `jamaa validate`; it skips importing the policy pack and the
    baseline). `enforced_by`/`verified_by` are then empty: never judge coverage from it."""
    return load_catalogue(root, links=())


def _resolve_dir(root: Path) -> Path:
    nested = root / "policies" / "controls"
    return nested if nested.is_dir() else root


def load_catalogue(root: Path | None = None, *, links: Iterable[Link] | None = None) -> Catalogue:
    """Load and validate every `*.yaml` file of the catalogue directory, with the derived links.

    `root` is the controls directory (`policies/controls`) or the repository root; by default, the
    directory next to this package. The frameworks are `frameworks.yaml` beside the controls directory
    (the repository's when there is none). `links`: where controls are enforced and verified; by
    default derived from the repository (`jamaa.links.derive_links`). Raises `ConfigError` listing
    every problem.
    """
    controls_dir = _resolve_dir(root) if root is not None else DEFAULT_CONTROLS_DIR
    if not controls_dir.is_dir():
        raise ConfigError([f"{controls_dir}: catalogue directory not found"])
    schema = _load_schema(controls_dir)
    frameworks_file = controls_dir.parent / FRAMEWORKS_FILE
    frameworks = load_frameworks(frameworks_file if frameworks_file.is_file() else DEFAULT_FRAMEWORKS)
    files = sorted(controls_dir.glob("*.yaml"))
    if not files:
        raise ConfigError([f"{controls_dir}: no catalogue file (*.yaml)"])
    problems: list[str] = []
    records: list[tuple[Path, int, dict[str, Any]]] = []
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
        records += [(path, index, record) for index, record in enumerate(data["controls"])]
    derived = tuple(derive_links(REPO_ROOT) if links is None else links)
    by_control: dict[str, list[Link]] = {}
    for link in derived:
        by_control.setdefault(link.control, []).append(link)
    controls: dict[str, Control] = {}
    for path, index, record in records:
        where = f"{path}: controls.{index}.references"
        references = _references(where, record["references"], frameworks, problems)
        own = by_control.get(record["id"], [])
        control = Control.model_validate(
            {
                **record,
                "references": references,
                "enforced_by": link_refs(own, enforcing=True),
                "verified_by": link_refs(own, enforcing=False),
                "source": path,
            }
        )
        if control.id in controls:
            other = controls[control.id].source
            problems.append(f"{path}: controls.{index}.id: duplicate id {control.id} (also in {other})")
            continue
        controls[control.id] = control
    if problems:
        raise ConfigError(problems)
    return Catalogue(root=controls_dir, controls=controls, frameworks=frameworks, links=derived)
