"""Render the evidence report: one self-contained HTML page (no external resource) and its JSON."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import jamaa
from jamaa.report.model import OVERALL, Report
from jamaa.results import Status
from jamaa.verify.results import HOST_STATUSES

SECTION_FR = {Status.PASS: "réussi", Status.FAIL: "échec", Status.NOT_VERIFIED: "non exécuté"}
"""A further section (drills, drift) as a whole: how its run went."""
SEVERITY_FR = {"critical": "critique", "high": "élevée", "medium": "moyenne", "low": "faible"}


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("jamaa.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: Report) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=report,
        version=getattr(jamaa, "__version__", ""),
        overall=OVERALL,
        host_statuses=HOST_STATUSES,
        quiet=(Status.PASS, Status.NOT_APPLICABLE),
        passed=Status.PASS,
        section_fr=SECTION_FR,
        severity_fr=SEVERITY_FR,
        timings={t["host"]: t["busy_s"] for t in report.timings},
        attacker=report.attacker,
    )


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"report-{report.environment}.html"
    data = out_dir / f"report-{report.environment}.json"
    html.write_text(render_html(report), encoding="utf-8")
    data.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return html, data
