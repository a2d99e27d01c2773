"""Plan programs in a separate worker process, so the program never shares a process with the rules.

`jamaa policy check` and `jamaa plan` never run the program they check in their own process: a
program could otherwise import, patch or replace the policies (or the engine that calls them)
before they run. They start one worker (`python -m jamaa.plan.worker`), which runs the program for
each requested stack under Pulumi's mocks (`jamaa.plan.runner`, in the worker) and sends each plan
back as one JSON line on a private pipe; the parent rebuilds the plan and evaluates the pack on it.
The worker never imports the policy pack. One worker plans every stack (`--all`): starting Python
and importing pulumi-aws is paid once for the whole estate.

The program's own output (print, logging) goes to the worker's stderr, never into the result pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jamaa.errors import ConfigError, JamaaError
from jamaa.plan.model import Plan


@dataclass(frozen=True)
class Outcome:
    """One stack's plan, or the one-line error (or `FILE: FIELD: reason` problems) that stopped it."""

    stack: str
    plan: Plan | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()

    def unwrap(self) -> Plan:
        """The plan, or the error raised as the runner would have raised it (exit 2)."""
        if self.plan is not None:
            return self.plan
        if self.problems:
            raise ConfigError(list(self.problems))
        from jamaa.plan.runner import PlanError

        raise PlanError(self.error or f"plan {self.stack}: no result")


def plan_stacks(
    program_dir: Path,
    stacks: Sequence[str],
    config: Mapping[str, str] | None = None,
    *,
    stderr: Any = None,
) -> Iterator[Outcome]:
    """Plan `stacks` of the program in one worker process; yields each stack's outcome in order."""
    request = {
        "program": str(Path(program_dir).resolve()),
        "stacks": list(stacks),
        "config": dict(config or {}),
    }
    target = stderr if stderr is not None else sys.stderr
    try:
        target.fileno()
        spool = None
    except (AttributeError, OSError, ValueError):  # a captured stream (tests): spool, then copy
        spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed once the worker is done)
    read_fd, write_fd = os.pipe()
    env = dict(os.environ)
    env["JAMAA_PLAN_RESULT_FD"] = str(write_fd)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "jamaa.plan.worker"],
            stdin=subprocess.PIPE,
            stdout=spool or target,
            stderr=spool or target,
            pass_fds=(write_fd,),
            env=env,
        )
    finally:
        os.close(write_fd)
    assert process.stdin is not None
    process.stdin.write(json.dumps(request).encode("utf-8"))
    process.stdin.close()
    done: set[str] = set()
    with os.fdopen(read_fd, "r", encoding="utf-8") as results:
        for line in results:
            data = json.loads(line)
            stack = str(data["stack"])
            done.add(stack)
            if "plan" in data:
                yield Outcome(stack, plan=Plan.from_json(data["plan"]))
            else:
                yield Outcome(stack, error=data.get("error"), problems=tuple(data.get("problems") or ()))
    code = process.wait()
    if spool is not None:
        spool.seek(0)
        text = spool.read().decode("utf-8", "replace")
        spool.close()
        if text:
            target.write(text)
    for stack in stacks:
        if stack not in done:
            yield Outcome(
                stack,
                error=f"plan {stack}: the program ended the plan worker (exit code {code}) "
                "before this stack was planned",
            )
            done.add(stack)


def _result(stack: str, program: Path, config: dict[str, str]) -> dict[str, Any]:
    from jamaa.plan.runner import run_program

    try:
        plan = run_program(program, stack, config or None)
    except ConfigError as error:
        return {"stack": stack, "error": str(error), "problems": list(error.problems)}
    except JamaaError as error:
        return {"stack": stack, "error": str(error)}
    except BaseException as error:  # SystemExit from the program, anything else: one line, never a traceback
        text = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {"stack": stack, "error": f"plan {stack}: {type(error).__name__}: {text}".rstrip(": ")}
    return {"stack": stack, "plan": plan.to_json()}


def main() -> int:
    result_fd = int(os.environ.pop("JAMAA_PLAN_RESULT_FD"))
    results = os.fdopen(result_fd, "w", encoding="utf-8")
    request = json.loads(sys.stdin.read())
    os.dup2(2, 1)  # whatever the program prints goes to stderr, never into the results
    sys.stdout = sys.stderr
    program = Path(request["program"])
    config = {str(k): str(v) for k, v in (request.get("config") or {}).items()}
    for stack in request["stacks"]:
        results.write(json.dumps(_result(str(stack), program, config), ensure_ascii=False) + "\n")
        results.flush()
    results.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
