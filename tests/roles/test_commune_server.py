"""The hardened commune server on the lab's real hosts: converge, idempotence, check mode, fail-fast
variables, and persistence across a reboot of the VM (lock-out safety under faults: tests/rollback).

The tests run in file order on one lab and leave it converged for the baseline suite that follows
(Makefile: LAB_SUITES). Timings and task counts go to out/roles/timings.json, and each recorded
run's whole output to out/roles/<name>.log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jamaa.paths import REPO
from jamaa.recap import play_recap

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent
SITE = REPO / "playbooks" / "site.yml"
OUT = REPO / "out" / "roles"
TIMINGS: dict[str, Any] = {}


@dataclass
class Run:
    rc: int
    output: str
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported `changed` (for a readable failure)."""
        names, current = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith("changed:"):
                names.append(f"{current}: {line}")
        return names


def _command(lab: Any, args: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    return [str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(SITE), *args], env


def _result(rc: int, output: str, seconds: float) -> Run:
    return Run(rc, output, round(seconds, 1), play_recap(output))


def playbook(lab: Any, *args: str, timeout: float = 2400) -> Run:
    command, env = _command(lab, args)
    start = time.monotonic()
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return _result(result.returncode, result.stdout + result.stderr, time.monotonic() - start)


def playbooks_in_parallel(lab: Any, limits: dict[str, str], timeout: float = 2400) -> dict[str, Run]:
    """One ansible-playbook per limit, concurrently: the slow VM does not hold the containers back, and
    each kind of host gets its own timing."""
    started: dict[str, tuple[subprocess.Popen[str], float]] = {}
    for name, limit in limits.items():
        command, env = _command(lab, ("-l", limit))
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        started[name] = (process, time.monotonic())
    runs = {}
    for name, (process, start) in started.items():
        output, _ = process.communicate(timeout=timeout)
        runs[name] = _result(process.returncode, output, time.monotonic() - start)
    return runs


def record(name: str, run: Run) -> None:
    """The run's timing and recap in timings.json, its whole output in <name>.log (a failure shows a tail)."""
    TIMINGS[name] = {"seconds": run.seconds, "recap": run.recap}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")
    (OUT / f"{name}.log").write_text(run.output)


def tail(run: Run, lines: int = 60) -> str:
    return "\n".join(run.output.splitlines()[-lines:])


@pytest.fixture(scope="module")
def servers(lab: Any) -> list[str]:
    hosts = lab.group("commune_servers")
    assert hosts, "the lab has no commune server"
    return hosts


@pytest.fixture(scope="module")
def container(lab: Any) -> str:
    containers = [h for h in lab.group("containers") if h in lab.group("commune_servers")]
    assert containers, "the lab has no commune server in a container"
    return containers[-1]


@pytest.fixture(scope="module")
def vm(lab: Any) -> str:
    vms = [h for h in lab.group("vms") if h in lab.group("commune_servers")]
    if not vms:
        pytest.skip(f"the lab profile {lab.profile!r} has no VM")
    return vms[0]


def test_a_bad_variable_fails_fast_with_the_argument_spec_message(lab: Any, container: str) -> None:
    run = playbook(lab, "-l", container, "-e", "ssh_hardening_max_auth_tries=many", timeout=600)
    assert run.rc != 0, tail(run)
    assert (
        "argument 'ssh_hardening_max_auth_tries' is of type str and we were unable to convert to int"
        in run.output
    ), tail(run)
    assert run.recap[container]["changed"] == 0, f"changes before the check: {run.changed_tasks()}"


def test_an_unknown_choice_fails_fast_too(lab: Any, container: str) -> None:
    run = playbook(lab, "-l", container, "-e", "ssh_hardening_permit_root_login=yes", timeout=600)
    assert run.rc != 0, tail(run)
    assert "ssh_hardening_permit_root_login" in run.output and "one of" in run.output, tail(run)
    assert run.recap[container]["changed"] == 0, f"changes before the check: {run.changed_tasks()}"


def test_an_exporter_address_the_host_does_not_have_fails_before_any_change(
    second_run: dict[str, Run], lab: Any, container: str
) -> None:
    run = playbook(
        lab, "-l", container, "--tags", "monitoring", "-e", "monitoring_listen_address=10.0.2.15", timeout=600
    )
    assert run.rc != 0, tail(run)
    assert f"monitoring_listen_address 10.0.2.15 is not an address of {container}" in run.output, tail(run)
    assert run.recap[container]["changed"] == 0, f"changes before the check: {run.changed_tasks()}"


LIMITS = {"containers": "commune_servers:&containers", "vm": "commune_servers:&vms"}


def _limits(lab: Any) -> dict[str, str]:
    return {name: limit for name, limit in LIMITS.items() if name != "vm" or lab.group("vms")}


def _assert_clean(runs: dict[str, Run], servers: list[str], *, changed: bool) -> None:
    seen = {host: (name, run) for name, run in runs.items() for host in run.recap}
    for host in servers:
        assert host in seen, f"{host} missing from every play recap:\n" + "\n".join(
            tail(r) for r in runs.values()
        )
        name, run = seen[host]
        counts = run.recap[host]
        assert counts["failed"] == 0 and counts["unreachable"] == 0, f"{host} ({name}):\n{tail(run, 120)}"
        if not changed:
            assert counts["changed"] == 0, f"{host} changed on a second run: {run.changed_tasks()}"
    for name, run in runs.items():
        assert run.rc == 0, f"{name}: ansible-playbook exited {run.rc}:\n{tail(run, 120)}"


@pytest.fixture(scope="module")
def first_converge(lab: Any, servers: list[str]) -> dict[str, Run]:
    runs = playbooks_in_parallel(lab, _limits(lab))
    for name, run in runs.items():
        record(f"first_converge_{name}", run)
    return runs


def test_site_converges_every_server_and_the_vm_without_a_failed_task(
    first_converge: dict[str, Run], servers: list[str]
) -> None:
    _assert_clean(first_converge, servers, changed=True)


@pytest.fixture(scope="module")
def second_run(first_converge: dict[str, Run], lab: Any) -> dict[str, Run]:
    runs = playbooks_in_parallel(lab, _limits(lab))
    for name, run in runs.items():
        record(f"second_run_{name}", run)
    return runs


def test_a_second_run_changes_nothing_on_any_host(second_run: dict[str, Run], servers: list[str]) -> None:
    _assert_clean(second_run, servers, changed=False)


def test_check_diff_on_a_converged_host_reports_no_change(
    second_run: dict[str, Run], lab: Any, container: str
) -> None:
    run = playbook(lab, "-l", container, "--check", "--diff", timeout=900)
    record("check_diff", run)
    assert run.rc == 0, tail(run, 120)
    assert run.recap[container]["changed"] == 0, f"--check --diff reports changes: {run.changed_tasks()}"


def _pam_unix_auth(lab: Any, host: str) -> str:
    return lab.ssh(host, "grep -w pam_unix.so /etc/pam.d/common-auth").stdout


def test_a_libpam_runtime_upgrade_does_not_bring_empty_passwords_back(
    second_run: dict[str, Run], lab: Any, container: str
) -> None:
    # What an upgrade does: the package's own unix profile (with nullok) is written, then its postinst
    # rebuilds the stacks (pam-auth-update --package).
    reinstall = "DEBIAN_FRONTEND=noninteractive apt-get install --reinstall -y -q libpam-runtime"
    upgrade = lab.ssh(container, reinstall, timeout=600)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "nullok" in lab.ssh(container, "cat /usr/share/pam-configs/unix").stdout, "not the package's file"
    auth = _pam_unix_auth(lab, container)
    assert auth and "nullok" not in auth, f"HOST-PAM-019: the upgrade restored nullok: {auth}"
    verify = lab.ssh(container, "dpkg --verify libpam-runtime")
    assert verify.returncode == 0 and not verify.stdout, f"libpam-runtime's files differ: {verify.stdout}"


def test_a_host_whose_unix_profile_an_earlier_version_edited_is_brought_back_to_the_package(
    second_run: dict[str, Run], lab: Any, container: str
) -> None:
    # The state an earlier Jamaa left: Debian's unix profile edited in place and enabled, no jamaa-unix.
    earlier = lab.ssh(
        container,
        "rm /usr/share/pam-configs/jamaa-unix && sed -i 's/ nullok//' /usr/share/pam-configs/unix"
        " && pam-auth-update --package --enable unix && dpkg --verify libpam-runtime",
    )
    assert "/usr/share/pam-configs/unix" in earlier.stdout, earlier.stdout + earlier.stderr
    run = playbook(lab, "-l", container, "--tags", "pam", timeout=900)
    assert run.rc == 0, tail(run)
    restored = lab.ssh(container, "dpkg --verify libpam-runtime").stdout
    assert restored == "", f"Debian's unix profile not restored: {restored}"
    auth = _pam_unix_auth(lab, container)
    assert auth and "nullok" not in auth, f"HOST-PAM-019: nullok after the migration: {auth}"
    again = playbook(lab, "-l", container, "--tags", "pam", timeout=900)
    assert again.rc == 0 and again.recap[container]["changed"] == 0, again.changed_tasks()


def _main_pid(lab: Any, host: str, unit: str) -> int:
    pid = lab.ssh(host, f"systemctl show -p MainPID --value {unit}").stdout.strip()
    assert pid.isdigit() and int(pid) > 0, f"{host}: {unit} is not running ({pid!r})"
    return int(pid)


def test_a_service_running_a_library_an_update_replaced_is_restarted(
    second_run: dict[str, Run], lab: Any, container: str
) -> None:
    # What a security update of a library does: dpkg writes the new file in place of the old one, which
    # rsyslogd still has mapped. needrestart (HOST-UPD-008), run by apt after dpkg, restarts it.
    before = _main_pid(lab, container, "rsyslog")
    update = lab.ssh(
        container,
        "DEBIAN_FRONTEND=noninteractive apt-get install --reinstall -y -q libfastjson4",
        timeout=600,
    )
    assert update.returncode == 0, update.stderr
    after = _main_pid(lab, container, "rsyslog")
    assert after != before, (
        "HOST-UPD-008: rsyslog still runs the replaced libfastjson:\n" + update.stdout[-2000:]
    )
    pending = lab.ssh(container, "needrestart -b -r l").stdout
    assert "NEEDRESTART-SVC: rsyslog.service" not in pending, pending


# --- the apt transaction in the background (host_packages) ----------------------------------------------
BACKGROUND_TASK = "in the background while these roles run"
FOREGROUND_TASK = "Packages | Install them in one apt transaction]"
WAIT_TASK = "Packages | Wait for the apt transaction started in the background"
FAILING_HOOK = "/etc/apt/apt.conf.d/99jamaa-test-refuse"


def task_status(run: Run, fragment: str) -> str:
    """The first result line (`ok:`, `changed:`, `skipping:`, `fatal:`) of the task named with `fragment`."""
    found = False
    for line in run.output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            found = fragment in line
        elif found and line.split(":", 1)[0] in {"ok", "changed", "skipping", "fatal", "failed"}:
            return line.split(":", 1)[0]
    return "not run"


def _installed(lab: Any, host: str, package: str) -> bool:
    status = lab.ssh(host, f"dpkg-query -W -f='${{Status}}' {package}").stdout
    return status == "install ok installed"


@contextmanager
def _converged_without(lab: Any, host: str, apt_args: str, package: str, tags: str) -> Iterator[str]:
    """A converged server that lost `package` (`apt-get <apt_args>`): the next run's transaction
    installs it again; afterwards, a run with `tags` converges the server again if it is still missing."""
    removed = lab.ssh(host, f"DEBIAN_FRONTEND=noninteractive apt-get {apt_args} -y -q", timeout=300)
    assert removed.returncode == 0, removed.stderr
    yield host
    if not _installed(lab, host, package):
        playbook(lab, "-l", host, "--tags", tags, timeout=900)


@pytest.fixture
def logrotate_removed(second_run: dict[str, Run], lab: Any, container: str) -> Iterator[str]:
    """Without logrotate (journald_logging installs it): the next run's transaction has one package."""
    with _converged_without(lab, container, "remove logrotate", "logrotate", "packages,logging") as host:
        yield host
        lab.ssh(host, f"rm -f {FAILING_HOOK}")


def test_the_transaction_runs_in_the_background_and_its_failure_fails_the_run_with_apts_message(
    lab: Any, logrotate_removed: str
) -> None:
    host = logrotate_removed
    # dpkg refuses to run: what a broken maintainer hook or a full disk would do mid-converge.
    lab.ssh(host, f"""echo 'DPkg::Pre-Invoke {{ "echo jamaa-test-refuses; false"; }};' > {FAILING_HOOK}""")
    failed = playbook(lab, "-l", host, "--tags", "packages,logging", timeout=900)
    assert failed.rc != 0, tail(failed)
    assert task_status(failed, BACKGROUND_TASK) == "changed", tail(failed)
    assert task_status(failed, WAIT_TASK) == "fatal", tail(failed)
    assert "Pre-Invoke" in failed.output, "the wait does not show apt's own message:\n" + tail(failed)
    assert not _installed(lab, host, "logrotate")

    lab.ssh(host, f"rm -f {FAILING_HOOK}")
    run = playbook(lab, "-l", host, "--tags", "packages,logging", timeout=900)
    assert run.rc == 0, tail(run)
    # the wait reports the transaction's own result: it installed a package
    assert task_status(run, BACKGROUND_TASK) == "changed" and task_status(run, WAIT_TASK) == "changed"
    assert _installed(lab, host, "logrotate")
    again = playbook(lab, "-l", host, "--tags", "packages,logging", timeout=900)
    assert again.rc == 0 and again.recap[host]["changed"] == 0, again.changed_tasks()


def test_a_role_run_meanwhile_that_needs_a_package_of_the_transaction_gets_it_in_the_foreground(
    lab: Any, logrotate_removed: str
) -> None:
    host = logrotate_removed
    # journald_logging needs logrotate: were it run during the transaction, its own install would wait
    # on dpkg's lock.
    extra = json.dumps({"host_packages_background_roles": ["journald_logging"]})
    run = playbook(lab, "-l", host, "--tags", "packages,logging", "-e", extra, timeout=900)
    assert run.rc == 0, tail(run)
    assert task_status(run, FOREGROUND_TASK) == "changed", tail(run)
    assert task_status(run, BACKGROUND_TASK) == "skipping" and task_status(run, WAIT_TASK) == "skipping"
    assert _installed(lab, host, "logrotate")


def test_a_role_run_meanwhile_that_must_remove_a_package_makes_the_transaction_foreground(
    lab: Any, logrotate_removed: str
) -> None:
    host = logrotate_removed
    # nftables_firewall removes competing firewall managers: with ufw installed, its apt removal would
    # wait on dpkg's lock during the transaction.
    ufw = lab.ssh(
        host, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ufw", timeout=600
    )
    assert ufw.returncode == 0, ufw.stderr
    run = playbook(lab, "-l", host, "--tags", "packages,firewall,logging", timeout=900)
    assert run.rc == 0, tail(run)
    assert task_status(run, FOREGROUND_TASK) == "changed", tail(run)
    assert task_status(run, BACKGROUND_TASK) == "skipping" and task_status(run, WAIT_TASK) == "skipping"
    assert task_status(run, "Remove competing firewall managers") == "changed", tail(run)
    assert _installed(lab, host, "logrotate") and not _installed(lab, host, "ufw")


def _epoch(lab: Any, host: str, command: str) -> int:
    result = lab.ssh(host, command)
    assert result.returncode == 0 and result.stdout.strip().isdigit(), f"{host}: {command}: {result}"
    return int(result.stdout)


@pytest.fixture
def nginx_purged(second_run: dict[str, Run], lab: Any, container: str) -> Iterator[str]:
    """nginx purged: the next run installs it again and writes its hardened configuration anew."""
    with _converged_without(lab, container, "purge nginx nginx-common", "nginx", "packages,nginx") as host:
        yield host


def test_a_service_the_transaction_installs_first_runs_with_its_roles_configuration(
    lab: Any, nginx_purged: str
) -> None:
    host = nginx_purged
    run = playbook(lab, "-l", host, "--tags", "packages,nginx", timeout=900)
    assert run.rc == 0, tail(run)
    assert task_status(run, BACKGROUND_TASK) == "changed", tail(run)
    # Debian's nginx starts itself in its postinst, with the package's nginx.conf; a reload keeps that
    # main process. Here the only nginx process started after the role wrote its own nginx.conf.
    written = _epoch(lab, host, "stat -c %Y /etc/nginx/nginx.conf")
    started = _epoch(lab, host, 'date -d "$(systemctl show -p ExecMainStartTimestamp --value nginx)" +%s')
    assert started >= written, (
        f"nginx's main process started {written - started} s before the role wrote nginx.conf"
    )
    again = playbook(lab, "-l", host, "--tags", "packages,nginx", timeout=900)
    assert again.rc == 0 and again.recap[host]["changed"] == 0, again.changed_tasks()


def _json_on(lab: Any, host: str, path: str) -> Any:
    result = lab.ssh(host, f"cat {path}")
    assert result.returncode == 0, f"{host}: cannot read {path}: {result.stderr}"
    return json.loads(result.stdout)


def test_kernel_level_controls_are_recorded_not_applicable_on_containers_only(
    second_run: dict[str, Run], lab: Any, container: str, vm: str
) -> None:
    from jamaa.controls import load_catalogue

    kernel = {c.id for c in load_catalogue(REPO / "policies" / "controls").host_controls() if c.kernel_level}
    on_container = _json_on(lab, container, "/etc/jamaa/not-applicable.json")
    missing = sorted(kernel - set(on_container))
    assert not missing, f"kernel-level controls not recorded on {container}: {missing}"
    assert all(on_container[c].startswith("not applicable: container") for c in kernel)
    on_vm = _json_on(lab, vm, "/etc/jamaa/not-applicable.json")
    assert not kernel & set(on_vm), (
        f"kernel-level controls marked not applicable on the VM: {kernel & set(on_vm)}"
    )
    waived = _json_on(lab, container, "/etc/jamaa/waivers.json")
    assert "HOST-SSH-021" in waived and waived["HOST-SSH-021"]["owner"], waived


STICK = "QEMU USB HARDDRIVE"  # the product name QEMU's usb-storage device reports
KEYBOARD = "QEMU USB Keyboard"


def _usb_authorized(lab: Any, vm: str) -> dict[str, str]:
    """Product name -> the kernel's `authorized` flag, for each USB device of the VM (sysfs)."""
    out = lab.ssh(
        vm,
        "for d in /sys/bus/usb/devices/*; do [ -f $d/product ] && "
        'printf "%s\\t%s\\n" "$(cat $d/product)" "$(cat $d/authorized)"; done; true',
    ).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


@pytest.fixture(scope="module")
def usb_stick(second_run: dict[str, Run], lab: Any, vm: str) -> Iterator[str]:
    """A USB stick plugged into the converged VM (QEMU's monitor), left in through the reboot test."""

    def wait_for(present: bool) -> None:
        deadline = time.monotonic() + 60
        while (STICK in _usb_authorized(lab, vm)) != present and time.monotonic() < deadline:
            time.sleep(1)

    if STICK in _usb_authorized(lab, vm):  # left in by an interrupted run: plug it in anew
        lab.unplug_usb_stick(vm)
        wait_for(False)
    lab.plug_usb_stick(vm)
    wait_for(True)
    yield STICK
    lab.unplug_usb_stick(vm)


def test_a_usb_stick_plugged_into_the_converged_vm_is_blocked_and_its_keyboard_is_not(
    lab: Any, vm: str, usb_stick: str
) -> None:
    devices = _usb_authorized(lab, vm)
    assert usb_stick in devices, f"the stick never appeared on {vm}'s USB bus: {devices}"
    assert devices[usb_stick] == "0", f"HOST-USB-002: the stick was authorised: {devices}"
    assert devices.get(KEYBOARD) == "1", f"HOST-USB-002: the console keyboard is not usable: {devices}"
    blocked = lab.ssh(vm, "usbguard list-devices --blocked").stdout
    assert usb_stick in blocked, f"usbguard does not list the stick as blocked: {blocked}"
    # The decision is logged with the device and the target.
    audit = lab.ssh(vm, f"grep -F 'name \"{usb_stick}\"' /var/log/usbguard/usbguard-audit.log")
    assert "target.new='block'" in audit.stdout, f"no block decision for the stick in the log: {audit.stdout}"


def test_after_a_rotation_the_usb_decision_log_is_still_roots_and_still_written(
    lab: Any, vm: str, usb_stick: str
) -> None:
    log = "/var/log/usbguard/usbguard-audit.log"
    rotated = lab.ssh(vm, f"logrotate --force /etc/logrotate.d/usbguard && stat -c '%a %U' {log}")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.split() == ["600", "root"], f"HOST-USB-004: {log} after rotation: {rotated.stdout}"
    # A decision after the rotation (the keyboard allowed again) lands in the log, not in a rotated copy.
    keyboard = lab.ssh(vm, f"usbguard list-devices | grep -F '{KEYBOARD}' | cut -d: -f1").stdout.strip()
    assert keyboard, "the keyboard is not in usbguard's device list"
    lab.ssh(vm, f"usbguard allow-device {keyboard}")
    written = lab.ssh(vm, f"grep -cF 'name \"{KEYBOARD}\"' {log}").stdout.strip()
    assert written not in ("", "0"), f"HOST-USB-004: the daemon no longer writes to {log} after a rotation"


def test_a_bad_usb_allow_rule_stops_the_run_and_leaves_the_policy_as_it_was(
    second_run: dict[str, Run], lab: Any, vm: str
) -> None:
    before = lab.ssh(vm, "usbguard list-rules").stdout
    bad = json.dumps({"usbguard_allow_rules": ["allow with-interfac equals { 08:*:* }"]})
    run = playbook(lab, "-l", vm, "--tags", "HOST-USB-002", "-e", bad, timeout=600)
    assert run.rc != 0, tail(run)
    assert "failed to validate" in run.output and "RuleParserError" in run.output, tail(run)
    assert run.recap[vm]["changed"] == 0, f"changes despite the bad rule: {run.changed_tasks()}"
    assert lab.ssh(vm, "usbguard list-rules").stdout == before


def _run_unit(lab: Any, vm: str, unit: str) -> tuple[str, str]:
    """Start a oneshot unit, wait for it; its Result and what this run wrote to the journal."""
    cursor = lab.ssh(vm, "journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'").stdout.strip()
    lab.ssh(vm, f"systemctl start {unit}", timeout=600)
    result = lab.ssh(vm, f"systemctl show -p Result --value {unit}").stdout.strip()
    logged = lab.ssh(vm, f"journalctl -q --no-pager -o cat -u {unit} --after-cursor='{cursor}'").stdout
    return result, logged


def test_the_confined_integrity_checks_still_find_a_changed_file_and_nothing_else(
    second_run: dict[str, Run], lab: Any, vm: str
) -> None:
    """HOST-AIDE-007 confines both checks (read-only, offline, one capability): they must still see every
    file they check. debsums once failed on every kernel module that ProtectKernelModules hid from it."""
    planted, shipped = "/etc/probe-aide-007.conf", "/usr/share/base-files/dot.bashrc"
    lab.ssh(
        vm, f"echo probe > {planted}; cp -a {shipped} /root/probe-dot.bashrc && echo '# probe' >> {shipped}"
    )
    try:
        result, logged = _run_unit(lab, vm, "jamaa-aide-check.service")
        assert result == "success", f"the confined AIDE check failed ({result}):\n{logged[-2000:]}"
        assert f": {planted}" in logged, f"AIDE did not report the file added to /etc:\n{logged[-2000:]}"
        result, logged = _run_unit(lab, vm, "jamaa-debsums-check.service")
        reported = [line for line in logged.splitlines() if line.startswith("debsums:")]
        assert result != "success" and reported == [
            f"debsums: changed file {shipped} (from base-files package)"
        ], f"the confined debsums check ({result}) should report {shipped} alone:\n{logged[-2000:]}"
    finally:
        lab.ssh(
            vm, f"rm -f {planted}; cp -a /root/probe-dot.bashrc {shipped} && rm -f /root/probe-dot.bashrc"
        )
    result, logged = _run_unit(lab, vm, "jamaa-debsums-check.service")
    assert result == "success", (
        f"the confined debsums check fails on intact packages ({result}):\n{logged[-2000:]}"
    )


VM_CHECKS = {
    "kernel.kptr_restrict": ("sysctl -n kernel.kptr_restrict", "2"),
    "kernel.yama.ptrace_scope": ("sysctl -n kernel.yama.ptrace_scope", "1"),
    "fs.suid_dumpable": ("sysctl -n fs.suid_dumpable", "0"),
    "/tmp noexec": ("findmnt -no OPTIONS /tmp | tr , '\\n' | grep -x noexec", "noexec"),
    "cramfs blocked": ("modprobe -n -v cramfs 2>&1 | tail -n 1", "install /bin/false"),
    "audit immutable": ("auditctl -s | awk '/^enabled/ {print $2}'", "2"),
    "audit identity rules": ("auditctl -l | grep -c -- '-k identity' | tr -d ' '", "8"),
    "USBGuard": ("systemctl is-active usbguard", "active"),
}


def test_vm_hardening_persists_after_a_reboot_and_ssh_works(
    second_run: dict[str, Run], lab: Any, vm: str, usb_stick: str
) -> None:
    def observed() -> dict[str, str]:
        return {name: lab.ssh(vm, command).stdout.strip() for name, (command, _) in VM_CHECKS.items()}

    expected = {name: value for name, (_, value) in VM_CHECKS.items()}
    assert observed() == expected, "the VM is not hardened before the reboot"
    boot_id = lab.ssh(vm, "cat /proc/sys/kernel/random/boot_id").stdout.strip()
    lab.ssh(vm, "systemd-run --on-active=2 --timer-property=AccuracySec=1s systemctl reboot", timeout=60)
    deadline = time.monotonic() + 420
    new_boot = ""
    while time.monotonic() < deadline:
        time.sleep(10)
        probe = lab.ssh(vm, "cat /proc/sys/kernel/random/boot_id", timeout=30)
        if probe.returncode == 0 and probe.stdout.strip() not in ("", boot_id):
            new_boot = probe.stdout.strip()
            break
    assert new_boot, f"{vm} did not come back over SSH within 420 s after a reboot"
    lab.ssh(vm, "systemctl is-system-running --wait", timeout=300)
    assert observed() == expected, "hardening lost across the reboot"
    chrony = lab.ssh(vm, "systemctl is-active chrony auditd")
    assert chrony.stdout.split() == ["active", "active"], chrony.stdout
    # Present at boot, the stick goes through the policy again (PresentDevicePolicy=apply-policy).
    assert _usb_authorized(lab, vm).get(usb_stick) == "0", "HOST-USB-002: the stick is usable after a reboot"
