"""Commit-confirm under faults, on the lab's real hosts (roles/commit_confirm, HOST-FW-014, HOST-SSH-029).

For the firewall and for sshd each: the apply fails after the new configuration is live; the apply
cuts the controller off; the confirm arrives after the timer fired (containers, through site.yml); and
the host reboots while both rollbacks are pending (the VM, with the role's host-side tool and boot unit
driven over SSH in the role's order: the role itself costs minutes per run under software emulation).
After each: the host answers over SSH, the previous files are back byte for byte, the same ruleset is
loaded (default deny), sshd runs with the hardened settings, exactly one rollback ran (even once the
timer's delay has passed), and nothing is left behind (no saved copy, no timer, no temporary file).

Runs after tests/roles (Makefile LAB_SUITES) on converged hosts, and leaves them converged.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jamaa.paths import REPO
from jamaa.recap import play_recap

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent
OUT = REPO / "out" / "rollback"
TIMINGS: dict[str, float] = {}

# What "the host's access configuration" is, read the same way before and after each fault.
STATE = {
    "nftables.conf": "sha256sum /etc/nftables.conf",
    "sshd drop-in": "sha256sum /etc/ssh/sshd_config.d/00-jamaa.conf",
    "loaded ruleset": "nft -s list ruleset | sha256sum",
    "input policy": "nft list chain inet jamaa input | grep -o 'policy [a-z]*'",
    "sshd effective": (
        "sshd -T | grep -E '^(allowgroups|maxauthtries|passwordauthentication|permitrootlogin) ' | sort"
    ),
    "ssh active": "systemctl is-active ssh nftables",
}
LEFTOVERS = (
    "ls -A /var/lib/jamaa/commit-confirm 2>/dev/null; ls /etc/nftables.conf.* 2>/dev/null; "
    "ls /etc/ssh/sshd_config.d/*.jamaa-rollback /etc/ssh/sshd_config.d/*~ 2>/dev/null; "
    "systemctl list-units --all --no-legend 'jamaa-rollback-*' | cat"
)


@dataclass
class Run:
    rc: int
    output: str
    seconds: float

    def tail(self, lines: int = 50) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def _argv(lab: Any, host: str, tags: str, extra: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = [str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(REPO / "playbooks" / "site.yml")]
    argv += ["-l", host, "--tags", tags, "-e", json.dumps(extra)]
    return argv, env


def playbook(lab: Any, host: str, tags: str, extra: dict[str, Any], timeout: float = 900) -> Run:
    argv, env = _argv(lab, host, tags, extra)
    start = time.monotonic()
    done = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(done.returncode, done.stdout + done.stderr, round(time.monotonic() - start, 1))


def record(name: str, seconds: float) -> None:
    TIMINGS[name] = seconds
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def state(lab: Any, host: str) -> dict[str, str]:
    seen = {}
    for name, command in STATE.items():
        result = lab.ssh(host, command, timeout=60)
        for _ in range(3):  # an SSH transport error (255) right after sshd reloads: ask again
            if result.returncode != 255:
                break
            time.sleep(3)
            result = lab.ssh(host, command, timeout=60)
        assert result.returncode == 0, (
            f"{host} does not answer ({name}): rc {result.returncode} {result.stderr}"
        )
        seen[name] = result.stdout.strip()
    return seen


def rollbacks_since(lab: Any, host: str, since: float, change: str) -> list[str]:
    log = lab.ssh(host, f"journalctl -q --no-pager -o cat -t jamaa --since @{int(since)}")
    return [line for line in log.stdout.splitlines() if f"{change}: previous configuration restored" in line]


def assert_restored(lab: Any, host: str, before: dict[str, str], since: float, change: str) -> None:
    after = state(lab, host)
    assert after == before, "previous configuration not back:\n" + "\n".join(
        f"{k}: {before[k]!r} -> {after[k]!r}" for k in before if before[k] != after[k]
    )
    assert after["input policy"] == "policy drop", after
    assert (
        "maxauthtries 3" in after["sshd effective"] and "passwordauthentication no" in after["sshd effective"]
    )
    leftovers = lab.ssh(host, LEFTOVERS).stdout.strip()
    assert not leftovers, f"left behind on {host}: {leftovers}"
    lines = rollbacks_since(lab, host, since, change)
    assert len(lines) == 1, f"{change}: expected exactly one rollback since the fault, saw {lines}"


def wait_past_timer(started: float, timeout: int) -> None:
    """Let the (disarmed) timer's delay pass, so a second rollback would have shown."""
    remaining = started + timeout + 5 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _converged(lab: Any, host: str) -> bool:
    probe = "test -s /etc/jamaa/not-applicable.json"
    return bool(lab.ssh(host, probe).returncode == 0)


