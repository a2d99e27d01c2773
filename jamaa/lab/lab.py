"""Bringing the lab up, asking how it is, and taking it down.

`up` is a no-op when the same profile is already up and healthy; after a crash it first undoes what is
left, then starts afresh. `down` stops what `state.json` lists (by PID, checked against start time),
unmounts, deletes the namespaces, then sweeps anything only the lab could have made; it is safe to run
twice, or with no state at all. `leftovers()` lists what would still be there, for tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jamaa.lab.containers import boot_container, create_container, stop_container
from jamaa.lab.generated import INVENTORY, SSH_CONFIG, remove_generated, s3_endpoints, write_generated
from jamaa.lab.image import ImageBuilder, Images, controller_key
from jamaa.lab.network import allocate_ports, create_lan
from jamaa.lab.profile import DEFAULT_PROFILE, Profile, load_named_profile
from jamaa.lab.s3 import start_s3
from jamaa.lab.state import HostRecord, LabState, load_state, save_state
from jamaa.lab.system import (
    NETNS_DIR,
    LabError,
    cache_dir,
    delete_netns,
    ensure_inotify_instances,
    kill_all,
    lab_netns,
    locked,
    mounts_under,
    pids_owned_by,
    pids_rooted_under,
    require_root,
    require_tools,
    run,
    stop_pid,
    terminate,
    unmount_under,
    wait_all_gone,
)
from jamaa.lab.vm import plug_usb_stick, start_vm, stop_vm, tap_prefix, unplug_usb_stick, wait_vm

HOST_TOOLS = (
    "systemd-nspawn", "slirp4netns", "socat", "nc", "ip", "ssh",
    "cloud-localds", "qemu-system-x86_64", "qemu-img",  # the VM's (the last three)
)  # fmt: skip
Note = Callable[[str], None]


def lab_dir() -> Path:
    return cache_dir() / "lab"


def logs_dir() -> Path:
    return lab_dir() / "logs"


@dataclass(frozen=True)
class UpResult:
    state: LabState
    profile: Profile
    already_up: bool
    images: dict[str, Images] | None  # per Debian suite in use
    seconds: float
    host_seconds: dict[str, float]


class Lab:
    def __init__(self, environments: Path = Path("environments"), note: Note | None = None) -> None:
        self.environments = environments.resolve()
        self.note: Note = note or (lambda _msg: None)
        self.dir = lab_dir()

    @property
    def generated(self) -> Path:
        return self.environments / "lab" / "generated"

    # -- up ----------------------------------------------------------------------------------------
    def up(self, profile_name: str = DEFAULT_PROFILE) -> UpResult:
        require_root("jamaa lab up")
        profile = load_named_profile(self.environments, profile_name)
        require_tools(HOST_TOOLS if profile.vms else HOST_TOOLS[:-3])
        started = time.monotonic()
        with locked(self.dir / ".lock"):
            state = load_state(self.dir)
            if state is not None and state.ready and not state.dead_processes():
                if state.profile != profile.name:
                    raise LabError(
                        f"the lab is up with profile {state.profile!r}, not {profile.name!r}: "
                        "run `jamaa lab down` first"
                    )
                write_generated(state, profile, controller_key(cache_dir()))  # same content: idempotent
                return UpResult(state, profile, True, None, time.monotonic() - started, {})
            if state is not None or leftovers():
                self.note("cleaning up what a previous lab left behind")
                self._teardown()
            images = {
                suite: ImageBuilder(profile.for_suite(suite), cache_dir(), note=self.note).ensure()
                for suite in profile.suites
            }
            containers = len(profile.hosts) - len(profile.vms)
            raised_from = ensure_inotify_instances(containers)
            if raised_from is not None:
                self.note(f"fs.inotify.max_user_instances raised from {raised_from} for {containers} hosts")
            try:
                state, host_seconds = self._start(profile, images)
            except BaseException as error:
                self.note(f"up failed ({error}); taking down what was started")
                self._teardown()
                if isinstance(error, LabError):
                    raise LabError(f"{error} (logs in {logs_dir()})") from None
                raise
        return UpResult(state, profile, False, images, time.monotonic() - started, host_seconds)

    def _start(self, profile: Profile, by_suite: dict[str, Images]) -> tuple[LabState, dict[str, float]]:
        shutil.rmtree(logs_dir(), ignore_errors=True)
        logs_dir().mkdir(parents=True)
        state = LabState(
            profile=profile.name,
            suite=profile.suite,
            environments=str(self.environments),
            generated=str(self.generated),
            lan_cidr=str(profile.lan.cidr),
            service_ip=str(profile.lan.service_ip),
            s3_port=profile.s3.port,
        )
        save_state(self.dir, state)
        key = controller_key(cache_dir())
        reachable = [h for h in profile.hosts if h.has_way_out]
        ports = allocate_ports(profile.ssh_port_base, len(reachable) + 1)
        port_of = {h.name: ports[i] for i, h in enumerate(reachable)}
        t0 = time.monotonic()
        self.note("LAN and S3 endpoint")
        create_lan(state, profile.lan.cidr, profile.lan.service_ip, self.dir)
        save_state(self.dir, state)
        start_s3(state, self.dir, profile.s3.port, ports[-1])
        save_state(self.dir, state)
        index = {h.name: i for i, h in enumerate(profile.hosts)}
        images = {h.name: by_suite[profile.suite_of(h)] for h in profile.hosts}
        for host in profile.vms:  # the slow one first, so it boots while the containers start
            self.note(f"{host.name}: booting the VM")
            start_vm(state, self.dir, profile, host, index[host.name], images[host.name], port_of[host.name])
            save_state(self.dir, state)
        for host in profile.containers:
            self.note(f"{host.name}: booting the container (Debian {profile.suite_of(host)})")
            create_container(
                state, self.dir, profile, host, index[host.name], images[host.name], port_of.get(host.name)
            )
            save_state(self.dir, state)
        write_generated(state, profile, key)
        seconds: dict[str, float] = {}
        for host in profile.containers:
            self.note(f"{host.name}: waiting for systemd")
            self._wait_running(state, profile, host.name, images[host.name], index[host.name])
            seconds[host.name] = time.monotonic() - t0
        for host in profile.vms:
            self.note(f"{host.name}: waiting for the VM (software emulation: about a minute)")
            wait_vm(state, self.dir, profile, host, index[host.name], images[host.name], self.note)
            save_state(self.dir, state)
            self._wait_running(state, profile, host.name, images[host.name], index[host.name])
            seconds[host.name] = time.monotonic() - t0
        state.hosts = {h.name: state.hosts[h.name] for h in profile.hosts}  # the profile's order
        state.ready = True
        save_state(self.dir, state)
        return state, seconds

    def ssh(
        self, state: LabState, host: str, command: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        config = Path(state.generated) / SSH_CONFIG
        return run(
            ["ssh", "-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", host, command],
            check=False,
            timeout=timeout,
        )

    def _wait_for_ssh(self, state: LabState, host: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                proc = self.ssh(state, host, "true", timeout=15)
            except subprocess.TimeoutExpired:
                continue
            if proc.returncode == 0:
                return
            last = (proc.stderr or proc.stdout).strip()
            time.sleep(0.3)
        raise LabError(f"{host}: no SSH within {timeout:.0f} s: {last}")

    def _wait_running(self, state: LabState, profile: Profile, name: str, images: Images, index: int) -> None:
        """Wait for `systemctl is-system-running` = running; a degraded boot is retried once."""
        record = state.hosts[name]
        timeout = profile.vm.boot_timeout_s if record.kind == "vm" else 60
        while True:
            self._wait_for_ssh(state, name, timeout)
            try:
                proc = self.ssh(state, name, "systemctl is-system-running --wait", timeout=3 * timeout)
                status = proc.stdout.strip() or proc.stderr.strip()
            except subprocess.TimeoutExpired:
                status = "starting (timed out)"
            if status == "running":
                return
            failed = self.ssh(state, name, "systemctl --failed --plain --no-legend", timeout=30).stdout
            units = (
                ", ".join(line.split()[0] for line in failed.splitlines() if line.strip()) or "none listed"
            )
            if record.boots >= 2:
                raise LabError(
                    f"{name}: systemd is {status!r} after {record.boots} boots (failed units: {units})"
                )
            self.note(f"{name}: systemd is {status!r} (failed units: {units}); booting it once more")
            if record.kind == "container":
                stop_container(state, name)
                boot_container(state, self.dir, name)
            else:
                host = profile.host(name)
                stop_vm(state, name)
                start_vm(state, self.dir, profile, host, index, images, record.ssh_port or 0)
                wait_vm(state, self.dir, profile, host, index, images, self.note)
            save_state(self.dir, state)

    # -- status ------------------------------------------------------------------------------------
    def status(self) -> tuple[LabState | None, dict[str, str]]:
        """The recorded state and, per host, what it says now (running, degraded, down…)."""
        state = load_state(self.dir)
        if state is None:
            return None, {}
        result: dict[str, str] = {}
        for name, host in state.hosts.items():
            process = state.process(("nspawn:" if host.kind == "container" else "qemu:") + name)
            if process is None or not process.alive():
                result[name] = "down"
                continue
            try:
                proc = self.ssh(state, name, "systemctl is-system-running", timeout=20)
                result[name] = proc.stdout.strip() or "unreachable"
            except subprocess.TimeoutExpired:
                result[name] = "unreachable"
        moto = state.process("moto")
        result["s3"] = "running" if moto is not None and moto.alive() else "down"
        return state, result

    # -- down --------------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop everything the lab started. Returns what was stopped or removed (for the user)."""
        require_root("jamaa lab down")
        with locked(self.dir / ".lock"):
            return self._teardown()

    def _teardown(self) -> list[str]:
        done: list[str] = []
        state = load_state(self.dir)
        if state is not None:
            # hosts first, all at once (containers power off cleanly), then the services and relays
            machines = {
                name: state.process(("nspawn:" if host.kind == "container" else "qemu:") + name)
                for name, host in state.hosts.items()
            }
            running = {name: p is not None and p.alive() for name, p in machines.items()}
            for process in machines.values():
                if process is not None:
                    terminate(process.pid, process.started)
            # one deadline for all: a host still powering off after it is killed
            wait_all_gone([(p.pid, p.started) for p in machines.values() if p is not None], 20.0)
            for name, host in state.hosts.items():
                if host.kind == "container":
                    stop_container(state, name, grace=1.0)
                else:
                    stop_vm(state, name)
                if running[name]:
                    kind = "nspawn" if host.kind == "container" else "qemu"
                    done.append(f"stopped {kind}:{name}")
            for record in reversed(state.processes):
                if stop_pid(record.pid, record.started, grace=5.0):
                    done.append(f"stopped {record.name} (pid {record.pid})")
            remove_generated(Path(state.generated))
        hosts = self.dir / "hosts"
        stray = pids_rooted_under(hosts) + pids_owned_by(self.dir)
        if stray:
            kill_all(stray)
            done.append(f"stopped {len(stray)} stray process(es)")
        for point in mounts_under(self.dir):
            unmount_under(point)
            done.append(f"unmounted {point}")
        recorded = [n for n in (state.netns if state is not None else []) if (NETNS_DIR / n).exists()]
        for name in sorted({*recorded, *lab_netns()}):
            delete_netns(name)
            done.append(f"deleted netns {name}")
        for tap in _root_taps():
            run(["ip", "link", "del", tap], check=False)
            done.append(f"deleted {tap}")
        if hosts.exists():
            shutil.rmtree(hosts)
        (self.dir / "state.json").unlink(missing_ok=True)
        return done


