"""Waivers: a control left unenforced and unverified in a scope, with owner, reason and expiry.

The rules (which scope covers what, expiry, the national limit, a scope of the control's layer) live
once in `jamaa.waiver_rules`, the same file as the Ansible collection's plugins/plugin_utils/waiver_rules.py
that enforcement (the `jamaa_waived_controls` filter) runs; this module adds the typed models the
verification side (the baseline suite, the report, the policy pack) reads, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jamaa import waiver_rules
from jamaa.config import National, StrictModel, _parse
from jamaa.errors import ConfigError
from jamaa.yamlio import load_yaml

ScopeKind = Literal["host", "group", "commune", "region", "environment", "stack", "resource"]
"""A HOST-* waiver names hosts (host, group, commune); a CLD-* waiver names a Pulumi stack or one of
its resources (by logical name or URN); both may name a region or the whole environment
(waiver_rules.HOST_ONLY_SCOPES, CLOUD_ONLY_SCOPES)."""


class Scope(StrictModel):
    kind: ScopeKind
    value: str = Field(min_length=1)


class Waiver(StrictModel):
    control: str = Field(pattern=r"^(CLD|HOST)-[A-Z0-9]+-\d{3}$")
    scope: Scope
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=10)
    expires: date
    ticket: str = Field(min_length=1)

    @field_validator("owner", "reason", "ticket")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank (a waiver names who answers for it, why, and where)")
        return value


class WaiverFile(StrictModel):
    waivers: list[Waiver] = []


class Waivers(BaseModel):
    model_config = ConfigDict(frozen=True)

    environment: str
    entries: tuple[Waiver, ...]

    def for_host(
        self,
        host: str,
        groups: Iterable[str] = (),
        communes: Iterable[str] = (),
        region: str | None = None,
    ) -> dict[str, Waiver]:
        """The waivers that apply to one host, by control id."""
        group_set, commune_set = set(groups), set(communes)
        applies: dict[str, Waiver] = {}
        for waiver in self.entries:
            if waiver_rules.applies_to_host(
                waiver.scope.kind, waiver.scope.value, self.environment, host, group_set, commune_set, region
            ):
                applies[waiver.control] = waiver
        return applies

    def for_cloud(
        self, control: str, stack: str, region: str | None, urn: str | None, name: str | None
    ) -> Waiver | None:
        """The CLD-* waiver covering `control` on one resource (urn, name) of `stack`, or on the stack."""
        for waiver in self.entries:
            if waiver.control != control:
                continue
            if waiver_rules.applies_to_cloud(
                waiver.scope.kind, waiver.scope.value, self.environment, stack, region, urn, name
            ):
                return waiver
        return None


def max_duration_beside(env_dir: Path) -> int | None:
    """The longest waiver duration in the national.yaml beside `env_dir` (None when there is none)."""
    path = env_dir.parent / "national.yaml"
    if not path.exists():
        return None
    problems: list[str] = []
    national = _parse(National, load_yaml(path), path, problems)
    if national is None:
        raise ConfigError(problems)
    return national.waivers.max_duration_days


def load_waivers(
    env_dir: Path,
    known_controls: Collection[str] | None = None,
    today: date | None = None,
    max_days: int | None = None,
) -> Waivers:
    """Read `<env>/waivers.yaml`; unknown control ids, expired waivers and waivers that run longer than
    the national limit (`max_days`, else national.yaml's `waivers.max_duration_days` beside the
    environment) are errors."""
    path = env_dir / "waivers.yaml"
    problems: list[str] = []
    if not path.exists() and not path.is_symlink():
        return Waivers(environment=env_dir.name, entries=())
    data = load_yaml(path)
    parsed = _parse(WaiverFile, data, path, problems)
    if parsed is None:
        raise ConfigError(problems)
    today = today or date.today()
    if max_days is None:
        max_days = max_duration_beside(env_dir)
    for index, waiver in enumerate(parsed.waivers):
        problems += waiver_rules.waiver_problems(
            f"{path}: waivers[{index}]",
            waiver.control,
            waiver.scope.kind,
            waiver.scope.value,
            waiver.owner,
            waiver.expires,
            today,
            max_days,
            known_controls,
        )
    if problems:
        raise ConfigError(problems)
    return Waivers(environment=env_dir.name, entries=tuple(parsed.waivers))