@pytest.fixture(scope="module")
def container(lab: Any) -> Iterator[str]:
    hosts = [h for h in lab.group("containers") if h in lab.group("commune_servers")]
    assert hosts, "the lab has no commune server in a container"
    host = hosts[0]
    if not _converged(lab, host):
        assert lab.converge_site(OUT / "converge.log") == 0, f"site.yml failed: see {OUT / 'converge.log'}"
    yield host
    again = playbook(lab, host, "firewall,ssh", {})
    assert again.rc == 0 and play_recap(again.output)[host]["changed"] == 0, again.tail()


CHANGE: dict[str, dict[str, Any]] = {
    "nftables": {"nftables_firewall_log_rate": "7/minute"},
    "sshd": {"ssh_hardening_max_auth_tries": 2},
}
TAGS = {"nftables": "firewall", "sshd": "ssh"}
FAULTS: dict[str, dict[str, dict[str, Any]]] = {
    # the new configuration goes live, then the apply step fails
    "apply fails": {
        "nftables": {"nftables_firewall_load_command": "nft -f /etc/nftables.conf && false"},
        "sshd": {"ssh_hardening_reload_command": "systemctl reload ssh && false"},
    },
    # the confirm arrives after the timer fired (the apply outlasts the timer)
    "confirm after the timer fired": {
        "nftables": {"nftables_firewall_load_command": "nft -f /etc/nftables.conf && sleep 14"},
        "sshd": {"ssh_hardening_reload_command": "systemctl reload ssh && sleep 14"},
    },
}
TIMEOUTS = {"apply fails": (12, 6), "confirm after the timer fired": (6, 5), "cut off": (30, 12)}
RESTORED = "the previous configuration was restored (commit-confirm rollback) and the host is reachable again"
EXPECTED = {
    "apply fails": RESTORED,
    "confirm after the timer fired": "NOT confirmed: the rollback already ran",
    "cut off": RESTORED,
}
CUT_OFF: dict[str, dict[str, Any]] = {
    "nftables": {"nftables_firewall_management_cidrs": ["198.51.100.0/24"]},
    "sshd": {"ssh_hardening_allow_groups": ["nogroup"]},
}


def _timeouts(change: str, fault: str) -> dict[str, int]:
    commit, reconnect = TIMEOUTS[fault]
    prefix = "nftables_firewall" if change == "nftables" else "ssh_hardening"
    return {f"{prefix}_commit_timeout": commit, f"{prefix}_reconnect_timeout": reconnect}


@pytest.mark.parametrize("change", ["nftables", "sshd"])
@pytest.mark.parametrize("fault", ["apply fails", "cut off", "confirm after the timer fired"])
def test_a_fault_rolls_back_once_and_leaves_the_previous_configuration(
    lab: Any, container: str, change: str, fault: str
) -> None:
    before = state(lab, container)
    fault_vars = CUT_OFF[change] if fault == "cut off" else FAULTS[fault][change]
    extra = {**CHANGE[change], **fault_vars, **_timeouts(change, fault)}
    started_wall, started = time.time() - 1, time.monotonic()
    run = playbook(lab, container, TAGS[change], extra)
    record(f"{change}: {fault}", run.seconds)
    assert run.rc != 0, f"the fault did not fail the run:\n{run.tail()}"
    assert f"{change} was NOT applied" in run.output, run.tail()
    assert EXPECTED[fault] in run.output, run.tail()
    wait_past_timer(started, TIMEOUTS[fault][0])
    assert_restored(lab, container, before, started_wall, change)


