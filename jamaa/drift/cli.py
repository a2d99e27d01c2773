"""`jamaa drift --env ENV`: what differs from the code, on the hosts and in the cloud, per control id.

    jamaa drift --env prod                       hosts: site.yml --check --diff, per host and control
    jamaa drift --env prod --limit srv-01        one host (an Ansible pattern)
    jamaa drift --env prod --cloud --no-hosts    cloud: each of the env's stacks, previewed with refresh
    jamaa drift --env prod --preview FILE...     cloud, from recorded `pulumi preview --json` output

Exit 0: nothing drifted; 1: drift, or a host unreachable or a check in error (never a pass);
2: bad input (unknown environment, malformed preview JSON: one line naming file, field and reason).
Results go to out/drift/ENV/{hosts,cloud}.json, which the evidence report's drift section reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jamaa.clikit import fails_cleanly
from jamaa.drift.model import DriftRun, results_path
from jamaa.paths import REPO
from jamaa.results import Status

console = Console()


def show(run: DriftRun) -> None:
    for target in run.targets:
        colour = {Status.PASS: "green", Status.FAIL: "red"}.get(target.status, "yellow")
        line = f"[{colour}]{target.status}[/] {run.kind} {target.target}"
        if target.controls():
            line += " drifted: " + ", ".join(target.controls())
        if target.message:
            line += f" ({target.message})"
        console.print(line, highlight=False)
        for finding in target.findings:
            console.print(f"  {finding.control} — {finding.source}", markup=False, highlight=False)
            for detail_line in finding.detail.splitlines()[:20]:
                console.print(f"      {detail_line}", markup=False, highlight=False)


def drift(
    env: Annotated[str, typer.Option("--env", help="environment name (a directory of environments/)")],
    environments: Annotated[Path, typer.Option(help="environments directory")] = Path("environments"),
    hosts: Annotated[bool, typer.Option("--hosts/--no-hosts", help="check the servers")] = True,
    cloud: Annotated[bool, typer.Option("--cloud", help="preview the env's stacks with refresh")] = False,
    preview: Annotated[
        list[Path] | None,
        typer.Option("--preview", help="recorded `pulumi preview --json` file (repeatable)"),
    ] = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Ansible host pattern")] = None,
    tags: Annotated[
        str | None, typer.Option("--tags", help="only these areas or control ids (Ansible tags)")
    ] = None,
    inventory: Annotated[
        Path | None, typer.Option(help="inventory to use instead of the environment's")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output directory (default out/drift/ENV)")] = None,
) -> None:
    """Report drift from the code: hosts (check mode) and cloud (refreshed preview), per control id."""
    from jamaa.controls import load_records
    from jamaa.drift.cloud import cloud_drift_from_files, run_preview
    from jamaa.drift.hosts import host_drift
    from jamaa.report.sources import stacks_of
    from jamaa.verify.runner import find_target

    out_dir = out or results_path(REPO, env, "hosts").parent
    runs: list[DriftRun] = []
    previews = list(preview or [])
    if cloud and not previews:
        target_dir = environments / env
        if not target_dir.is_dir():
            from jamaa.errors import ConfigError

            raise ConfigError([f"{target_dir}: --env: no such environment directory"])
        previews = [run_preview(stack, out_dir) for stack in stacks_of(env)]
    if previews:
        runs.append(cloud_drift_from_files(env, previews))  # malformed input stops here, before hosts
    if hosts and not preview:
        target = find_target(environments, env, inventory)
        known = load_records(REPO / "policies" / "controls").controls
        # a cloud inventory (--inventory) still takes the environment's group_vars, as the converge does
        sources = [target.inventory] + ([target.env_dir] if target.inventory != target.env_dir else [])
        runs.append(host_drift(env, sources, limit, known, tags))
    for run in runs:
        run.write(out_dir / f"{run.kind}.json")
        show(run)
    if not runs:
        console.print("nothing to check (--no-hosts without --cloud or --preview)")
        raise typer.Exit(2)
    raise typer.Exit(max(run.exit_code() for run in runs))


def register(app: typer.Typer) -> None:
    app.command("drift")(fails_cleanly(drift))
