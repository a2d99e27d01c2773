"""`jamaa lab run` (`make lab`): the whole chain on the lab, every stage run for real.

A stage is a name, what it runs, and which earlier stages it needs to have passed; a stage whose
needed stage did not pass says so and does not run (cannot-evaluate: outcomes speak jamaa.results).
The stages are the explicit list `STAGES`.

Each command stage's output goes to `out/lab/NN-STAGE.log`; the summary names it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jamaa.results import Status

Note = Callable[[str], None]


@dataclass(frozen=True)
class Context:
    repo: Path  # the repository root (commands run there)
    environments: Path
    profile: str
    out: Path  # where stage logs go
    note: Note


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""
    log: Path | None = None


@dataclass
class Stage:
    name: str
    description: str
    # a command, run in the repository root; "{python}" is this Python, "{bin}" its bin directory
    argv: Sequence[str] = ()
    action: Callable[[Context], Outcome] | None = None  # or a function, run in-process
    needs: tuple[str, ...] = ()  # stages that must have passed for this one to run

    def run(self, ctx: Context, index: int) -> Outcome:
        if self.action is not None:
            return self.action(ctx)
        log = ctx.out / f"{index:02d}-{self.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        bin_dir = str(Path(sys.executable).parent)
        argv = [sys.executable if a == "{python}" else a.replace("{bin}", bin_dir) for a in self.argv]
        with log.open("w") as out:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            code = subprocess.call(argv, cwd=ctx.repo, stdout=out, stderr=subprocess.STDOUT)
        if code == 0:
            return Outcome(Status.PASS, log=log)
        return Outcome(Status.FAIL, f"exit {code}: {_last_line(log)}", log)


@dataclass(frozen=True)
class StageResult:
    stage: Stage
    outcome: Outcome
    seconds: float


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(no output)"


def _lab_up(ctx: Context) -> Outcome:
    from jamaa.errors import JamaaError
    from jamaa.lab.lab import Lab

    try:
        result = Lab(ctx.environments, note=ctx.note).up(ctx.profile)
    except JamaaError as error:
        return Outcome(Status.FAIL, str(error).splitlines()[0])
    hosts = ", ".join(result.state.hosts)
    how = "already up" if result.already_up else f"up in {result.seconds:.1f} s"
    return Outcome(Status.PASS, f"{how}: {hosts}")


def _drill_stages() -> Any:
    """jamaa.drill.stages, imported when its stage runs (the chain does not depend on it otherwise)."""
    return importlib.import_module("jamaa.drill.stages")


LAB_INVENTORY = "environments/lab/generated/inventory.ini"

STAGES: list[Stage] = [
    Stage(
        "validate",
        "validate the environments (config, catalogue, waivers)",
        argv=("{python}", "-m", "jamaa.cli", "validate", "environments"),
    ),
    Stage(
        "plan",
        "offline plan of the `lab` stack (Pulumi program under mocks)",
        argv=("{python}", "-m", "jamaa.cli", "plan", "lab", "--quiet"),
        needs=("validate",),
    ),
    Stage(
        "policy",
        "policy check of the `lab` stack's plan (CrossGuard pack, offline)",
        argv=("{python}", "-m", "jamaa.cli", "policy", "check", "lab"),
        needs=("validate",),
    ),
    Stage("lab-up", "bring the lab's hosts up", action=_lab_up, needs=("validate",)),
    Stage(
        "converge",
        "playbooks/site.yml against the lab inventory",
        argv=("{bin}/ansible-playbook", "-i", LAB_INVENTORY, "playbooks/site.yml"),
        needs=("lab-up",),
    ),
    Stage(
        "backup",
        "backups: the lab's Object Lock bucket, vault secrets, roles/backup and a first backup",
        action=lambda ctx: _drill_stages().backup_stage(ctx),
        needs=("converge",),
    ),
    Stage(
        "baseline",
        "baseline suite (testinfra) against the lab's servers",
        argv=("{python}", "-m", "jamaa.cli", "verify", "--env", "lab"),  # environments/lab, with group_vars
        needs=("lab-up",),
    ),
    Stage(
        "drill",
        "restore drill: newest snapshots and databases restored to scratch, verified (RPO, RTO)",
        action=lambda ctx: _drill_stages().drill_stage(ctx),
        needs=("backup",),
    ),
    Stage(
        "report",
        "evidence report of the lab (HTML + JSON)",
        argv=("{python}", "-m", "jamaa.cli", "report", "--env", "lab", "--out", "out/report/lab"),
        needs=("validate",),
    ),
]


def run_chain(ctx: Context, stages: Sequence[Stage] | None = None) -> list[StageResult]:
    results: list[StageResult] = []
    status: dict[str, Status] = {}
    for index, stage in enumerate(stages if stages is not None else STAGES, start=1):
        started = time.monotonic()
        blocked = [n for n in stage.needs if status.get(n) is not Status.PASS]
        if blocked:
            outcome = Outcome(Status.CANNOT_EVALUATE, f"needs {', '.join(blocked)}, which did not pass")
        else:
            ctx.note(f"stage {stage.name}: {stage.description}")
            try:
                outcome = stage.run(ctx, index)
            except Exception as error:  # a stage's crash is that stage's failure, not the chain's
                outcome = Outcome(Status.ERROR, f"{type(error).__name__}: {error}")
        status[stage.name] = outcome.status
        results.append(StageResult(stage, outcome, time.monotonic() - started))
    return results


def chain_passed(results: Sequence[StageResult]) -> bool:
    return all(r.outcome.status is Status.PASS for r in results)