def _pending(lab: Any, host: str) -> list[str]:
    out = lab.ssh(
        host, "for c in nftables sshd; do echo $c $(jamaa-commit-confirm status $c); done", timeout=60
    )
    return [line.split()[0] for line in out.stdout.splitlines() if line.endswith(" pending")]


def _ssh_after_boot(lab: Any, host: str, command: str, timeout: float = 60) -> Any:
    """A command on a host that has just booted: ssh's own failure (exit 255: the connection, not the
    command) is retried for a minute, so a refused connection is not read as the command's output."""
    deadline = time.monotonic() + 60
    while True:
        result = lab.ssh(host, command, timeout=timeout)
        if result.returncode != 255 or time.monotonic() > deadline:
            return result
        time.sleep(5)


ROLE_FILES = REPO / "roles" / "commit_confirm" / "files"
NFT_CONF = "/etc/nftables.conf"
TOOL = "/usr/local/sbin/jamaa-commit-confirm"
UNIT = "/etc/systemd/system/jamaa-commit-confirm.service"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/00-jamaa.conf"


def _read(lab: Any, host: str, path: str) -> str:
    result = lab.ssh(host, f"cat {path}")
    assert result.returncode == 0, f"{host}: cannot read {path}: {result.stderr}"
    return str(result.stdout)


def _write(lab: Any, host: str, path: str, content: str, mode: str) -> None:
    marker = "JAMAA_EOF_7f3a"
    result = lab.ssh(host, f"umask 077; cat > {path} <<'{marker}'\n{content}{marker}\nchmod {mode} {path}")
    assert result.returncode == 0, f"{host}: cannot write {path}: {result.stderr}"


@pytest.fixture
def vm_with_hardened_access(lab: Any, container: str) -> Iterator[str]:
    """The VM with the firewall and sshd settings of a converged container (the VM's own site.yml scope
    is the kernel controls only: converging those two roles there under software emulation costs minutes),
    put back as they were afterwards."""
    vms = [h for h in lab.group("vms") if h in lab.group("commune_servers")]
    if not vms:
        pytest.skip(f"the lab profile {lab.profile!r} has no VM")  # the default profile has one
    vm = vms[0]
    saved = lab.ssh(
        vm,
        f"mkdir -p /root/jamaa-test && cp -a {NFT_CONF} /root/jamaa-test/ 2>/dev/null; "
        f"cp -a {SSHD_DROPIN} /root/jamaa-test/ 2>/dev/null; nft list ruleset > /root/jamaa-test/ruleset; "
        "systemctl is-enabled nftables > /root/jamaa-test/enabled; true",
    )
    assert saved.returncode == 0, saved.stderr
    # the role's host side (its tool and boot unit), as roles/commit_confirm installs them
    _write(lab, vm, TOOL, (ROLE_FILES / "jamaa-commit-confirm").read_text(), "0755")
    _write(lab, vm, UNIT, (ROLE_FILES / "jamaa-commit-confirm.service").read_text(), "0644")
    enabled = lab.ssh(vm, "systemctl daemon-reload && systemctl enable jamaa-commit-confirm.service")
    assert enabled.returncode == 0, enabled.stderr
    _write(lab, vm, NFT_CONF, _read(lab, container, NFT_CONF), "0700")
    _write(lab, vm, SSHD_DROPIN, _read(lab, container, SSHD_DROPIN), "0600")
    ready = lab.ssh(
        vm, f"nft -f {NFT_CONF} && systemctl enable --now nftables && sshd -t && systemctl reload ssh"
    )
    assert ready.returncode == 0, f"{vm}: the hardened access settings do not apply: {ready.stderr}"
    yield vm
    lab.ssh(
        vm,
        f"cd /root/jamaa-test && rm -f {SSHD_DROPIN} {NFT_CONF} && cp -a nftables.conf {NFT_CONF}; "
        f"[ -f 00-jamaa.conf ] && cp -a 00-jamaa.conf {SSHD_DROPIN}; "
        "{ echo 'flush ruleset'; cat ruleset; } | nft -f -; "
        '[ "$(cat enabled)" = enabled ] || systemctl disable nftables; '
        "systemctl reload ssh; rm -rf /root/jamaa-test",
    )


