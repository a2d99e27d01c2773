"""The evidence report's data: one environment's controls × (policy results, host results, waivers).

`build_report()` gathers what the other parts produced — the catalogue, the baseline's results
(`out/verify/ENV/results.json`), the offline policy check of each of the environment's stacks, the
environment's waivers, the post-deploy audit of its accounts (`jamaa audit`) — into one JSON-ready model;
`render.py` turns it into a self-contained HTML page. The further sections (backup drills: RPO/RTO, drift)
are the explicit list `jamaa.report.sections.SECTIONS`.

Every result speaks `jamaa.results`' vocabulary. Aggregation, as an auditor reads it: across the
environment a control *fails* if any host, policy or audit failed it (an error counts as failed: nothing
was shown), else is *waived* if any waiver applies, else *passes* if something verified it, else is *not
applicable* when every host result was, else is *not verified*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jamaa.controls import SEVERITY_ORDER, Catalogue, Control
from jamaa.results import Result, Status
from jamaa.verify.results import HOST_STATUSES, RunResults

OVERALL: tuple[Status, ...] = (
    Status.PASS,
    Status.FAIL,
    Status.WAIVED,
    Status.NOT_APPLICABLE,
    Status.NOT_VERIFIED,
)
"""What the report says of a control across the environment."""
SEVERITIES = sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaiverRow(_Model):
    control: str
    scope: str
    owner: str
    reason: str
    expires: str
    ticket: str
    days_left: int


class ControlRow(_Model):
    id: str
    title_fr: str
    title_en: str
    severity: str
    layer: str
    area: str
    references: list[str]
    enforced_by: list[str]
    verified_by: list[str]
    manual: str | None = None
    kernel_level: bool = False
    policy_results: list[Result] = Field(default_factory=list)
    host_results: list[Result] = Field(default_factory=list)
    audit_results: list[Result] = Field(default_factory=list)
    waivers: list[WaiverRow] = Field(default_factory=list)
    overall: Status = Status.NOT_VERIFIED


class AttackerRow(_Model):
    """One check of the attacker's view (jamaa/baseline/suite/network/) against one server."""

    check: str
    host: str
    related: str
    status: Status
    message: str = ""


class SectionTable(_Model):
    """A later section: headings (French, Arabic), a short text and a table."""

    key: str
    title_fr: str
    title_ar: str
    intro: str = ""
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    status: Status = Status.PASS
    """pass, fail, or not-verified (the part never ran for the environment)."""


class Summary(_Model):
    controls: dict[str, int]  # overall status → number of controls
    by_severity: dict[str, dict[str, int]]  # severity → overall status → controls
    by_host: dict[str, dict[str, int]]  # host → host status → controls
    by_layer: dict[str, dict[str, int]]


class Source(_Model):
    """Where each input came from, and whether it was there."""

    verify_results: str | None = None
    verify_started: str | None = None
    verify_wall_s: float | None = None
    policy_stacks: list[str] = Field(default_factory=list)
    policy_errors: list[str] = Field(default_factory=list)
    policy_deviations: list[str] = Field(default_factory=list)
    """Mandatory policies the policy-pack config makes advisory or disables, per stack."""
    waivers_file: str | None = None
    audit_files: list[str] = Field(default_factory=list)


class Report(_Model):
    schema_version: int = 1
    environment: str
    generated: str
    catalogue_size: int
    summary: Summary
    controls: list[ControlRow]
    waivers: list[WaiverRow]
    hosts: list[str]
    timings: list[dict[str, Any]]
    attacker: list[AttackerRow] = Field(default_factory=list)
    sections: list[SectionTable] = Field(default_factory=list)
    sources: Source


SectionProvider = Callable[[str, Path], SectionTable | None]
"""(environment, repository root) → a section, or None when it has nothing to show."""


def _overall(row: ControlRow) -> Status:
    host = [r.status for r in row.host_results]
    evidence = [r.status for r in (*row.host_results, *row.policy_results, *row.audit_results)]
    if any(s.failing for s in evidence):
        return Status.FAIL
    if row.waivers or Status.WAIVED in host:
        return Status.WAIVED
    if Status.PASS in evidence:
        return Status.PASS
    if host and all(s == Status.NOT_APPLICABLE for s in host):
        return Status.NOT_APPLICABLE
    return Status.NOT_VERIFIED


