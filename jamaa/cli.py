"""The `jamaa` command line. Command modules live next to the code they drive; they are wired here.

Each module exposes a Typer app (or a `register(app)`), wrapping its commands with
`jamaa.clikit.fails_cleanly` so a JamaaError becomes one line per problem and its exit code.

The commands over the environments alone (validate, communes, ipplan) run without importing the
others (boto3, Pulumi): `jamaa validate` answers in about a second (bench/validate_bench.py).
`from jamaa.cli import app` gives the whole command line.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer

from jamaa import environments_cli


def _version() -> str:
    try:
        return version("jamaa")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: make setup)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"jamaa {_version()}")
        raise typer.Exit()


def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print jamaa's version and exit."
        ),
    ] = False,
) -> None:
    """Jamaa: hardened cloud tenancies and commune servers for Morocco's communes."""


# Commands that need only the environments model.
ENVIRONMENT_COMMANDS = ("validate", "communes", "ipplan")


def build_app(only_environments: bool = False) -> typer.Typer:
    """The command line; with `only_environments`, just the commands of ENVIRONMENT_COMMANDS."""
    app = typer.Typer(
        name="jamaa",
        help="Jamaa: hardened cloud tenancies and commune servers for Morocco's communes.",
        no_args_is_help=True,
        # `jamaa --install-completion` / `--show-completion` (bash, zsh, fish, PowerShell)
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    environments_cli.register(app)
    if only_environments:
        return app

    from jamaa import controls_cli
    from jamaa.audit import cli as audit_cli
    from jamaa.delivery import cli as pipelines_cli
    from jamaa.drift import cli as drift_cli
    from jamaa.drill import cli as drill_cli
    from jamaa.inventory import cli as inventory_cli
    from jamaa.lab.cli import lab_app
    from jamaa.plan import cli as plan_cli
    from jamaa.policy.cli import policy_app
    from jamaa.report import cli as report_cli
    from jamaa.state import state_app
    from jamaa.verify import cli as verify_cli

    controls_cli.register(app)
    pipelines_cli.register(app)
    audit_cli.register(app)
    drill_cli.register(app)
    drift_cli.register(app)
    inventory_cli.register(app)
    verify_cli.register(app)
    report_cli.register(app)
    app.add_typer(lab_app)
    app.add_typer(policy_app, name="policy")
    plan_cli.register(app)
    app.add_typer(state_app)
    return app


_full: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    """`jamaa.cli.app`: the whole command line, built on first use."""
    global _full
    if name == "app":
        if _full is None:
            _full = build_app()
        return _full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    build_app(only_environments=command in ENVIRONMENT_COMMANDS)(prog_name="jamaa")


if __name__ == "__main__":
    main()
