"""Verification results: one record per (host, control), as JSON next to pytest's JUnit file.

Statuses follow the auditors' vocabulary: a control passes or fails on a host; a waived control
(owner, reason, expiry) and a control not applicable on that host (a container cannot show a kernel
setting) are reported with their reason and never count as passed; `error` means the check could
not run (host unreachable, unexpected exception) and counts as a failure of the run.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jamaa.errors import ConfigError
from jamaa.results import Result, Status

SEVERITIES = ("critical", "high", "medium", "low")


HOST_STATUSES: tuple[Status, ...] = (
    Status.PASS,
    Status.FAIL,
    Status.WAIVED,
    Status.NOT_APPLICABLE,
    Status.ERROR,
)
"""What a baseline check can say about a control on a host (jamaa.results has the vocabulary)."""


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    framework: str
    id: str | None = None

    def label(self) -> str:
        return f"{self.framework} {self.id}" if self.id else self.framework


class WaiverInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: str
    reason: str
    expires: str
    ticket: str | None = None
    scope: str | None = None


class CheckResult(BaseModel):
    """What one check said about one control on one host."""

    model_config = ConfigDict(extra="forbid")
    host: str
    control: str
    status: Status
    severity: str = "medium"
    title: str = ""
    references: list[Reference] = Field(default_factory=list)
    area: str = ""
    message: str = ""
    duration_s: float = 0.0
    waiver: WaiverInfo | None = None
    observed: Status | None = None  # for a waived control: what the check found anyway
    nodeid: str = ""

    def result(self) -> Result:
        """The shared record (jamaa.results) the evidence report reads."""
        return Result(
            source="host",
            control=self.control,
            target=self.host,
            check=self.nodeid,
            status=self.status,
            message=self.message,
            observed=self.observed,
        )


class HostTiming(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str
    checks: int
    busy_s: float  # sum of the host's test durations (setup + call + teardown)


class RunResults(BaseModel):
    """A whole verification run of one environment (or one ad-hoc inventory)."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = 1
    environment: str
    inventory: str = ""
    started: str = ""
    wall_s: float = 0.0
    workers: int = 1
    pytest_exit: int = 0
    results: list[CheckResult] = Field(default_factory=list)
    collection_errors: list[str] = Field(default_factory=list)

    # --- views -----------------------------------------------------------------------------
    def hosts(self) -> list[str]:
        return sorted({r.host for r in self.results if r.host})

    def counts(self) -> dict[str, int]:
        found = Counter(r.status.value for r in self.results)
        return {status.value: found.get(status.value, 0) for status in HOST_STATUSES}

    def counts_by(self, key: str) -> dict[str, dict[str, int]]:
        """Status counts grouped by `host`, `severity` or `area`."""
        table: dict[str, Counter[str]] = {}
        for result in self.results:
            table.setdefault(str(getattr(result, key)), Counter())[result.status.value] += 1
        return {
            name: {status.value: counter.get(status.value, 0) for status in HOST_STATUSES}
            for name, counter in sorted(table.items())
        }

    def timings(self, exclude_area: str | None = "NET") -> list[HostTiming]:
        """Per host: its checks and their summed durations (a host's checks run in turn on one worker,
        so this is the host's wall time); the attacker's probes (area NET) are left out by default."""
        busy: dict[str, float] = {}
        checks: Counter[str] = Counter()
        for result in self.results:
            if not result.host or (exclude_area is not None and result.area == exclude_area):
                continue
            busy[result.host] = busy.get(result.host, 0.0) + result.duration_s
            checks[result.host] += 1
        return [HostTiming(host=h, checks=checks[h], busy_s=round(busy[h], 3)) for h in sorted(busy)]

    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status.failing]

    def ok(self) -> bool:
        return self.pytest_exit in (0, 5) and not self.failures() and not self.collection_errors

    # --- files -----------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RunResults:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"{path}: file not found (run `jamaa verify` first)"]) from None
        except json.JSONDecodeError as error:
            raise ConfigError([f"{path}: line {error.lineno}: not valid JSON ({error.msg})"]) from None
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = [
                f"{path}: {'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                for e in error.errors()
            ]
            raise ConfigError(problems) from None
