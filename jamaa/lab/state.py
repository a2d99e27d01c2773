"""What a running lab is made of, recorded as it is created so `down` can undo it even after a crash.

`$JAMAA_CACHE/lab/state.json` lists every process the lab started (PID + start time, so a reused PID
is never killed), every mount, every network namespace, and each host's ports. It is rewritten after
each step of `up`; `down` undoes what it lists, then sweeps what only the lab could have made (mounts
under the lab directory, `jamaa-*` namespaces, processes rooted in or naming the lab directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

from jamaa.lab.system import is_alive, start_time


class ProcessRecord(BaseModel):
    name: str  # e.g. "nspawn:srv-01", "slirp4netns:srv-01", "qemu:vm-01", "moto", "s3-relay"
    pid: int
    started: int | None

    def alive(self) -> bool:
        return is_alive(self.pid, self.started)


class HostRecord(BaseModel):
    name: str
    kind: str  # container | vm
    role: str
    lan_ip: str
    netns: str | None  # containers only
    ssh_port: int | None  # loopback forward; None for the attacker (reached through its netns)
    root: str | None = None  # container: the overlay's merged directory
    communes: list[str] = []
    groups: list[str] = []
    suite: str = ""  # Debian suite (trixie, bookworm); empty in a state written before hosts had one
    boots: int = 0


class LabState(BaseModel):
    profile: str
    suite: str
    environments: str
    generated: str
    lan_cidr: str
    service_ip: str
    s3_port: int
    s3_controller_port: int | None = None
    hosts: dict[str, HostRecord] = {}
    processes: list[ProcessRecord] = []
    netns: list[str] = []
    mounts: list[str] = []
    ready: bool = False  # set once every host reported `running`

    def add_process(self, name: str, pid: int) -> ProcessRecord:
        record = ProcessRecord(name=name, pid=pid, started=start_time(pid))
        self.processes.append(record)
        return record

    def process(self, name: str) -> ProcessRecord | None:
        for record in reversed(self.processes):
            if record.name == name:
                return record
        return None

    def dead_processes(self) -> list[str]:
        latest: dict[str, ProcessRecord] = {}
        for record in self.processes:
            latest[record.name] = record
        return [name for name, record in latest.items() if not record.alive()]


def state_path(lab_dir: Path) -> Path:
    return lab_dir / "state.json"


def load_state(lab_dir: Path) -> LabState | None:
    path = state_path(lab_dir)
    try:
        return LabState.model_validate_json(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        # unreadable (crash mid-write): `down` still sweeps by naming convention
        return None


def save_state(lab_dir: Path, state: LabState) -> None:
    lab_dir.mkdir(parents=True, exist_ok=True)
    path = state_path(lab_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.model_dump(mode="json"), indent=2) + "\n")
    os.replace(tmp, path)
