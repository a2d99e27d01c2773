"""Policy results for people (a Rich table) and for CI (JSON, SARIF 2.1.0, JUnit XML)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from jamaa import __version__
from jamaa.policy.engine import Finding, Report
from jamaa.policy.pack import PolicyInfo

FORMATS = ("text", "json", "sarif", "junit")
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _resource(finding: Finding) -> str:
    if finding.urn is None:
        return "(stack)"
    return f"{finding.name} [{finding.resource_type}]\n{finding.urn}"


def render_text(report: Report, console: Console) -> None:
    summary = report.summary()
    if report.findings:
        table = Table(title=f"Policy results — {report.stack}", show_lines=True, expand=True)
        for column in ("Policy", "Severity", "Level", "Resource", "Message", "Controls"):
            table.add_column(column, overflow="fold")
        for f in report.findings:
            level = f.enforcement if f.kind == "violation" else "cannot evaluate"
            table.add_row(
                f.policy,
                f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]",
                level,
                _resource(f),
                f.message,
                ", ".join(f.controls),
            )
        console.print(table)
        remediations = {f.policy: f.remediation for f in report.findings if f.kind == "violation"}
        if remediations:
            console.print("[bold]Remediation[/]")
            for name, text in sorted(remediations.items()):
                console.print(f"  {name}: {text}", highlight=False)
    verdict = (
        f"[bold red]FAILED[/]: {summary['mandatory_violations']} mandatory violation(s)"
        if report.exit_code
        else "[bold green]PASSED[/]: no mandatory violation"
    )
    console.print(
        f"{verdict} — stack {report.stack}: {summary['resources']} resources, "
        f"{summary['policies']} policies, {summary['violations']} violation(s), "
        f"{summary['cannot_evaluate_offline']} cannot be evaluated offline, "
        f"{summary['not_applicable']} not applicable ({report.elapsed:.2f} s)",
        highlight=False,
    )


def to_json(report: Report) -> dict[str, Any]:
    return {
        "tool": {"name": "jamaa-policy", "version": __version__},
        "project": report.project,
        "stack": report.stack,
        "passed": report.exit_code == 0,
        "summary": report.summary(),
        "elapsed_seconds": round(report.elapsed, 4),
        "policies": [
            {
                "name": p.name,
                "family": p.family,
                "kind": p.kind,
                "severity": p.severity,
                "enforcement": report.enforcement[p.name],
                "controls": list(p.controls),
                "status": report.policy_status(p.name),
                "evaluations": report.tallies.get(p.name, {}).get("evaluations", 0),
            }
            for p in report.policies
        ],
        # every finding: violations and, flagged not_evaluable, what cannot be evaluated offline
        "violations": [f.to_json() for f in report.findings],
    }


def _sarif_level(finding: Finding) -> str:
    if finding.kind == "unknown":
        return "note"
    return "error" if finding.enforcement == "mandatory" else "warning"


def _sarif_rule(info: PolicyInfo) -> dict[str, Any]:
    return {
        "id": info.name,
        "name": info.name,
        "shortDescription": {"text": info.description},
        "help": {"text": info.remediation},
        "properties": {
            "severity": info.severity,
            "family": info.family,
            "controls": list(info.controls),
            "tags": [info.family, *info.controls],
        },
    }


def to_sarif(report: Report) -> dict[str, Any]:
    rules = [_sarif_rule(p) for p in report.policies]
    index = {p.name: i for i, p in enumerate(report.policies)}
    results = []
    for f in report.findings:
        location: dict[str, Any] = {
            "logicalLocations": [
                {
                    "fullyQualifiedName": f.urn or f"stack:{report.stack}",
                    "name": f.name or report.stack,
                    "kind": "resource" if f.urn else "module",
                }
            ]
        }
        results.append(
            {
                "ruleId": f.policy,
                "ruleIndex": index[f.policy],
                "level": _sarif_level(f),
                "message": {"text": f.message},
                "locations": [location],
                "properties": {
                    "severity": f.severity,
                    "enforcement": f.enforcement,
                    "status": f.to_json()["status"],
                    "controls": list(f.controls),
                    "resourceType": f.resource_type,
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "jamaa-policy",
                        "version": __version__,
                        "informationUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"jamaa-policy/{report.stack}"},
                "results": results,
            }
        ],
    }


def to_junit(report: Report) -> str:
    """One test case per policy; violations are failures, unknowns are skipped with the reason."""
    by_policy: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_policy.setdefault(f.policy, []).append(f)
    cases = [p for p in report.policies if report.enforcement[p.name] != "disabled"]
    failures = sum(1 for p in cases if any(f.kind == "violation" for f in by_policy.get(p.name, [])))
    skipped = sum(
        1 for p in cases if by_policy.get(p.name) and all(f.kind == "unknown" for f in by_policy[p.name])
    )
    suites = ET.Element("testsuites", name="jamaa-policy")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"policy.{report.stack}",
        tests=str(len(cases)),
        failures=str(failures),
        skipped=str(skipped),
        errors="0",
        time=f"{report.elapsed:.3f}",
    )
    for info in cases:
        case = ET.SubElement(
            suite, "testcase", classname=f"policy.{report.stack}.{info.family}", name=info.name
        )
        properties = ET.SubElement(case, "properties")
        for control in info.controls:
            ET.SubElement(properties, "property", name="control", value=control)
        ET.SubElement(properties, "property", name="severity", value=info.severity)
        ET.SubElement(properties, "property", name="enforcement", value=report.enforcement[info.name])
        found = by_policy.get(info.name, [])
        violations = [f for f in found if f.kind == "violation"]
        unknowns = [f for f in found if f.kind == "unknown"]
        if violations:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(violations)} violation(s) ({report.enforcement[info.name]})",
                type=info.severity,
            )
            failure.text = _lines(violations) + f"\nRemediation: {info.remediation}"
        elif unknowns:
            ET.SubElement(case, "skipped", message=f"cannot evaluate offline: {len(unknowns)} case(s)")
        if unknowns:
            out = ET.SubElement(case, "system-out")
            out.text = _lines(unknowns)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _lines(findings: Sequence[Finding]) -> str:
    return "\n".join(f"{f.urn or '(stack)'}: {f.message}" for f in findings)


def render(report: Report, fmt: str, console: Console) -> str | None:
    """Text goes to the console; the other formats are returned as a string."""
    if fmt == "text":
        render_text(report, console)
        return None
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return to_junit(report)
    raise ValueError(f"unknown format {fmt}")