def test_a_reboot_with_both_rollbacks_pending_restores_both_at_boot(
    lab: Any, vm_with_hardened_access: str
) -> None:
    vm = vm_with_hardened_access
    before = state(lab, vm)
    boot_id = lab.ssh(vm, "cat /proc/sys/kernel/random/boot_id").stdout.strip()
    started = time.time() - 1
    nft_new = _read(lab, vm, NFT_CONF).replace("limit rate 5/minute", "limit rate 7/minute")
    sshd_new = _read(lab, vm, SSHD_DROPIN).replace("MaxAuthTries 3", "MaxAuthTries 2")
    assert nft_new != _read(lab, vm, NFT_CONF) and "MaxAuthTries 2" in sshd_new
    changes = {
        "nftables": {
            "dest": NFT_CONF, "content": nft_new, "mode": "0700", "validate": "nft -c -f %s",
            "save": 'nft list ruleset > "$SAVED/ruleset"',
            "restore": "{ echo 'flush ruleset'; cat \"$SAVED/ruleset\"; } | nft -f -",
            "apply": f"nft -f {NFT_CONF}",
        },
        "sshd": {
            "dest": SSHD_DROPIN, "content": sshd_new, "mode": "0600", "validate": "sshd -t -f %s",
            "restore": "systemctl reload ssh", "apply": "sshd -t && systemctl reload ssh",
        },
    }  # fmt: skip
    # The role's steps, in its order, driven over SSH (the role itself on the VM under software emulation
    # costs minutes per run; its order and its rescue are tested on the containers above): save, arm a
    # long timer, write, apply. Never confirmed: only the reboot can bring the rollback.
    for change, spec in changes.items():
        env = f"SAVE_HOOK={shlex.quote(spec.get('save', ''))} RESTORE_HOOK={shlex.quote(spec['restore'])}"
        armed = lab.ssh(
            vm,
            f"{env} {TOOL} save {change} {spec['dest']} && systemd-run --unit=jamaa-rollback-{change} "
            "--on-active=1200 --timer-property=AccuracySec=1s --property=StandardOutput=null "
            f"{TOOL} rollback {change}",
        )
        assert armed.returncode == 0, f"{change}: {armed.stdout} {armed.stderr}"
        _write(lab, vm, spec["dest"], spec["content"], spec["mode"])
        applied = lab.ssh(vm, spec["apply"])
        assert applied.returncode == 0, f"{change}: {applied.stderr}"
    live = state(lab, vm)
    assert sorted(_pending(lab, vm)) == ["nftables", "sshd"], _pending(lab, vm)
    assert (
        live["nftables.conf"] != before["nftables.conf"]
        and live["loaded ruleset"] != before["loaded ruleset"]
    )
    assert live["sshd drop-in"] != before["sshd drop-in"] and "maxauthtries 2" in live["sshd effective"], live
    reboot_at = time.monotonic()
    lab.ssh(vm, "systemd-run --on-active=1 --timer-property=AccuracySec=1s systemctl reboot", timeout=60)
    new_boot = ""
    while time.monotonic() < reboot_at + 480:
        time.sleep(10)
        probe = lab.ssh(vm, "cat /proc/sys/kernel/random/boot_id", timeout=30)
        if probe.returncode == 0 and probe.stdout.strip() not in ("", boot_id):
            new_boot = probe.stdout.strip()
            break
    assert new_boot, f"{vm} did not come back over SSH within 480 s of the reboot"
    record("reboot with two pending rollbacks (VM)", round(time.monotonic() - reboot_at, 1))
    _ssh_after_boot(lab, vm, "systemctl is-system-running --wait", timeout=300)
    query = _ssh_after_boot(lab, vm, "journalctl -q --no-pager -o cat -b -t jamaa")
    assert query.returncode == 0, f"{vm}: journalctl exited {query.returncode}: {query.stderr}"
    unit = _ssh_after_boot(lab, vm, "systemctl status --no-pager jamaa-commit-confirm; ls /var/lib/jamaa/*")
    for change in changes:
        restored = f"{change}: previous configuration restored at boot"
        assert restored in query.stdout, f"{query.stdout!r}\n{unit.stdout}"
        assert_restored(lab, vm, before, started, change)
