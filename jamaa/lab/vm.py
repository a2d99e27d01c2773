"""The lab's virtual machine: QEMU (TCG software emulation; KVM only when asked and working).

The VM boots the kernel and initrd copied out of its own disk image, from a qcow2 overlay over the
cached disk (each boot attempt starts from a fresh overlay). Like an EC2 commune server it has a second,
empty disk (the data volume, `servers.disk.data_volume_gb` of environments/lab) and boots with the
commune server's cloud-init user data (jamaa.cloudinit: the document the launch templates carry),
handed over through cloud-init's NoCloud data source: a `cidata` seed disk made by `cloud-localds`.
At first boot the document lays the data volume out (/home, /tmp, /var, /var/tmp, /var/log,
/var/log/audit with their CIS options). Two NICs: QEMU's user-mode NAT (the way
out to Debian's archive, and SSH on a loopback port forward) and a tap device on the LAN bridge. The
kernel command line carries the host's name (`systemd.hostname=`) and LAN address (`jamaa.lan=MAC,IP/N`,
turned into a networkd file by the image's `jamaa-lab-net` unit).

Like a physical commune server it has a USB controller with a keyboard on it, and a USB stick that is
not plugged in yet: `plug_usb_stick` plugs it in through QEMU's monitor (QMP, a Unix socket in the
host's directory), as somebody in the town hall would, so the USB policy is tested on a device that
arrives after the converge.

Boots under TCG are not always clean (an early oops was seen once in a few boots): the serial log is
watched for "Kernel panic", and a panicked boot, or one that does not answer SSH in time (a boot
still writing to its console gets up to 3x `vm.boot_timeout_s`: on a busy machine TCG is slow, not
stuck), is retried on a fresh overlay, up to `vm.boot_attempts` times. A reboot the guest asks for
(`reboot`, e.g. to check that a setting persists) is an ordinary reboot on the same disk: QEMU keeps
running.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

from jamaa.cloudinit import render_user_data
from jamaa.config import load_environments
from jamaa.lab.image import Images
from jamaa.lab.network import attach_tap, lan_netns, ssh_banner
from jamaa.lab.profile import HostSpec, Profile
from jamaa.lab.state import HostRecord, LabState, ProcessRecord
from jamaa.lab.system import LabError, instance_id, is_alive, owner_env, run, start_time, stop_pid


def tap_prefix() -> str:
    """Tap devices live briefly in the host's namespace: named per lab instance (≤ 15 bytes)."""
    return f"jl{instance_id()}t"


SILENT_S = 60.0
LAB_ENVIRONMENT = "lab"  # environments/lab: the lab VM's disk layout and user data
PANIC_MARKS = ("Kernel panic", "end Kernel panic", "Fatal exception")


def vm_dir(lab_dir: Path, name: str) -> Path:
    return lab_dir / "hosts" / name


def qmp_socket(lab_dir: Path, name: str) -> Path:
    return vm_dir(lab_dir, name) / "qmp.sock"


def usb_stick_image(lab_dir: Path, name: str) -> Path:
    return vm_dir(lab_dir, name) / "stick.img"


USB_STICK_ID = "stick0"
USB_STICK_MB = 8


def _mac(prefix: str, index: int) -> str:
    return f"{prefix}:{index // 256:02x}:{index % 256:02x}"


