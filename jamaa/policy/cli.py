"""`jamaa policy check`, `jamaa policy list` and `jamaa policy settings`."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jamaa.clikit import fails_cleanly, progress
from jamaa.errors import ConfigError
from jamaa.paths import ENVIRONMENTS as ENVIRONMENTS_DIR
from jamaa.paths import REPO as REPO_ROOT
from jamaa.policy.engine import evaluate, load_pack_config
from jamaa.policy.formats import FORMATS, render, render_many
from jamaa.policy.pack import load_pack
from jamaa.policy.waivers import CloudWaivers

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
    all_stacks: Annotated[
        bool, typer.Option("--all", help="Every stack of the program (Pulumi.<stack>.yaml), in one worker.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="A mandatory policy that cannot be evaluated offline fails (pipelines without credentials).",
        ),
    ] = False,
) -> None:
    """Plan the program offline (in a worker process), check every policy; exit 1 on a mandatory violation."""
    from jamaa.plan import known_stacks
    from jamaa.plan.worker import plan_stacks

    _check_format(fmt)
    program_dir = REPO_ROOT if program is None else program
    if program is not None and not program_dir.is_dir():
        raise ConfigError([f"--program: {program_dir}: not a directory"])
    if all_stacks:
        if stack is not None:
            raise ConfigError(["STACK: name a stack or use --all, not both"])
        stacks = known_stacks(program_dir)
        if not stacks:
            raise ConfigError(
                [f"--all: {program_dir}: no Pulumi.<stack>.yaml next to the program's Pulumi.yaml"]
            )
    elif program is None:
        if stack is None:
            raise ConfigError(["STACK: name the stack to check (or use --program DIR, or --all)"])
        known = known_stacks(program_dir)
        if stack not in known:
            raise ConfigError([f"STACK: unknown stack {stack!r} (known: {', '.join(known) or 'none'})"])
        stacks = [stack]
    else:
        stacks = [stack or OFFLINE_STACK]
    pack_config = load_pack_config(config) if config else {}
    pack = load_pack(environments)
    scopes = CloudWaivers(program_dir, environments)
    reports, errors = [], []
    with progress("policy check", len(stacks)) if all_stacks else nullcontext(lambda _: None) as done:
        for outcome in plan_stacks(program_dir, stacks):
            done(outcome.stack)
            if not all_stacks:
                plan = outcome.unwrap()  # one stack: its error is the command's (exit 2)
            elif outcome.plan is None:
                errors.append(outcome.error or "; ".join(outcome.problems))
                continue
            else:
                plan = outcome.plan
            reports.append(
                evaluate(
                    plan.resources,
                    pack,
                    stack=plan.stack,
                    project=plan.project,
                    config=pack_config,
                    strict=strict,
                    waivers=scopes.lookup(plan.stack),
                )
            )
    if all_stacks:
        text = render_many(reports, errors, fmt, _console(fmt, output))
        code = 2 if errors else max((r.exit_code for r in reports), default=0)
    else:
        text = render(reports[0], fmt, _console(fmt, output))
        code = reports[0].exit_code
    if text is not None and output is not None:
        output.write_text(text, encoding="utf-8")
    elif text is not None:
        sys.stdout.write(text)
    raise typer.Exit(code)


def _console(fmt: str, output: Path | None) -> Console:
    if fmt == "text" and output is not None:
        return Console(file=output.open("w", encoding="utf-8"), width=200)
    return Console()


@policy_app.command("list")
@fails_cleanly
def list_policies(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | json")] = "text",
    environments: Annotated[Path, typer.Option("--environments")] = ENVIRONMENTS_DIR,
) -> None:
    """Every policy with its family, severity, default enforcement and the controls it maps to."""
    from jamaa.controls import load_catalogue

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


@policy_app.command("settings")
@fails_cleanly
def settings_snapshot(
    environments: Annotated[Path, typer.Option("--environments")] = ENVIRONMENTS_DIR,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write the snapshot here (policies/settings.json to publish)"),
    ] = None,
) -> None:
    """The national settings the policies take their defaults from, as the JSON snapshot a pack
    published without the repository reads (`-o policies/settings.json`, then `pulumi policy publish`)."""
    pack = load_pack(environments)
    text = pack.settings.to_json()
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    Console(stderr=True).print(f"policy settings: {output} ({len(pack.settings.environments)} environments)")
