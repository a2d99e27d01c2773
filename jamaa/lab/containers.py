"""Commune servers (and the attacker) as systemd-nspawn containers.

Each container boots real systemd as PID 1 from an overlay over the cached rootfs (the attacker's
overlay adds its tools layer), in its own network namespace (see `jamaa.lab.network`). The host's
PID 1 is not systemd, hence `--register=no --keep-unit`. `CAP_NET_ADMIN` with a private network lets
the roles load nftables rulesets and set `net.*` sysctls; `kernel.*` sysctls, modules and reboot stay
out of a container's reach (that is the VM's job).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from jamaa.lab.image import Images
from jamaa.lab.network import add_hostfwd, attach_container, host_netns, start_slirp
from jamaa.lab.network import add_netns as add_namespace
from jamaa.lab.profile import HostSpec, Profile
from jamaa.lab.state import HostRecord, LabState
from jamaa.lab.system import LabError, kill_all, owner_env, pids_rooted_under, run, stop_pid, unmount_under


def host_dir(lab_dir: Path, name: str) -> Path:
    return lab_dir / "hosts" / name


def _etc_hosts(profile: Profile, host: HostSpec) -> str:
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{host.name}", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{h.lan_ip}\t{h.name}.lab" for h in profile.hosts if h.name != host.name]
    lines.append(f"{profile.lan.service_ip}\ts3.lab")
    return "\n".join(lines) + "\n"


def create_container(
    state: LabState,
    lab_dir: Path,
    profile: Profile,
    host: HostSpec,
    index: int,
    images: Images,
    ssh_port: int | None,
) -> None:
    """Overlay root, network namespace, LAN link, way out and SSH forward; then boot."""
    directory = host_dir(lab_dir, host.name)
    if directory.exists():
        unmount_under(directory)
        shutil.rmtree(directory)
    upper, work, root = directory / "upper", directory / "work", directory / "root"
    for d in (upper / "etc", work, root):
        d.mkdir(parents=True)
    (upper / "etc/hostname").write_text(host.name + "\n")
    (upper / "etc/hosts").write_text(_etc_hosts(profile, host))
    lower = str(images.base.rootfs)
    if host.role == "attacker":
        if images.attacker is None:
            raise LabError(f"{host.name}: the attacker's layer was not built")
        lower = f"{images.attacker.layer}:{lower}"
    run(
        ["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", root]
    )
    state.mounts.append(str(root))
    netns = host_netns(host.name)
    add_namespace(state, netns)
    attach_container(netns, index, host.lan_ip, profile.lan.cidr)
    if host.has_way_out:
        if ssh_port is None:
            raise LabError(f"{host.name}: no SSH port allocated")
        api = start_slirp(state, host.name, netns, lab_dir)
        add_hostfwd(api, ssh_port)
    state.hosts[host.name] = HostRecord(
        name=host.name,
        kind="container",
        role=host.role,
        lan_ip=str(host.lan_ip),
        netns=netns,
        ssh_port=ssh_port if host.has_way_out else None,
        root=str(root),
        communes=list(host.communes),
        groups=host.ansible_groups,
        suite=profile.suite_of(host),
    )
    boot_container(state, lab_dir, host.name)


def boot_container(state: LabState, lab_dir: Path, name: str) -> None:
    record = state.hosts[name]
    if record.root is None or record.netns is None:
        raise LabError(f"{name}: not a container")
    log = lab_dir / "logs" / f"{name}.console.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot", "--console=passive",
             "--resolv-conf=off", "--timezone=off", "--link-journal=no", f"--machine={name}",
             "-D", record.root, f"--network-namespace-path=/run/netns/{record.netns}",
             "--private-network", "--capability=CAP_NET_ADMIN"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env=owner_env(lab_dir),
        )  # fmt: skip
    state.add_process(f"nspawn:{name}", proc.pid)
    record.boots += 1


def stop_container(state: LabState, name: str, grace: float = 20.0) -> bool:
    """Power the container off (SIGTERM to nspawn), then make sure nothing of it is left running.

    Returns whether it was running."""
    record = state.process(f"nspawn:{name}")
    was_running = record is not None and stop_pid(record.pid, record.started, grace=grace)
    host = state.hosts.get(name)
    if host is not None and host.root is not None:
        kill_all(pids_rooted_under(Path(host.root)))
    return was_running
