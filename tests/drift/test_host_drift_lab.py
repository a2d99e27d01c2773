"""Drift on the lab's real hosts: one drift per area on converged hosts, `jamaa drift` (site.yml --check
--diff read from Ansible's JSON events) reports exactly those control ids, a converge restores them, and
the next drift run reports none.

Container (whole playbook checked): a running sysctl value, a file mode, a masked service unmasked, an
sshd option changed, an nftables rule added at runtime, a package that must be absent installed. VM
(kernel areas only, to keep the slow VM short): a blocked module (hfs) loaded, an audit rule removed from the
rules on disk (the VM's loaded audit rules are immutable, `-e 2`: no one can remove a loaded rule until
the next boot, which is what HOST-AUDIT-024 enforces).

Runs after tests/rollback (Makefile LAB_SUITES) and leaves the hosts converged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jamaa.drift.model import DriftRun
from jamaa.paths import REPO
from jamaa.recap import play_recap
from jamaa.results import Status

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent
OUT = REPO / "out" / "drift-test"

CONTAINER_DRIFT = {
    "HOST-SYSCTL-005": "sysctl -q -w net.ipv4.conf.all.accept_redirects=1",
    "HOST-PERM-005": "chmod 0644 /etc/shadow",
    "HOST-SVC-013": "systemctl unmask rsync.service",
    "HOST-SSH-017": "sed -i 's/^MaxAuthTries .*/MaxAuthTries 6/' /etc/ssh/sshd_config.d/00-jamaa.conf",
    "HOST-FW-010": "nft add rule inet jamaa input tcp dport 8080 accept",
    "HOST-SVC-023": "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq telnet >/dev/null",
}
CONTAINER_TAGS = "sysctl,permissions,services,ssh,firewall"
VM_DRIFT = {
    "HOST-KMOD-003": "modprobe -C /dev/null hfs",  # -C /dev/null: past the blocklist, as an attacker would
    "HOST-AUDIT-014": "sed -i '/^-w \\/etc\\/passwd -p wa -k identity$/d' /etc/audit/rules.d/50-jamaa.rules",
}
VM_TAGS = "kernel_modules,audit"
TIMINGS: dict[str, float] = {}


def record(name: str, seconds: float) -> None:
    TIMINGS[name] = round(seconds, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "200"}


def drift(lab: Any, host: str, tags: str | None, name: str) -> tuple[int, DriftRun, str]:
    out = OUT / name
    argv = [str(BIN / "jamaa"), "drift", "--env", "lab", "--environments", str(lab.environments)]
    argv += ["--limit", host, "--out", str(out)] + (["--tags", tags] if tags else [])
    start = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=1800, check=False
    )
    record(f"drift {name}", time.monotonic() - start)
    return done.returncode, DriftRun.read(out / "hosts.json"), done.stdout + done.stderr


def converge(lab: Any, host: str, tags: str) -> dict[str, int]:
    argv = [str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(REPO / "playbooks" / "site.yml")]
    argv += ["-l", host, "--tags", tags]
    start = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, env={**_env(), "ANSIBLE_NOCOLOR": "1"}, capture_output=True, text=True, timeout=1800
    )
    record(f"converge {host} --tags {tags}", time.monotonic() - start)
    assert done.returncode == 0, done.stdout[-3000:]
    return play_recap(done.stdout)[host]


def introduce(lab: Any, host: str, drifts: dict[str, str]) -> None:
    for control, command in drifts.items():
        result = lab.ssh(host, command, timeout=300)
        assert result.returncode == 0, f"{host}: could not introduce the {control} drift: {result.stderr}"


def _converged(lab: Any, host: str) -> bool:
    return bool(lab.ssh(host, "test -s /etc/jamaa/not-applicable.json").returncode == 0)


def test_container_drift_is_reported_per_control_then_restored(lab: Any) -> None:
    # A Debian 13 container: the drift set unmasks rsync.service (HOST-SVC-013), a unit the trixie image
    # carries; on the Debian 12 container there was no unit to restore (run of 2026-12-03). The
    # bookworm container is converged and verified by tests/roles and tests/verify.
    host = next(
        h
        for h in lab.group("containers")
        if h in lab.group("commune_servers")
        and lab.ssh(h, ". /etc/os-release && echo $VERSION_CODENAME").stdout.strip() == "trixie"
    )
    if not _converged(lab, host):
        assert lab.converge_site(OUT / "converge.log") == 0
    introduce(lab, host, CONTAINER_DRIFT)
    code, found, output = drift(lab, host, None, "container-drifted")
    assert code == 1, output[-3000:]
    (target,) = found.targets
    assert (target.target, target.status) == (host, Status.FAIL), target
    assert target.controls() == sorted(CONTAINER_DRIFT), output[-4000:]
    by_control = {f.control: f for f in target.findings}
    assert "-MaxAuthTries 6" in by_control["HOST-SSH-017"].detail
    assert "+MaxAuthTries 3" in by_control["HOST-SSH-017"].detail
    assert "tcp dport 8080 accept" in by_control["HOST-FW-010"].detail
    converge(lab, host, CONTAINER_TAGS)
    code, after, output = drift(lab, host, CONTAINER_TAGS, "container-restored")
    assert code == 0 and after.targets[0].status == Status.PASS, output[-3000:]
    assert lab.ssh(host, "dpkg -s telnet").returncode != 0, "telnet still installed"


def test_vm_drift_is_reported_per_control_then_restored(lab: Any) -> None:
    vms = [h for h in lab.group("vms") if h in lab.group("commune_servers")]
    if not vms:
        pytest.skip(f"the lab profile {lab.profile!r} has no VM")  # the default profile has one
    host = vms[0]
    if not _converged(lab, host):
        assert lab.converge_site(OUT / "converge.log") == 0
    introduce(lab, host, VM_DRIFT)
    code, found, output = drift(lab, host, VM_TAGS, "vm-drifted")
    assert code == 1, output[-3000:]
    (target,) = found.targets
    assert target.controls() == sorted(VM_DRIFT), output[-4000:]
    assert "identity" in {f.control: f for f in target.findings}["HOST-AUDIT-014"].detail
    converge(lab, host, VM_TAGS)
    assert "hfs" not in lab.ssh(host, "cut -d' ' -f1 /proc/modules").stdout.split()
    code, after, output = drift(lab, host, VM_TAGS, "vm-restored")
    assert code == 0 and after.targets[0].status == Status.PASS, output[-3000:]
