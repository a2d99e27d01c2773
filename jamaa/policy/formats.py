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
from jamaa.results import Status

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
            if f.status is Status.FAIL:
                level = f.enforcement
            else:
                level = f.status.label + (" (strict: fails)" if f.blocking else "")
            table.add_row(
                f.policy,
                f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]",
                level,
                _resource(f),
                f.message + _waiver_text(f),
                ", ".join(f.controls),
            )
        console.print(table)
        remediations = {
            f.policy: f.remediation for f in report.findings if f.kind == "violation" and not f.waived
        }
        if remediations:
            console.print("[bold]Remediation[/]")
            for name, text in sorted(remediations.items()):
                console.print(f"  {name}: {text}", highlight=False)
    for deviation in report.deviations:
        console.print(
            f"[yellow]deviation[/]: {deviation['policy']} is {deviation['configured']} by the policy-pack "
            f"config (default: {deviation['default']})",
            highlight=False,
        )
    verdict = (
        f"[bold red]FAILED[/]: {summary['mandatory_violations']} mandatory violation(s)"
        + (" (strict: a mandatory policy that cannot be evaluated offline fails)" if report.strict else "")
        if report.exit_code
        else "[bold green]PASSED[/]: no mandatory violation"
    )
    console.print(
        f"{verdict} — stack {report.stack}: {summary['resources']} resources, "
        f"{summary['policies']} policies, {summary['violations']} violation(s), "
        f"{summary['cannot_evaluate_offline']} cannot be evaluated offline, "
        f"{summary['waived']} waived, "
        f"{summary['not_applicable']} not applicable ({report.elapsed:.2f} s)",
        highlight=False,
    )


def to_json(report: Report) -> dict[str, Any]:
    return {
        "tool": {"name": "jamaa-policy", "version": __version__},
        "project": report.project,
        "stack": report.stack,
        "passed": report.exit_code == 0,
        "strict": report.strict,
        "summary": report.summary(),
        "deviations": report.deviations,
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


def _waiver_text(finding: Finding) -> str:
    w = finding.waiver
    if w is None:
        return ""
    return f"\nWAIVED by {w['owner']} until {w['expires']} ({w['ticket']}): {w['reason']}"


def _sarif_level(finding: Finding) -> str:
    if finding.blocking:
        return "error"
    if finding.kind == "unknown" or finding.waived:
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
        result: dict[str, Any] = {
            "ruleId": f.policy,
            "ruleIndex": index[f.policy],
            "level": _sarif_level(f),
            "message": {"text": f.message},
            "locations": [location],
            "properties": {
                "severity": f.severity,
                "enforcement": f.enforcement,
                "status": f.status,
                "controls": list(f.controls),
                "resourceType": f.resource_type,
            },
        }
        if f.waiver is not None:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{f.waiver['reason']} (owner: {f.waiver['owner']}, "
                    f"expires {f.waiver['expires']}, {f.waiver['ticket']})",
                }
            ]
            result["properties"]["waiver"] = f.waiver
        results.append(result)
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
    failures = sum(1 for p in cases if report.policy_status(p.name) is Status.FAIL)
    skipped = sum(1 for p in cases if report.policy_status(p.name) in (Status.CANNOT_EVALUATE, Status.WAIVED))
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
        violations = [f for f in found if (f.kind == "violation" and not f.waived) or f.blocking]
        unknowns = [f for f in found if f.kind == "unknown" and not f.waived]
        waived = [f for f in found if f.waived]
        if violations:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(violations)} violation(s) ({report.enforcement[info.name]}"
                + (", strict" if report.strict else "")
                + ")",
                type=info.severity,
            )
            failure.text = _lines(violations) + f"\nRemediation: {info.remediation}"
        elif unknowns:
            ET.SubElement(case, "skipped", message=f"cannot evaluate offline: {len(unknowns)} case(s)")
        elif waived:
            ET.SubElement(case, "skipped", message=f"waived: {len(waived)} case(s)")
        if waived:
            for f in waived:
                assert f.waiver is not None
                ET.SubElement(
                    properties, "property", name="waiver", value=f"{f.waiver['control']} {f.waiver['ticket']}"
                )
        if unknowns or waived:
            out = ET.SubElement(case, "system-out")
            out.text = _lines(unknowns + waived)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _lines(findings: Sequence[Finding]) -> str:
    return "\n".join(f"{f.urn or '(stack)'}: {f.message}{_waiver_text(f)}" for f in findings)


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


def render_many(reports: Sequence[Report], errors: Sequence[str], fmt: str, console: Console) -> str | None:
    """Several stacks (`--all`): text per stack then a totals line; JSON a list of the per-stack
    documents; SARIF one run per stack; JUnit one test suite per stack. Planning errors are listed."""
    passed = not errors and all(r.exit_code == 0 for r in reports)
    if fmt == "text":
        for report in reports:
            render_text(report, console)
        for error in errors:
            console.print(f"[bold red]ERROR[/]: {error}", highlight=False)
        failed = [r.stack for r in reports if r.exit_code]
        verdict = "[bold green]PASSED[/]" if passed else "[bold red]FAILED[/]"
        which = ": " + ", ".join(failed) if failed else ""
        console.print(
            f"{verdict}: {len(reports)} stack(s) checked, {len(failed)} failed{which}, "
            f"{len(errors)} could not be planned",
            highlight=False,
        )
        return None
    if fmt == "json":
        document = {
            "tool": {"name": "jamaa-policy", "version": __version__},
            "passed": passed,
            "stacks": [to_json(r) for r in reports],
            "errors": list(errors),
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "sarif":
        runs = [run for r in reports for run in to_sarif(r)["runs"]]
        return (
            json.dumps(
                {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}, indent=2, ensure_ascii=False
            )
            + "\n"
        )
    if fmt == "junit":
        merged = ET.Element("testsuites", name="jamaa-policy")
        for report in reports:
            for suite in ET.fromstring(to_junit(report).split("?>", 1)[1]):
                merged.append(suite)
        for error in errors:
            suite = ET.SubElement(
                merged, "testsuite", name="policy.plan", tests="1", failures="0", errors="1"
            )
            case = ET.SubElement(suite, "testcase", classname="policy.plan", name=error.split(":", 1)[0])
            ET.SubElement(case, "error", message=error)
        ET.indent(merged)
        return ET.tostring(merged, encoding="unicode", xml_declaration=True) + "\n"
    raise ValueError(f"unknown format {fmt}")
