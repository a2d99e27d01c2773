"""`jamaa plan STACK [--json FILE]` and `jamaa plan --program DIR`: an offline preview, no credentials."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jamaa.clikit import fails_cleanly, progress
from jamaa.plan import render
from jamaa.plan.runner import PlanError, known_stacks, locate_program, stack_file
from jamaa.plan.worker import plan_stacks

console = Console()

DEFAULT_STACK = "dev"


def plan(
    stack: Annotated[
        str | None, typer.Argument(help="the stack, e.g. ma-07-prod (see Pulumi.<stack>.yaml)")
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="write every resource (type, name, parent, inputs) here")
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option(
            "--program", help="plan another Pulumi Python program (a dir with Pulumi.yaml or __main__.py)"
        ),
    ] = None,
    project_dir: Annotated[Path, typer.Option("--project", help="where Jamaa's Pulumi.yaml lives")] = Path(
        "."
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="totals only, no tree")] = False,
    all_stacks: Annotated[
        bool, typer.Option("--all", help="every stack (Pulumi.<stack>.yaml), planned in one worker process")
    ] = False,
) -> None:
    """Run the Pulumi program under Pulumi's mocks (a preview: no CLI, no cloud) and show what it creates.

    The program runs in a worker process (`jamaa.plan.worker`); `--all` plans every stack in one.
    """
    target = program if program is not None else project_dir
    located = locate_program(target)
    if all_stacks:
        if stack is not None:
            raise PlanError("plan: name a stack or use --all, not both")
        _plan_all(target, json_file)
        return
    if stack is None:
        if program is None:
            raise PlanError(
                "plan: name a stack (e.g. `jamaa plan ma-07-prod`) or a program (`--program DIR`)"
            )
        stack = DEFAULT_STACK
    path = stack_file(located, stack)
    if program is None and (path is None or not path.is_file()):
        stacks = ", ".join(known_stacks(target)) or "none"
        raise PlanError(f"{path or target}: no such stack {stack!r} (known: {stacks})")
    started = time.perf_counter()
    [outcome] = list(plan_stacks(target, [stack]))
    result = outcome.unwrap()
    elapsed = time.perf_counter() - started
    if not quiet:
        console.print(render.tree(result))
    console.print(render.totals(result))
    for warning in result.warnings:
        console.print(f"[yellow]{warning}[/]", highlight=False)
    console.print(
        f"{len(result.resources)} resources planned for {result.stack} in {elapsed:.2f} s (offline)"
    )
    if json_file is not None:
        try:
            json_file.write_text(
                json.dumps(result.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            )
        except OSError as error:
            raise PlanError(f"{json_file}: cannot write: {error.strerror}") from None
        console.print(f"wrote {json_file}")


def _plan_all(target: Path, json_file: Path | None) -> None:
    stacks = known_stacks(target)
    if not stacks:
        raise PlanError(f"{target}: --all: no Pulumi.<stack>.yaml next to the program's Pulumi.yaml")
    started = time.perf_counter()
    plans, errors = [], []
    with progress("plan", len(stacks)) as done:
        for outcome in plan_stacks(target, stacks):
            done(outcome.stack)
            if outcome.plan is None:
                errors.append(outcome.error or "; ".join(outcome.problems))
                console.print(f"[red]{errors[-1]}[/]", highlight=False)
                continue
            plans.append(outcome.plan)
            console.print(f"{outcome.stack}: {len(outcome.plan.resources)} resources", highlight=False)
    elapsed = time.perf_counter() - started
    total = sum(len(p.resources) for p in plans)
    console.print(
        f"{total} resources planned for {len(plans)} stack(s) in {elapsed:.2f} s (one worker, offline)"
    )
    if json_file is not None:
        document = {"stacks": [p.to_json() for p in plans], "errors": errors}
        try:
            json_file.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        except OSError as error:
            raise PlanError(f"{json_file}: cannot write: {error.strerror}") from None
        console.print(f"wrote {json_file}")
    if errors:
        raise PlanError(f"plan --all: {len(errors)} stack(s) could not be planned")


def register(app: typer.Typer) -> None:
    app.command("plan")(fails_cleanly(plan))
