"""What every command module shares: clean failure (one line per problem, the error's exit code)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console

from jamaa.errors import JamaaError

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
                err_console.print(line, markup=False, highlight=False, soft_wrap=True, width=10_000)
            raise typer.Exit(error.exit_code) from None

    return wrapper  # type: ignore[return-value]
