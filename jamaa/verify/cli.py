"""`jamaa verify --env ENV`: run the baseline against an environment and summarise per host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jamaa.clikit import fails_cleanly
from jamaa.verify.results import HOST_STATUSES, RunResults
from jamaa.verify.runner import run_verify

console = Console()


def summary_table(results: RunResults) -> Table:
    table = Table(title=f"Baseline — {results.environment or 'inventory'} ({results.wall_s:.1f} s wall)")
    table.add_column("host")
    for status in HOST_STATUSES:
        table.add_column(status.value, justify="right")
    table.add_column("busy s", justify="right")
    timings = {t.host: t for t in results.timings()}
    for host, counts in results.counts_by("host").items():
        busy = timings[host].busy_s if host in timings else 0.0
        table.add_row(host or "(none)", *(str(counts[s.value]) for s in HOST_STATUSES), f"{busy:.1f}")
    return table


def verify(
    env: Annotated[str, typer.Option("--env", help="environment name (a directory of environments/)")],
    environments: Annotated[Path, typer.Option(help="environments directory")] = Path("environments"),
    out: Annotated[Path | None, typer.Option(help="output directory (default out/verify/ENV)")] = None,
    inventory: Annotated[
        Path | None, typer.Option(help="inventory to use instead of the environment's")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="pytest-xdist workers (default: one per host)")
    ] = None,
    backend: Annotated[
        str, typer.Option(help="paramiko (fast) or inventory (as Ansible connects)")
    ] = "paramiko",
    select: Annotated[str | None, typer.Option("-k", help="pytest -k expression")] = None,
) -> None:
    """Verify ENV's servers against the host controls (and the attacker's view in the lab)."""
    from jamaa.errors import ConfigError

    if backend not in ("paramiko", "inventory"):
        raise ConfigError([f"--backend: {backend!r}: expected paramiko or inventory"])
    results = run_verify(environments, env, out, inventory, workers, backend, select)
    console.print(summary_table(results))
    for failure in results.failures():
        console.print(f"[red]{failure.status.value}[/] {failure.host} {failure.control}: {failure.message}")
    for problem in results.collection_errors:
        console.print(f"[red]collection error[/] {problem}")
    console.print(f"results: {(out or Path('out/verify') / env) / 'results.json'}")
    if not results.ok():
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(fails_cleanly(verify))
