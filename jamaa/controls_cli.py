"""`jamaa controls show ID` and `jamaa controls list`: the auditor's path through one control.

    law / framework references → the control record → what enforces it (file:line) → what verifies it
    (file:line) → the last result in out/ per host or stack → the waivers that apply

The record comes from `policies/controls/`, the frameworks from `policies/frameworks.yaml`, the links
from the implementation (jamaa.links), the results from the files the other commands leave in `out/`:
`jamaa verify` (out/verify/*/results.json, per host), `jamaa report` (out/report/report-*.json, the
policy verdicts per stack) and `jamaa audit` (out/audit/*.json, per account). Nothing is run: a result
that no command has written yet is shown as absent, never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from jamaa.audit.checks import AuditDocument
from jamaa.clikit import FormatOption, OutputFormat, OutputOption, emit, fails_cleanly
from jamaa.controls import REPO_ROOT, Catalogue, Control, load_catalogue
from jamaa.errors import ConfigError, JamaaError, one_line
from jamaa.links import Link
from jamaa.report.model import Report
from jamaa.results import Result
from jamaa.verify.results import RunResults
from jamaa.waivers import load_waivers

controls_app = typer.Typer(
    name="controls",
    help="The control catalogue: one control's references, enforcement, verification, results, waivers.",
    no_args_is_help=True,
)

OutDir = Annotated[Path, typer.Option("--out-dir", help="Where the results of verify, report and audit are.")]
EnvironmentsDir = Annotated[Path, typer.Option("--environments", help="The environments (for waivers).")]
CatalogueDir = Annotated[Path | None, typer.Option("--catalogue", help="The controls directory.")]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _row(result: Result, path: Path, when: str) -> dict[str, str]:
    detail = "; ".join([result.message, *result.detail] if result.message else result.detail)
    return {
        "source": result.source,
        "target": result.target,
        "check": result.check,
        "status": result.status.value,
        "detail": detail,
        "when": when,
        "file": _shown(path),
    }


def last_results(control_id: str, out_dir: Path) -> list[dict[str, str]]:
    """The control's results (jamaa.results records) in the files the other commands leave in
    `out_dir`: `jamaa verify` per host (verify/*/results.json), `jamaa report` per stack (the policy
    verdicts of report/report-*.json) and `jamaa audit` per account (audit/ENV/REGION.json)."""
    found: list[dict[str, str]] = []
    for path in sorted(out_dir.glob("verify/*/results.json")):
        run = RunResults.read(path)
        for item in run.results:
            if item.control == control_id and item.host:
                found.append(_row(item.result(), path, f"{run.started} ({run.environment})"))
    for path in sorted(out_dir.glob("report/report-*.json")):
        try:
            report = Report.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError) as error:
            raise ConfigError(
                [f"{path}: not a report of this version of jamaa: {one_line(str(error))}"]
            ) from None
        for row in report.controls:
            if row.id == control_id:
                for result in row.policy_results:
                    found.append(_row(result, path, f"{report.generated} ({report.environment})"))
    for path in sorted([*out_dir.glob("audit/*.json"), *out_dir.glob("audit/*/*.json")]):
        document = AuditDocument.read(path)
        for finding in document.findings:
            if finding.control == control_id:
                found.append(_row(finding.result(document.region), path, document.environment))
    return found


def applicable_waivers(control_id: str, environments: Path, catalogue: Catalogue) -> list[dict[str, str]]:
    """Every waiver of the control in each environment's waivers.yaml; a file the rules refuse
    (expired, too long, unknown control) is shown as refused with its reason, not dropped."""
    found: list[dict[str, str]] = []
    for env_dir in sorted(p for p in environments.iterdir() if (p / "waivers.yaml").exists()):
        try:
            waivers = load_waivers(env_dir, set(catalogue.controls))
        except ConfigError as error:
            for problem in error.problems:
                if control_id in problem:
                    found.append({"environment": env_dir.name, "status": "refused", "detail": problem})
            continue
        for waiver in waivers.entries:
            if waiver.control == control_id:
                found.append(
                    {
                        "environment": env_dir.name,
                        "status": "in force",
                        "scope": f"{waiver.scope.kind}:{waiver.scope.value}",
                        "owner": waiver.owner,
                        "reason": waiver.reason,
                        "expires": waiver.expires.isoformat(),
                        "ticket": waiver.ticket,
                    }
                )
    return found


def _link(link: Link) -> dict[str, Any]:
    return {
        "kind": link.kind,
        "name": link.name,
        "file": str(link.path),
        "line": link.line,
        "what": link.what,
    }