def start_vm(
    state: LabState,
    lab_dir: Path,
    profile: Profile,
    host: HostSpec,
    index: int,
    images: Images,
    ssh_port: int,
) -> None:
    """Launch one boot attempt (QEMU daemonizes); `wait_vm` watches it."""
    if images.vm is None:
        raise LabError(f"{host.name}: the VM disk was not built")
    directory = vm_dir(lab_dir, host.name)
    directory.mkdir(parents=True, exist_ok=True)
    record = state.hosts.get(host.name)
    if record is None:
        record = HostRecord(
            name=host.name,
            kind="vm",
            role=host.role,
            lan_ip=str(host.lan_ip),
            netns=None,
            ssh_port=ssh_port,
            communes=list(host.communes),
            groups=host.ansible_groups,
            suite=profile.suite_of(host),
        )
        state.hosts[host.name] = record
    overlay = directory / "disk.qcow2"
    overlay.unlink(missing_ok=True)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", images.vm.disk.resolve(), overlay])
    seed, data_gb = write_seed(directory, host.name, Path(state.environments))
    data = directory / "data.qcow2"
    data.unlink(missing_ok=True)
    run(["qemu-img", "create", "-q", "-f", "qcow2", data, f"{data_gb}G"])
    stick = usb_stick_image(lab_dir, host.name)
    stick.unlink(missing_ok=True)
    run(["qemu-img", "create", "-q", "-f", "raw", stick, f"{USB_STICK_MB}M"])
    qmp = qmp_socket(lab_dir, host.name)
    qmp.unlink(missing_ok=True)
    console = lab_dir / "logs" / f"{host.name}.console.log"
    console.unlink(missing_ok=True)
    pidfile = directory / "qemu.pid"
    pidfile.unlink(missing_ok=True)
    tap = f"{tap_prefix()}{index}"
    run(["ip", "link", "del", tap], check=False)
    run(["ip", "-n", lan_netns(), "link", "del", tap], check=False)  # a previous boot's, on the bridge
    run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
    lan_mac = _mac("52:54:00:77", index)
    cmdline = (
        f"root=/dev/vda rw console=ttyS0 panic=1 systemd.hostname={host.name} "
        f"jamaa.lan={lan_mac},{host.lan_ip}/{profile.lan.cidr.prefixlen}"
    )
    accel = "kvm" if profile.vm.accel == "kvm" else "tcg,tb-size=256"
    argv = [
        "qemu-system-x86_64", "-name", host.name, "-accel", accel, "-cpu", profile.vm.cpu_model,
        "-m", str(profile.vm.memory_mb), "-smp", str(profile.vm.cpus),
        "-nodefaults", "-no-user-config", "-display", "none",
        "-kernel", str(images.vm.kernel), "-initrd", str(images.vm.initrd), "-append", cmdline,
        "-drive", f"file={overlay},if=virtio,format=qcow2,cache=unsafe",
        "-drive", f"file={data},if=virtio,format=qcow2,cache=unsafe",
        "-drive", f"file={seed},if=virtio,format=raw,readonly=on",
        "-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0",
        "-netdev", f"user,id=nat,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
        "-device", f"virtio-net-pci,netdev=nat,mac={_mac('52:54:00:12', index)}",
        "-netdev", f"tap,id=lan,ifname={tap},script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev=lan,mac={lan_mac}",
        "-device", "qemu-xhci,id=usb", "-device", "usb-kbd,bus=usb.0",
        "-qmp", f"unix:{qmp},server=on,wait=off",
        "-serial", f"file:{console}", "-monitor", "none",
        "-daemonize", "-pidfile", str(pidfile),
    ]  # fmt: skip
    log = lab_dir / "logs" / f"{host.name}.qemu.log"
    try:
        run(argv, log=log, timeout=60, env=owner_env(lab_dir))
        pid = int(pidfile.read_text().strip())
        state.processes.append(ProcessRecord(name=f"qemu:{host.name}", pid=pid, started=start_time(pid)))
        attach_tap(tap)
    except (LabError, OSError, ValueError) as error:
        run(["ip", "link", "del", tap], check=False)
        raise LabError(f"{host.name}: QEMU did not start: {error} (see {log})") from None
    record.boots += 1


def monitor(
    lab_dir: Path, name: str, command: str, arguments: dict[str, object] | None = None, timeout: float = 15.0
) -> object:
    """Run one QMP command on a lab VM's QEMU and return its result (LabError on an error reply)."""
    path = qmp_socket(lab_dir, name)
    if not path.exists():
        raise LabError(f"{name}: no QEMU monitor at {path} (is it a lab VM, and is it up?)")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        stream = sock.makefile("rwb")

        def ask(request: dict[str, object]) -> object:
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()
            while True:  # asynchronous events may come first
                line = stream.readline()
                if not line:
                    raise LabError(f"{name}: QEMU closed its monitor during {request['execute']}")
                reply = json.loads(line)
                if "error" in reply:
                    raise LabError(f"{name}: QMP {request['execute']}: {reply['error'].get('desc', reply)}")
                if "return" in reply:
                    return reply["return"]

        stream.readline()  # the greeting
        ask({"execute": "qmp_capabilities"})
        request: dict[str, object] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        return ask(request)


