"""Waivers: a control left unenforced and unverified in a scope, with owner, reason and expiry.

One implementation serves enforcement (Ansible's `jamaa_waived_controls` filter) and verification
(the baseline suite and the report), so the two sides can never disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jamaa.config import StrictModel, _parse
from jamaa.errors import ConfigError
from jamaa.yamlio import load_yaml

ScopeKind = Literal["host", "group", "commune", "region", "environment"]


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
            kind, value = waiver.scope.kind, waiver.scope.value
            if (
                (kind == "host" and value == host)
                or (kind == "group" and value in group_set)
                or (kind == "commune" and value in commune_set)
                or (kind == "region" and value == region)
                or (kind == "environment" and value == self.environment)
            ):
                applies[waiver.control] = waiver
        return applies


def load_waivers(
    env_dir: Path, known_controls: Collection[str] | None = None, today: date | None = None
) -> Waivers:
    """Read `<env>/waivers.yaml`; unknown control ids and expired waivers are errors."""
    path = env_dir / "waivers.yaml"
    problems: list[str] = []
    if not path.exists():
        return Waivers(environment=env_dir.name, entries=())
    try:
        data = load_yaml(path)
    except ConfigError as error:
        raise ConfigError(error.problems) from None
    parsed = _parse(WaiverFile, data, path, problems)
    if parsed is None:
        raise ConfigError(problems)
    today = today or date.today()
    for index, waiver in enumerate(parsed.waivers):
        where = f"{path}: waivers[{index}]"
        if known_controls is not None and waiver.control not in known_controls:
            problems.append(f"{where}.control: unknown control id {waiver.control}")
        if waiver.expires < today:
            problems.append(
                f"{where}.expires: waiver of {waiver.control} for {waiver.scope.kind} "
                f"{waiver.scope.value} expired on {waiver.expires.isoformat()} (owner: {waiver.owner})"
            )
    if problems:
        raise ConfigError(problems)
    return Waivers(environment=env_dir.name, entries=tuple(parsed.waivers))
