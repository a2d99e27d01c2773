"""`jamaa drill --env ENV`: restore drills of the environment's commune servers (RPO, RTO, verification)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jamaa.clikit import fails_cleanly
from jamaa.drill.lab import DrillError
from jamaa.drill.results import duration, size
from jamaa.drill.runner import run_drill

console = Console()


def drill(
    env: Annotated[str, typer.Option("--env", help="environment name (a directory of environments/)")],
    environments: Annotated[Path, typer.Option(help="environments directory")] = Path("environments"),
    inventory: Annotated[
        Path | None, typer.Option(help="inventory (default: the lab's generated one, or environments/ENV)")
    ] = None,
    limit: Annotated[str | None, typer.Option(help="only these hosts (Ansible --limit pattern)")] = None,
) -> None:
    """Restore the newest snapshot of each server to scratch, verify it; write out/drill/ENV/results.json."""
    results, path, _ = run_drill(env, environments, inventory, limit)
    table = Table(title=f"restore drill — {env}")
    for column in ("host", "snapshot", "RPO", "RTO", "files", "databases", "restored", "result"):
        table.add_column(column)
    for h in results.hosts:
        table.add_row(
            h.host,
            h.snapshot or "—",
            duration(h.rpo_s),
            duration(h.rto_s),
            str(h.files_verified if h.files_verified is not None else "—"),
            ", ".join(f"{n} ({d.rows} rows)" for n, d in sorted(h.databases.items())) or "—",
            size(h.restored_bytes),
            "[green]identical[/]" if h.ok else "[bold red]FAILED[/] " + "; ".join(h.problems[:3]),
        )
    console.print(table)
    console.print(str(path))
    if not results.ok:
        raise DrillError(
            f"restore drill failed on {sum(not h.ok for h in results.hosts)} host(s); see {path}"
        )


def register(app: typer.Typer) -> None:
    app.command("drill")(fails_cleanly(drill))