def plug_usb_stick(lab_dir: Path, name: str) -> None:
    """Plug the VM's USB stick into its USB controller (hot-plug, as a person would). Its disk is
    attached to QEMU first, under a new node name each time (QEMU keeps a node after an unplug)."""
    node = f"stick-{time.monotonic_ns()}"
    disk = {"driver": "file", "filename": str(usb_stick_image(lab_dir, name))}
    monitor(lab_dir, name, "blockdev-add", {"driver": "raw", "node-name": node, "file": disk})
    stick: dict[str, object] = {"driver": "usb-storage", "drive": node, "bus": "usb.0", "id": USB_STICK_ID}
    monitor(lab_dir, name, "device_add", stick)


def unplug_usb_stick(lab_dir: Path, name: str) -> None:
    monitor(lab_dir, name, "device_del", {"id": USB_STICK_ID})


def write_seed(directory: Path, name: str, environments: Path) -> tuple[Path, int]:
    """The NoCloud seed disk (user-data: the commune server's document rendered from environments/lab;
    meta-data: instance id and host name). Returns the seed and the data volume's size in GiB."""
    disk = load_environments(environments).environments[LAB_ENVIRONMENT].servers.disk
    user_data = directory / "user-data"
    user_data.write_text(render_user_data(LAB_ENVIRONMENT, disk), encoding="utf-8")
    meta_data = directory / "meta-data"
    meta_data.write_text(f"instance-id: jamaa-lab-{name}\nlocal-hostname: {name}\n", encoding="utf-8")
    seed = directory / "seed.img"
    seed.unlink(missing_ok=True)
    run(["cloud-localds", seed, user_data, meta_data])
    return seed, disk.data_volume_gb


def stop_vm(state: LabState, name: str) -> bool:
    """Stop QEMU (its disk is a throw-away overlay). Returns whether it was running."""
    record = state.process(f"qemu:{name}")
    return record is not None and stop_pid(record.pid, record.started, grace=10.0)


def wait_vm(
    state: LabState,
    lab_dir: Path,
    profile: Profile,
    host: HostSpec,
    index: int,
    images: Images,
    note: Callable[[str], None],
) -> float:
    """Wait for the VM's SSH; retry a panicked or silent boot. Returns seconds since the last start."""
    record = state.hosts[host.name]
    assert record.ssh_port is not None
    console = lab_dir / "logs" / f"{host.name}.console.log"
    problems: list[str] = []
    while True:
        started = time.monotonic()
        process = state.process(f"qemu:{host.name}")
        timeout = profile.vm.boot_timeout_s
        failure = None
        seen, last_output = 0, started
        while True:
            now = time.monotonic()
            text = console.read_text(errors="replace") if console.exists() else ""
            if len(text) != seen:
                seen, last_output = len(text), now
            # past the timeout, a boot still writing to its console is slow (a busy machine), not
            # stuck: it gets up to 3x the timeout, as long as the console is not silent for a minute
            if now - started > timeout and (now - last_output > SILENT_S or now - started > 3 * timeout):
                failure = f"boot {record.boots}: no SSH within {now - started:.0f} s"
                break
            mark = next((m for m in PANIC_MARKS if m in text), None)
            if mark is not None:
                failure = f"boot {record.boots}: {mark!r} on the serial console"
                break
            if process is None or not is_alive(process.pid, process.started):
                failure = f"boot {record.boots}: QEMU exited"
                break
            if ssh_banner(record.ssh_port):
                return time.monotonic() - started
            time.sleep(1.0)
        problems.append(failure)
        stop_vm(state, host.name)
        if console.exists():
            console.rename(console.with_name(f"{host.name}.console.boot{record.boots}.log"))
        if record.boots >= profile.vm.boot_attempts:
            raise LabError(
                f"{host.name}: VM did not boot: {'; '.join(problems)} (serial logs in {console.parent})"
            )
        note(f"{host.name}: {failure}; booting again")
        start_vm(state, lab_dir, profile, host, index, images, record.ssh_port)
