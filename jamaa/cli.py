"""The `jamaa` command line. Command modules live next to the code they drive; they are wired here.

Each module exposes a Typer app (or a `register(app)`), wrapping its commands with
`jamaa.clikit.fails_cleanly` so a JamaaError becomes one line per problem and its exit code.
"""

from __future__ import annotations

import typer

from jamaa import environments_cli
from jamaa.audit import cli as audit_cli
from jamaa.delivery import cli as pipelines_cli
from jamaa.drill import cli as drill_cli
from jamaa.inventory import cli as inventory_cli
from jamaa.lab.cli import lab_app
from jamaa.plan import cli as plan_cli
from jamaa.policy.cli import policy_app
from jamaa.report import cli as report_cli
from jamaa.state import state_app
from jamaa.verify import cli as verify_cli

app = typer.Typer(
    name="jamaa",
    help="Jamaa: hardened cloud tenancies and commune servers for Morocco's communes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

environments_cli.register(app)
pipelines_cli.register(app)
audit_cli.register(app)
drill_cli.register(app)
inventory_cli.register(app)
verify_cli.register(app)
report_cli.register(app)
app.add_typer(lab_app)
app.add_typer(policy_app, name="policy")
plan_cli.register(app)
app.add_typer(state_app)


def main() -> None:
    app(prog_name="jamaa")


if __name__ == "__main__":
    main()