def _root_taps() -> list[str]:
    proc = run(["ip", "-o", "link", "show"], check=False)
    names = [line.split(":")[1].strip().split("@")[0] for line in proc.stdout.splitlines() if ":" in line]
    return [n for n in names if n.startswith(tap_prefix())]


def leftovers() -> list[str]:
    """What the lab would leave behind: processes, mounts, namespaces, tap devices. Empty when clean."""
    directory = lab_dir()
    found = [f"process {pid}" for pid in pids_rooted_under(directory / "hosts")]
    found += [f"process {pid}" for pid in pids_owned_by(directory)]
    found += [f"mount {point}" for point in mounts_under(directory)]
    found += [f"netns {name}" for name in lab_netns()]
    found += [f"link {tap}" for tap in _root_taps()]
    return sorted(set(found))


@dataclass(frozen=True)
class LabHandle:
    """A running lab as host test suites see it (the `lab` fixture of tests/conftest.py yields one)."""

    inventory: Path
    ssh_config: Path
    ssh_key: Path
    hosts: dict[str, HostRecord]
    s3: dict[str, str]  # lan, controller (endpoints), region, access_key_id, secret_access_key
    profile: str
    environments: Path

    def group(self, name: str) -> list[str]:
        """Host names in an inventory group (commune_servers, containers, vms, attackers)."""
        return [h for h, record in self.hosts.items() if name in record.groups]

    def ssh(self, host: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a lab host as root (exit status and output, never raises on failure)."""
        if host not in self.hosts:
            raise LabError(f"{host!r} is not a lab host (hosts: {', '.join(self.hosts)})")
        return run(
            ["ssh", "-F", self.ssh_config, "-o", "BatchMode=yes", host, command], check=False, timeout=timeout
        )

    def plug_usb_stick(self, vm: str) -> None:
        """Plug a USB stick into a lab VM that is running (QEMU's monitor), as a visitor would."""
        plug_usb_stick(lab_dir(), vm)

    def unplug_usb_stick(self, vm: str) -> None:
        unplug_usb_stick(lab_dir(), vm)

    def converge_site(self, log: Path) -> int:
        """Run playbooks/site.yml on the lab's inventory (output to `log`); its exit status."""
        repo = self.environments.resolve().parent  # ansible.cfg and playbooks/ sit beside environments/
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            return subprocess.call(
                [
                    str(Path(sys.executable).parent / "ansible-playbook"),
                    "-i",
                    str(self.environments / "lab"),
                    str(repo / "playbooks" / "site.yml"),
                ],
                cwd=repo,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


def handle(state: LabState, profile: Profile) -> LabHandle:
    generated = Path(state.generated)
    endpoints = s3_endpoints(state)
    return LabHandle(
        inventory=generated / INVENTORY,
        ssh_config=generated / SSH_CONFIG,
        ssh_key=controller_key(cache_dir()),
        hosts=dict(state.hosts),
        s3={
            **endpoints,
            "region": profile.s3.region,
            "access_key_id": profile.s3.access_key_id,
            "secret_access_key": profile.s3.secret_access_key,
        },
        profile=state.profile,
        environments=Path(state.environments),
    )
