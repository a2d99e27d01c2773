"""Restore drill results: per host (as `jamaa-backup drill` prints them) and for the environment.

`out/drill/ENV/results.json` is what the evidence report reads (section `backup-drills`): for each host,
the snapshot restored, RPO (age of the newest restorable snapshot when the drill began), RTO (time to
restore files and databases and verify them), sizes, and any difference found.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jamaa.errors import ConfigError
from jamaa.report.model import SectionTable
from jamaa.results import Status

RESULTS = Path("out") / "drill"


def results_path(repo: Path, env: str) -> Path:
    return repo / RESULTS / env / "results.json"


class DatabaseDrill(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tables: int
    rows: int
    dump_bytes: int
    identical: bool


class HostDrill(BaseModel):
    model_config = ConfigDict(extra="ignore")
    host: str
    ok: bool
    problems: list[str] = Field(default_factory=list)
    snapshot: str | None = None
    snapshot_time: str | None = None
    rpo_s: float | None = None
    rto_s: float | None = None
    restore_files_s: float | None = None
    restore_databases_s: float | None = None
    restored_bytes: int | None = None
    files_verified: int | None = None
    databases: dict[str, DatabaseDrill] = Field(default_factory=dict)
    started: float | None = None
    ended: float | None = None


class DrillResults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = 1
    environment: str
    generated: str
    wall_s: float
    hosts: list[HostDrill]

    @property
    def ok(self) -> bool:
        return bool(self.hosts) and all(h.ok for h in self.hosts)

    def summary(self) -> dict[str, Any]:
        rpo = [h.rpo_s for h in self.hosts if h.rpo_s is not None]
        rto = [h.rto_s for h in self.hosts if h.rto_s is not None]
        return {
            "hosts": len(self.hosts),
            "passed": sum(h.ok for h in self.hosts),
            "rpo_max_s": max(rpo) if rpo else None,
            "rto_max_s": max(rto) if rto else None,
        }

    @classmethod
    def read(cls, path: Path) -> DrillResults:
        try:
            return cls.model_validate_json(path.read_text())
        except FileNotFoundError:
            raise ConfigError([f"{path}: not found (run `jamaa drill --env ENV`)"]) from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError([f"{path}: {where}: {first['msg']}"]) from None


def collect(env: str, host_dir: Path, wall_s: float) -> DrillResults:
    """Every `<host>.json` a drill left in `host_dir`, one result per host."""
    hosts = []
    for path in sorted(host_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            hosts.append(HostDrill.model_validate(data))
        except (ValueError, ValidationError) as error:
            hosts.append(
                HostDrill(host=path.stem, ok=False, problems=[f"{path}: unreadable result: {error}"])
            )
    return DrillResults(
        environment=env,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        wall_s=round(wall_s, 1),
        hosts=hosts,
    )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def size(count: int | None) -> str:
    if count is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def drill_section(environment: str, repo: Path) -> SectionTable | None:
    """The evidence report's backup-drill section (RPO / RTO per host), or `missing` when no drill ran."""
    path = results_path(repo, environment)
    section = SectionTable(
        key="backup-drills",
        title_fr="Exercices de restauration des sauvegardes (RPO / RTO)",
        title_ar="تمارين استعادة النسخ الاحتياطية",
        columns=[
            "host",
            "snapshot",
            "RPO",
            "RTO",
            "files verified",
            "databases (rows)",
            "restored",
            "result",
        ],
    )
    if not path.exists():
        section.status = Status.NOT_VERIFIED
        section.intro = (
            f"No restore drill result ({path.relative_to(repo)}); run `jamaa drill --env {environment}`."
        )
        return section
    results = DrillResults.read(path)
    for h in results.hosts:
        dbs = ", ".join(f"{name} ({db.rows})" for name, db in sorted(h.databases.items())) or "—"
        verdict = "identical" if h.ok else "FAILED: " + "; ".join(h.problems[:3])
        section.rows.append(
            [
                h.host,
                h.snapshot or "—",
                duration(h.rpo_s),
                duration(h.rto_s),
                str(h.files_verified if h.files_verified is not None else "—"),
                dbs,
                size(h.restored_bytes),
                verdict,
            ]
        )
    summary = results.summary()
    section.status = Status.PASS if results.ok else Status.FAIL
    section.intro = (
        f"Drill of {results.generated}: {summary['passed']}/{summary['hosts']} hosts restored identical "
        f"(files by SHA-256 against the manifest taken at backup time, databases by row count and a checksum "
        f"per table). Worst RPO {duration(summary['rpo_max_s'])}, worst RTO {duration(summary['rto_max_s'])}."
    )
    return section
