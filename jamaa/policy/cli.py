"""`jamaa policy check` and `jamaa policy list`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jamaa.clikit import fails_cleanly
from jamaa.errors import ConfigError
from jamaa.policy.engine import evaluate, load_pack_config
from jamaa.policy.formats import FORMATS, render
from jamaa.policy.pack import ENVIRONMENTS_DIR, REPO_ROOT, load_pack

policy_app = typer.Typer(
    help="The CrossGuard policy pack, offline: check a stack or any Pulumi program, list the policies.",
    no_args_is_help=True,
)
OFFLINE_STACK = "offline"


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError([f"--format: {fmt!r} is not one of {', '.join(FORMATS)}"])
    return fmt


@policy_app.command("check")
@fails_cleanly
def check(
    stack: Annotated[
        str | None, typer.Argument(help="Stack to check (ma-07-prod, lab, …); optional with --program.")
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option("--program", help="Any Pulumi Python program directory (default: this repo)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | json | sarif | junit")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Policy-pack config JSON (same as pulumi --policy-pack-config)."),
    ] = None,
    environments: Annotated[
        Path, typer.Option("--environments", help="Where the national settings come from.")
    ] = ENVIRONMENTS_DIR,
) -> None:
    """Plan the program offline and evaluate every policy; exit 1 on a mandatory violation."""
    from jamaa.plan import known_stacks, run_program

    _check_format(fmt)
    if program is None:
        program_dir = REPO_ROOT
        if stack is None:
            raise ConfigError(["STACK: name the stack to check (or use --program DIR)"])
        stacks = known_stacks(program_dir)
        if stack not in stacks:
            raise ConfigError([f"STACK: unknown stack {stack!r} (known: {', '.join(stacks) or 'none'})"])
    else:
        program_dir = program
        if not program_dir.is_dir():
            raise ConfigError([f"--program: {program_dir}: not a directory"])
    pack_config = load_pack_config(config) if config else {}
    pack = load_pack(environments)
    plan = run_program(program_dir, stack or OFFLINE_STACK)
    report = evaluate(plan.resources, pack, stack=plan.stack, project=plan.project, config=pack_config)
    if fmt == "text" and output is not None:
        with output.open("w", encoding="utf-8") as handle:
            render(report, fmt, Console(file=handle, width=200))
    else:
        text = render(report, fmt, Console())
        if text is not None and output is not None:
            output.write_text(text, encoding="utf-8")
        elif text is not None:
            sys.stdout.write(text)
    raise typer.Exit(report.exit_code)


@policy_app.command("list")
@fails_cleanly
def list_policies(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | json")] = "text",
    environments: Annotated[Path, typer.Option("--environments")] = ENVIRONMENTS_DIR,
) -> None:
    """Every policy with its family, severity, default enforcement and the controls it maps to."""
    from jamaa.catalogue import load_catalogue

    if fmt not in ("text", "json"):
        raise ConfigError([f"--format: {fmt!r} is not one of text, json"])
    pack = load_pack(environments)
    catalogue = load_catalogue()
    if fmt == "json":
        rows = [
            {
                "name": p.name,
                "family": p.family,
                "kind": p.kind,
                "severity": p.severity,
                "enforcement": p.default_enforcement,
                "controls": list(p.controls),
                "description": p.description,
                "remediation": p.remediation,
                "config": {k: v.get("default") for k, v in p.config_schema.items()},
            }
            for p in pack.policies
        ]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Jamaa policy pack — {len(pack.policies)} policies", show_lines=False, expand=True)
    for column in ("Family", "Policy", "Kind", "Severity", "Default level", "Controls"):
        table.add_column(column, overflow="fold")
    for p in pack.policies:
        controls = ", ".join(
            f"{c} ({catalogue.controls[c].title.en})" if c in catalogue else f"{c} (unknown!)"
            for c in p.controls
        )
        table.add_row(p.family, p.name, p.kind, p.severity, p.default_enforcement, controls)
    Console().print(table)
