"""Commune-server containers for the scale benchmark when the shared lab is busy (`--standalone`).

The lab (`jamaa lab up`) is one per machine: its namespaces and bridge have fixed names, and while
other suites run on it the benchmark must not take it down. This brings up N extra containers of
the lab's own cached image, named `jscale-NNN` (nothing the lab owns or cleans), each with its own
network namespace, a user-mode NAT (slirp4netns) way out and an SSH port forward on loopback, as
LAB-NOTES.md describes; no LAN and no attacker (the attacker's view is not part of these timings).
It writes an inventory with the lab's groups and variables so `playbooks/site.yml` and
`jamaa verify` run on them unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/var/tmp/jamaa-scale")
PREFIX = "jscale-"
MARK = "JAMAA_SCALE_BENCH"


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check)


_next_port = 23100  # below the ephemeral range: no client socket takes it between check and bind


def free_port() -> int:
    global _next_port
    while True:
        port, _next_port = _next_port, _next_port + 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclass
class Container:
    name: str
    port: int
    directory: Path
    pids: list[int] = field(default_factory=list)


@dataclass
class Fleet:
    rootfs: Path
    key: Path
    containers: list[Container] = field(default_factory=list)

    def up(self, count: int) -> float:
        started = time.monotonic()
        for index in range(count):
            self.containers.append(self._start(index))
        for i, container in enumerate(self.containers):
            try:
                self._wait_ssh(container)
            except RuntimeError as error:  # a boot that stalls under load: keep its log, boot it again
                log = container.directory / "console.log"
                if log.exists():
                    shutil.copy(log, Path("/tmp") / f"{container.name}-console.log")
                print(f"  {error}; booting it again (console log in /tmp/{container.name}-console.log)")
                self._stop(container)
                self.containers[i] = self._start(i)
                self._wait_ssh(self.containers[i])
        return time.monotonic() - started

    def _start(self, index: int) -> Container:
        name = f"{PREFIX}{index + 1:03d}"
        directory = ROOT / name
        if directory.exists():
            sh("umount", "-l", str(directory / "root"), check=False)
            shutil.rmtree(directory)
        upper, work, root = directory / "upper", directory / "work", directory / "root"
        for d in (upper / "etc/systemd/system", upper / "root/.ssh", work, root):
            d.mkdir(parents=True)
        (upper / "etc/hostname").write_text(name + "\n")
        (upper / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {name}\n")
        (upper / "etc/fstab").write_text("")
        (upper / "etc/resolv.conf").write_text("nameserver 10.0.2.3\n")
        os.symlink("/dev/null", upper / "etc/systemd/system/systemd-networkd-wait-online.service")
        pub = Path(str(self.key) + ".pub").read_text()
        (upper / "root/.ssh/authorized_keys").write_text(pub)
        os.chmod(upper / "root/.ssh", 0o700)
        os.chmod(upper / "root/.ssh/authorized_keys", 0o600)
        sh(
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={self.rootfs},upperdir={upper},workdir={work}",
            str(root),
        )
        sh("ip", "netns", "add", name)
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        env = {**os.environ, MARK: "1"}
        with (directory / "console.log").open("w") as log:
            nspawn = subprocess.Popen(
                [
                    "systemd-nspawn",
                    "--quiet",
                    "--register=no",
                    "--keep-unit",
                    "--boot",
                    "--console=passive",
                    "--resolv-conf=off",
                    "--timezone=off",
                    "--link-journal=no",
                    f"--machine={name}",
                    "-D",
                    str(root),
                    f"--network-namespace-path=/run/netns/{name}",
                    "--private-network",
                    "--capability=CAP_NET_ADMIN",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        api = directory / "slirp.sock"
        with (directory / "slirp.log").open("w") as log:
            slirp = subprocess.Popen(
                [
                    "slirp4netns",
                    "--configure",
                    "--mtu=65520",
                    "--disable-host-loopback",
                    "--netns-type=path",
                    "--api-socket",
                    str(api),
                    f"/run/netns/{name}",
                    "tap0",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        container = Container(name, free_port(), directory, [nspawn.pid, slirp.pid])
        for _ in range(100):
            if api.exists():
                break
            time.sleep(0.05)
        request = {
            "execute": "add_hostfwd",
            "arguments": {
                "proto": "tcp",
                "host_addr": "127.0.0.1",
                "host_port": container.port,
                "guest_port": 22,
            },
        }
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(api))
            sock.sendall(json.dumps(request).encode())
            answer = sock.recv(4096).decode()
        if "error" in answer:
            raise RuntimeError(f"{name}: slirp4netns add_hostfwd: {answer}")
        return container

    def _ssh(self, container: Container, command: str) -> subprocess.CompletedProcess[str]:
        return sh(
            "ssh",
            "-i",
            str(self.key),
            "-p",
            str(container.port),
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=3",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "root@127.0.0.1",
            command,
            check=False,
        )

    def _wait_ssh(self, container: Container, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ssh(container, "systemctl is-system-running --wait >/dev/null; true").returncode == 0:
                return
            time.sleep(1)
        raise RuntimeError(f"{container.name}: no SSH on 127.0.0.1:{container.port} after {timeout:.0f} s")

    def write_inventory(self, path: Path, communes: list[str]) -> None:
        lines = ["# scale benchmark: standalone containers (bench/standalone_fleet.py)", "[commune_servers]"]
        for i, c in enumerate(self.containers):
            commune = communes[i % len(communes)]
            lines.append(
                f"{c.name} ansible_host=127.0.0.1 ansible_port={c.port} jamaa_lan_ip=10.0.2.100 "
                f"jamaa_host_kind=container jamaa_host_role=commune_server jamaa_communes='[\"{commune}\"]'"
            )
        lines += [
            "",
            "[containers]",
            *(c.name for c in self.containers),
            "",
            "[vms]",
            "",
            "[attackers]",
            "",
            "[all:vars]",
            "ansible_user=root",
            f"ansible_ssh_private_key_file={self.key}",
            "ansible_ssh_extra_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o IdentitiesOnly=yes'",
            "ansible_python_interpreter=/usr/bin/python3",
            "jamaa_lab=true",
            "jamaa_lab_profile=scale",
            "jamaa_lab_suite=trixie",
            "",
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
        config = [
            f"Host {c.name}\n  HostName 127.0.0.1\n  Port {c.port}\n  User root\n  IdentityFile {self.key}\n"
            "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            "  LogLevel ERROR\n"
            for c in self.containers
        ]
        (path.parent / "ssh_config").write_text("\n".join(config))

    def memory_mb(self) -> list[float]:
        """Each container's memory: the PSS of every process in its network namespace."""
        inodes = {os.stat(f"/run/netns/{c.name}").st_ino: c.name for c in self.containers}
        totals = dict.fromkeys(inodes.values(), 0.0)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                link = os.readlink(entry / "ns/net")
                inode = int(link[link.index("[") + 1 : -1])
                if inode not in inodes:
                    continue
                for line in (entry / "smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        totals[inodes[inode]] += int(line.split()[1]) / 1024
            except (OSError, ValueError):
                continue
        return [round(totals[c.name], 1) for c in self.containers]

    def _stop(self, container: Container) -> None:
        for pid in container.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        sh("umount", "-l", str(container.directory / "root"), check=False)
        sh("ip", "netns", "del", container.name, check=False)
        shutil.rmtree(container.directory, ignore_errors=True)

    def down(self) -> None:
        for container in self.containers:
            for pid in container.pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for container in self.containers:
            for pid in container.pids:
                while time.monotonic() < deadline:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                        os.kill(pid, 0)
                    except (ProcessLookupError, ChildProcessError):
                        break
                    time.sleep(0.2)
                else:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        for container in self.containers:
            sh("umount", "-l", str(container.directory / "root"), check=False)
            sh("ip", "netns", "del", container.name, check=False)
            shutil.rmtree(container.directory, ignore_errors=True)
        self.containers.clear()