def describe(
    control: Control, catalogue: Catalogue, out_dir: Path, environments: Path
) -> tuple[dict[str, Any], list[Any]]:
    """The control's whole chain, as data (JSON) and as renderables (table)."""
    links = catalogue.links_of(control.id)
    references: list[dict[str, Any]] = []
    for ref in control.references:
        framework = catalogue.frameworks.get(ref.framework)
        references.append(
            {
                "framework": ref.framework,
                "id": ref.id,
                "title": framework.title if framework else "",
                "version": framework.version if framework else None,
                "source": framework.source if framework else "",
            }
        )
    enforced = [_link(link) for link in links if link.enforces]
    verified = [_link(link) for link in links if link.verifies]
    results = last_results(control.id, out_dir)
    waivers = applicable_waivers(control.id, environments, catalogue)
    data = {
        "id": control.id,
        "title": control.title.model_dump(),
        "rationale": control.rationale,
        "severity": control.severity,
        "layer": control.layer,
        "kernel_level": control.kernel_level,
        "manual": control.manual,
        "file": _shown(control.source),
        "references": references,
        "enforced_by": enforced,
        "verified_by": verified,
        "results": results,
        "waivers": waivers,
    }
    head = Text()
    head.append(f"{control.id}", style="bold")
    head.append(f"  {control.severity} · {control.layer}{' · kernel level' if control.kernel_level else ''}")
    head.append(f"  ({_shown(control.source)})\n")
    head.append(f"{control.title.en}\n{control.title.fr}\n")
    head.append(f"Why: {control.rationale}")
    if control.manual:
        head.append(f"\nManual: {control.manual}")
    refs = Table(title="References", title_justify="left")
    for column in ("framework", "id", "document", "source"):
        refs.add_column(column)
    for cited in references:
        document = f"{cited['title']} {cited['version'] or ''}".strip()
        refs.add_row(cited["framework"], cited["id"] or "(the document)", document, cited["source"])
    renderables: list[Any] = [head, refs]
    for title, rows in (("Enforced by", enforced), ("Verified by", verified)):
        table = Table(title=title, title_justify="left")
        for column in ("kind", "name", "where", "what"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["kind"], row["name"], f"{row['file']}:{row['line']}", row["what"])
        renderables.append(table if rows else Text(f"{title}: nothing", style="bold red"))
    if results:
        table = Table(title=f"Last results ({_shown(out_dir)})", title_justify="left")
        for column in ("source", "target", "check", "status", "detail", "when", "file"):
            table.add_column(column)
        for row in results:
            table.add_row(
                *(row[key] for key in ("source", "target", "check", "status", "detail", "when", "file"))
            )
        renderables.append(table)
    else:
        renderables.append(Text(f"Last results: none in {_shown(out_dir)} (jamaa verify / report / audit)"))
    if waivers:
        table = Table(title="Waivers", title_justify="left")
        for column in ("environment", "status", "scope", "owner", "expires", "ticket", "reason"):
            table.add_column(column)
        for row in waivers:
            reason = row.get("reason", row.get("detail", ""))
            table.add_row(
                row["environment"],
                row["status"],
                row.get("scope", ""),
                row.get("owner", ""),
                row.get("expires", ""),
                row.get("ticket", ""),
                reason,
            )
        renderables.append(table)
    else:
        renderables.append(Text(f"Waivers: none in {_shown(environments)}/*/waivers.yaml"))
    return data, renderables


@controls_app.command("show")
def show(
    control_id: Annotated[str, typer.Argument(metavar="ID", help="A control id, e.g. HOST-SSH-003.")],
    out_dir: OutDir = REPO_ROOT / "out",
    environments: EnvironmentsDir = REPO_ROOT / "environments",
    catalogue_dir: CatalogueDir = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """One control: references, record, what enforces and verifies it (file:line), last results, waivers."""
    catalogue = load_catalogue(catalogue_dir)
    control = catalogue.controls.get(control_id.upper())
    if control is None:
        raise JamaaError(f"controls show: {control_id}: no such control in {_shown(catalogue.root)}")
    data, renderables = describe(control, catalogue, out_dir, environments)
    emit(fmt, output, data, *renderables)


@controls_app.command("list")
def list_controls(
    area: Annotated[
        str | None, typer.Option(help="Only this area, e.g. SSH, S3, PG (the id's middle).")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="Only host or cloud controls.")] = None,
    catalogue_dir: CatalogueDir = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """The controls (of one area): severity, title, and what enforces and verifies each."""
    catalogue = load_catalogue(catalogue_dir)
    selected = sorted(catalogue.controls.values(), key=lambda c: c.id)
    if layer is not None:
        if layer not in ("host", "cloud"):
            raise JamaaError(f"controls list: --layer: {layer!r} is not host or cloud")
        selected = [c for c in selected if c.layer == layer]
    if area is not None:
        areas = sorted({c.id.split("-")[1] for c in catalogue.controls.values()})
        if area.upper() not in areas:
            raise JamaaError(f"controls list: --area: unknown area {area!r} (areas: {', '.join(areas)})")
        selected = [c for c in selected if c.id.split("-")[1] == area.upper()]
    rows: list[dict[str, Any]] = [
        {
            "id": c.id,
            "severity": c.severity,
            "layer": c.layer,
            "title": c.title.en,
            "references": [str(r) for r in c.references],
            "enforced_by": list(c.enforced_by),
            "verified_by": list(c.verified_by),
            "manual": c.manual,
        }
        for c in selected
    ]
    table = Table(title=f"Controls{f' — {area.upper()}' if area else ''} ({len(rows)})")
    for column in ("id", "severity", "title", "references", "enforced by", "verified by"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"],
            row["severity"],
            row["title"],
            ", ".join(row["references"]),
            ", ".join(row["enforced_by"]) or ("manual" if row["manual"] else "—"),
            ", ".join(row["verified_by"]) or ("manual" if row["manual"] else "—"),
        )
    emit(fmt, output, rows, table)


def register(app: typer.Typer) -> None:
    for command in controls_app.registered_commands:
        command.callback = fails_cleanly(command.callback) if command.callback else None
    app.add_typer(controls_app, name="controls")
