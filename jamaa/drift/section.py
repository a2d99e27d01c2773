"""The evidence report's drift section: when drift detection last ran, and what drifted, per control."""

from __future__ import annotations

from pathlib import Path

from jamaa.drift.model import DriftRun, results_path
from jamaa.report.model import SectionTable
from jamaa.results import Status


def drift_section(environment: str, repo: Path) -> SectionTable | None:
    """One row per drifted control and target (or per target with nothing drifted, or unreachable);
    `missing` when `jamaa drift` never ran for the environment."""
    section = SectionTable(
        key="drift",
        title_fr="Dérive par rapport au code (serveurs et cloud)",
        title_ar="الانحراف عن الشيفرة (الخوادم والسحابة)",
        columns=["checked", "kind", "target", "status", "control", "where", "what differs"],
    )
    runs = [
        DriftRun.read(path)
        for kind in ("hosts", "cloud")
        if (path := results_path(repo, environment, kind)).exists()
    ]
    if not runs:
        section.status = Status.NOT_VERIFIED
        section.intro = f"No drift detection result; run `jamaa drift --env {environment}`."
        return section
    section.intro = "; ".join(
        f"{run.kind}: last run {run.ran_at} ({len(run.targets)} checked, "
        f"{sum(t.status is Status.FAIL for t in run.targets)} drifted, "
        f"{sum(t.status in (Status.CANNOT_EVALUATE, Status.ERROR) for t in run.targets)} not checked)"
        for run in runs
    )
    for run in runs:
        for target in run.targets:
            if not target.findings:
                section.rows.append(
                    [run.ran_at, run.kind, target.target, target.status, "—", "—", target.message]
                )
            for finding in target.findings:
                detail = finding.detail.splitlines()
                section.rows.append(
                    [
                        run.ran_at,
                        run.kind,
                        target.target,
                        target.status,
                        finding.control,
                        finding.source,
                        " / ".join(detail[:6]) + (" …" if len(detail) > 6 else ""),
                    ]
                )
    if any(t.status is not Status.PASS for run in runs for t in run.targets):
        section.status = Status.FAIL
    return section
