"""`jamaa drill --env ENV`: run playbooks/restore_drill.yml on the environment's servers, gather results."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from jamaa.drill.lab import DrillError
from jamaa.drill.results import DrillResults, collect, results_path
from jamaa.errors import ConfigError
from jamaa.paths import REPO


def default_inventory(environments: Path, env: str) -> Path:
    if env == "lab":
        generated = environments / "lab" / "generated" / "inventory.ini"
        if not generated.exists():
            raise ConfigError([f"{generated}: --env lab: no lab inventory; run `jamaa lab up` first"])
    directory = environments / env
    if not directory.is_dir():
        raise ConfigError([f"{directory}: --env: no such environment directory"])
    return directory


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else "ansible-playbook"


def run_drill(
    env: str,
    environments: Path = Path("environments"),
    inventory: Path | None = None,
    limit: str | None = None,
    extra: list[str] | None = None,
    repo: Path = REPO,
) -> tuple[DrillResults, Path, str]:
    inventory = inventory or default_inventory(environments, env)
    out = results_path(repo, env)
    host_dir = out.parent / "hosts"
    shutil.rmtree(host_dir, ignore_errors=True)
    host_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        ansible_playbook(),
        "-i",
        str(inventory),
        str(repo / "playbooks" / "restore_drill.yml"),
        "-e",
        f"jamaa_environment={env}",
        "-e",
        f"drill_out={host_dir}",
        *(["--limit", limit] if limit else []),
        *(extra or []),
    ]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True, check=False)
    results = collect(env, host_dir, time.monotonic() - started)
    out.write_text(results.model_dump_json(indent=2) + "\n")
    if not results.hosts:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise DrillError(
            f"restore drill: no host result (ansible-playbook exited {proc.returncode}): " + " | ".join(tail)
        )
    return results, out, proc.stdout
