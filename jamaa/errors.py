"""Errors a DevOps engineer can act on; the CLI turns them into one line and an exit code."""

from __future__ import annotations

import re

# A problem is one short line: never a multi-line dump, never the whole of a huge value.
MAX_PROBLEM_CHARS = 400
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """`text` as one line of at most `limit` characters (control characters escaped)."""
    flat = _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class JamaaError(Exception):
    """Base class: `str(error)` is the one-line message shown to the user."""

    exit_code = 2


class ConfigError(JamaaError):
    """Invalid input data. Carries every problem found, each as `FILE: FIELD.PATH: reason`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = sorted(dict.fromkeys(one_line(problem) for problem in problems))
        super().__init__("\n".join(self.problems))
