"""Drift results: per target (a host or a stack), its status and what drifted, per control id.

One file per run and kind, `out/drift/ENV/hosts.json` or `out/drift/ENV/cloud.json`, read back by the
evidence report's drift section. A target's status is jamaa.results' `fail` (something differs from the
code), `pass` (nothing does), `cannot-evaluate` (a host the check could not reach: never counted as no
drift) or `error` (the check could not finish there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from jamaa.errors import ConfigError
from jamaa.results import Status

NO_CONTROL = "(no control id)"
CONTROL_ID = re.compile(r"\b([A-Z]{3,5}-[A-Z]{2,8}-\d{3})\b")
CONTROL_RANGE = re.compile(r"\b([A-Z]{3,5}-[A-Z]{2,8}-)(\d{3})\.\.(\d{3})\b")


class Finding(BaseModel):
    """One thing that drifted: the control it belongs to, where it was seen, and the diff."""

    control: str
    source: str  # the Ansible task, or the Pulumi resource URN
    detail: str = ""  # a unified diff, the differing properties, or the check's message


class TargetResult(BaseModel):
    target: str
    status: Status
    message: str = ""
    findings: list[Finding] = Field(default_factory=list)

    def controls(self) -> list[str]:
        return sorted({f.control for f in self.findings})


class DriftRun(BaseModel):
    schema_version: int = 1
    kind: Literal["hosts", "cloud"]
    environment: str
    ran_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    wall_s: float = 0.0
    targets: list[TargetResult] = Field(default_factory=list)

    def drifted(self) -> bool:
        return any(t.status is not Status.PASS for t in self.targets)

    def exit_code(self) -> int:
        """0: every target checked and nothing drifted; 1: drift, or a target unreachable or in error."""
        return 1 if self.drifted() or not self.targets else 0

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> DriftRun:
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, ValidationError) as error:
            reason = str(error).splitlines()[0]
            raise ConfigError([f"{path}: drift results: unreadable ({reason})"]) from None


def results_path(repo: Path, environment: str, kind: str) -> Path:
    return repo / "out" / "drift" / environment / f"{kind}.json"


def control_ids(text: str, known: Iterable[str] = ()) -> list[str]:
    """The control ids a task name names: `HOST-SSH-003 | HOST-SSH-029 | …`, ranges `HOST-SYSCTL-001..029`
    expanded (to the ids of `known` inside the range when a catalogue is given)."""
    known_ids = set(known)
    found: list[str] = []
    text = text.split(" : ", 1)[-1]  # "role : task name" as Ansible's callbacks print it
    leading = []
    for segment in text.split(" | "):
        if not CONTROL_ID.search(segment) or CONTROL_ID.sub("", CONTROL_RANGE.sub("", segment)).strip(" .,"):
            break
        leading.append(segment)
    text = " ".join(leading)
    for prefix, first, last in CONTROL_RANGE.findall(text):
        for number in range(int(first), int(last) + 1):
            candidate = f"{prefix}{number:03d}"
            if not known_ids or candidate in known_ids:
                found.append(candidate)
    for match in CONTROL_ID.findall(CONTROL_RANGE.sub("", text)):
        found.append(match)
    return list(dict.fromkeys(found))
