"""What every command module shares: clean failure (one line per problem, the error's exit code), and
one output convention for commands that produce data (`--format table|json`, `-o FILE`, tables that
do not wrap in CI logs)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

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


class OutputFormat(StrEnum):
    """How a command that produces data prints it."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", case_sensitive=False, help="table (for people) or json (for scripts)."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", dir_okay=False, help="Write to FILE instead of standard output."),
]

WIDE = 200
"""Width of a console that is not a terminal (CI logs, files): Rich's default of 80 columns would wrap
tables; tables size to their content, so a wide console adds no padding."""


def data_console(file: IO[str] | None = None) -> Console:
    """A console whose tables do not wrap: the terminal's width on a terminal, else `WIDE` columns."""
    if file is None and sys.stdout.isatty():
        return Console()
    return Console(file=file, width=WIDE, no_color=file is not None, soft_wrap=False)


def emit(fmt: OutputFormat, output: Path | None, data: Any, *renderables: Any) -> None:
    """Print a command's result: `renderables` (tables, lines) as a table, or `data` as JSON; to
    standard output or to `output`."""
    if fmt is OutputFormat.json:
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
        return
    if output is None:
        console = data_console()
        for renderable in renderables:
            console.print(renderable)
        return
    with output.open("w", encoding="utf-8") as stream:
        console = data_console(stream)
        for renderable in renderables:
            console.print(renderable)


@contextmanager
def progress(what: str, total: int, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Progress of an operation of `total` steps that takes more than a few seconds (the report's policy
    runs, plans of many stacks), on standard error so it never mixes with a command's data: a live bar on
    a terminal; in a CI log (not a terminal) one line per finished step, with the time so far. Yields
    `done(label)`, called after each step."""
    console = console or err_console
    started = time.monotonic()
    if console.is_terminal:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(what, total=total)

            def advance(label: str) -> None:
                bar.update(task, advance=1, description=f"{what} ({label} done)")

            yield advance
        return
    count = 0

    def step(label: str) -> None:
        nonlocal count
        count += 1
        elapsed = time.monotonic() - started
        console.print(f"{what}: {count}/{total} {label} ({elapsed:.0f} s)", markup=False, highlight=False)

    yield step
