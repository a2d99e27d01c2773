"""Errors a DevOps engineer can act on; the CLI turns them into one line and an exit code."""

from __future__ import annotations


class JamaaError(Exception):
    """Base class: `str(error)` is the one-line message shown to the user."""

    exit_code = 2


class ConfigError(JamaaError):
    """Invalid input data. Carries every problem found, each as `FILE: FIELD.PATH: reason`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = sorted(dict.fromkeys(problems))
        super().__init__("\n".join(self.problems))
