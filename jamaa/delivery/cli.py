"""`jamaa pipelines render [--check]`: the CI templates users adopt, generated from environments/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jamaa.clikit import fails_cleanly
from jamaa.delivery.pipelines import build_spec, drift, render_all, write
from jamaa.errors import JamaaError

console = Console()
pipelines_app = typer.Typer(
    help="Pipeline templates (GitHub Actions, GitLab CI) for the stacks of environments/.",
    no_args_is_help=True,
)


class TemplateDrift(JamaaError):
    exit_code = 1


@pipelines_app.command("render")
@fails_cleanly
def render(
    repo: Annotated[
        Path, typer.Option(help="repository root (Pulumi.yaml, pyproject.toml, Makefile)")
    ] = Path("."),
    environments: Annotated[
        Path | None, typer.Option(help="environments directory (default REPO/environments)")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="write nothing; exit 1 if a template differs")
    ] = False,
) -> None:
    """Write ci-templates/github/jamaa.yml and ci-templates/gitlab/.gitlab-ci.yml for every stack."""
    spec = build_spec(repo, environments)
    rendered = render_all(spec)
    if check:
        problems = drift(repo, rendered)
        if problems:
            raise TemplateDrift("\n".join(problems))
        console.print(
            f"templates up to date ({len(spec.stacks)} stacks, {len(spec.region_stacks)} deployable)"
        )
        return
    written = write(repo, rendered)
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print("templates already up to date")


def register(app: typer.Typer) -> None:
    app.add_typer(pipelines_app, name="pipelines")
