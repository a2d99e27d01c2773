"""The attacker and its targets (shared by the network plugin and the attacker's view tests)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Target:
    name: str
    ip: str
    groups: list[str]
    hostvars: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    where: str


class Attacker:
    """Runs probe commands from the attacker's place on the LAN."""

    def __init__(self, name: str, host: Any, netns: str | None, ip: str) -> None:
        self.name = name
        self.ip = ip
        self.lab_json: Path | None = None
        self.host = host
        self.netns = netns
        self._has: dict[str, bool] = {}

    def has(self, tool: str) -> bool:
        if tool not in self._has:
            self._has[tool] = self.host.run(f"command -v {shlex.quote(tool)}").rc == 0
        return self._has[tool]

    def run(self, command: str, tool: str, timeout: int = 180) -> Result:
        if self.has(tool):
            out = self.host.run(f"timeout {timeout} {command}")
            return Result(out.rc, out.stdout, out.stderr, f"on {self.name}")
        if self.netns and shutil.which(tool) and Path(f"/run/netns/{self.netns}").exists():
            proc = subprocess.run(
                ["ip", "netns", "exec", self.netns, "timeout", str(timeout), "sh", "-c", command],
                capture_output=True,
                text=True,
                check=False,
            )
            return Result(proc.returncode, proc.stdout, proc.stderr, f"in {self.netns} (controller's {tool})")
        raise AssertionError(f"{tool}: not on {self.name} and no way into its network namespace")


class Management:
    """The management network's place on the LAN (the controller's bridge address, in its namespace):
    where SSH is allowed from. Used when the attacker cannot reach SSH at all, to show what sshd
    itself accepts."""

    def __init__(self, netns: str, ip: str) -> None:
        self.name = f"management ({ip})"
        self.netns = netns
        self.ip = ip

    def run(self, command: str, tool: str, timeout: int = 180) -> Result:
        assert shutil.which(tool), f"{tool}: not installed on the controller"
        proc = subprocess.run(
            ["ip", "netns", "exec", self.netns, "timeout", str(timeout), "sh", "-c", command],
            capture_output=True,
            text=True,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr, f"from the management network ({self.ip})")