def _waiver_rows(waivers: Any, today: date) -> list[WaiverRow]:
    rows = []
    for w in getattr(waivers, "entries", ()):
        rows.append(
            WaiverRow(
                control=w.control,
                scope=f"{w.scope.kind}:{w.scope.value}",
                owner=w.owner,
                reason=w.reason,
                expires=w.expires.isoformat(),
                ticket=w.ticket,
                days_left=(w.expires - today).days,
            )
        )
    return sorted(rows, key=lambda r: (r.expires, r.control))


def _row(control: Control) -> ControlRow:
    return ControlRow(
        id=control.id,
        title_fr=control.title.fr,
        title_en=control.title.en,
        severity=control.severity,
        layer=control.layer,
        area=control.id.split("-")[1],
        references=[str(r) for r in control.references],
        enforced_by=list(control.enforced_by),
        verified_by=list(control.verified_by),
        manual=control.manual,
        kernel_level=control.kernel_level,
    )


def build_report(
    environment: str,
    catalogue: Catalogue,
    results: RunResults | None,
    policy_results: Sequence[Result],
    waivers: Any,
    sources: Source,
    repo: Path,
    today: date | None = None,
    audit_results: Sequence[Result] = (),
    sections: Sequence[SectionProvider] | None = None,
) -> Report:
    """`sections`: the further sections (default: `jamaa.report.sections.SECTIONS`)."""
    today = today or date.today()
    rows = {c.id: _row(c) for c in sorted(catalogue.controls.values(), key=lambda c: c.id)}
    waiver_rows = _waiver_rows(waivers, today)
    for waiver in waiver_rows:
        if waiver.control in rows:
            rows[waiver.control].waivers.append(waiver)
    for found in policy_results:
        if found.control in rows:
            rows[found.control].policy_results.append(found)
    for found in audit_results:
        if found.control in rows:
            rows[found.control].audit_results.append(found)
    hosts: list[str] = []
    attacker: list[AttackerRow] = []
    if results is not None:
        for result in results.results:
            if result.area == "NET":
                attacker.append(
                    AttackerRow(
                        check=result.control,
                        host=result.host,
                        related=result.title,
                        status=result.status,
                        message=result.message if result.status != Status.PASS else "",
                    )
                )
        hosts = sorted({r.host for r in results.results if r.host and r.area != "NET"})
        for result in results.results:
            if result.control in rows and result.host:
                rows[result.control].host_results.append(result.result())
    for row in rows.values():
        row.host_results.sort(key=lambda r: r.target)
        row.overall = _overall(row)

    def tally(selected: list[ControlRow]) -> dict[str, int]:
        return {status.value: sum(1 for r in selected if r.overall == status) for status in OVERALL}

    by_host: dict[str, dict[str, int]] = {h: {s.value: 0 for s in HOST_STATUSES} for h in hosts}
    for row in rows.values():
        for host_result in row.host_results:
            by_host[host_result.target][host_result.status.value] += 1
    summary = Summary(
        controls=tally(list(rows.values())),
        by_severity={s: tally([r for r in rows.values() if r.severity == s]) for s in SEVERITIES},
        by_host=by_host,
        by_layer={
            layer: tally([r for r in rows.values() if r.layer == layer]) for layer in ("host", "cloud")
        },
    )
    timings = []
    if results is not None:
        timings = [t.model_dump() for t in results.timings() if t.host in hosts]
    if sections is None:
        from jamaa.report.sections import SECTIONS

        sections = SECTIONS
    tables = [s for s in (provider(environment, repo) for provider in sections) if s is not None]
    return Report(
        environment=environment,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        catalogue_size=len(catalogue),
        summary=summary,
        controls=list(rows.values()),
        waivers=waiver_rows,
        hosts=hosts,
        timings=timings,
        attacker=attacker,
        sections=tables,
        sources=sources,
    )
