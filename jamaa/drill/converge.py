"""Apply roles/backup to the lab (bucket + vault secrets first), as `jamaa lab run` and tests/backup do."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jamaa.drill.lab import LabBackup, prepare
from jamaa.drill.runner import ansible_playbook
from jamaa.paths import REPO
from jamaa.recap import play_recap


@dataclass(frozen=True)
class Converged:
    lab: LabBackup
    returncode: int
    seconds: float
    output: str

    @property
    def changed(self) -> dict[str, int]:
        """Per host, the `changed=` count of the play recap."""
        return {host: counts["changed"] for host, counts in play_recap(self.output).items()}


def converge_backups(
    environments: Path = Path("environments"), extra: list[str] | None = None, log: Path | None = None
) -> Converged:
    """playbooks/backup.yml on the lab (its bucket and vault secrets prepared first)."""
    return _lab_playbook("backup.yml", environments, extra, log)


def seed_sample_data(environments: Path = Path("environments"), log: Path | None = None) -> Converged:
    """playbooks/lab_sample_data.yml: sample commune documents and register tables, written once, so
    the first backup and the drill of `make lab` verify real content."""
    return _lab_playbook("lab_sample_data.yml", environments, None, log)


def _lab_playbook(playbook: str, environments: Path, extra: list[str] | None, log: Path | None) -> Converged:
    lab = prepare(environments)
    argv = [
        ansible_playbook(),
        "-i",
        str(lab.inventory),
        str(REPO / "playbooks" / playbook),
        *lab.ansible_args(),
        *(extra or []),
    ]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(argv)}\n{output}")
    return Converged(lab, proc.returncode, time.monotonic() - started, output)
