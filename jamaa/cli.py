"""The `jamaa` command line. Sub-apps live next to the code they drive and are registered here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console

from jamaa.errors import JamaaError

app = typer.Typer(
    name="jamaa",
    help="Jamaa: hardened cloud tenancies and commune servers for Morocco's communes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fails_cleanly(func: F) -> F:
    """Turn a JamaaError into its message on stderr (one line per problem) and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except JamaaError as error:
            for line in str(error).splitlines():
                err_console.print(line, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:
    app(prog_name="jamaa")


if __name__ == "__main__":
    sys.exit(main())
