"""The lab's networks: a private LAN in a namespace of its own, and each host's way out.

- LAN: netns `jamaa-INSTANCE-lan` (INSTANCE: six hex digits from the cache directory, so labs of
  two cache directories never meet) holds bridge `br0` (address `lan.service_ip`, where the S3
  endpoint listens). Each container gets its own netns `jamaa-INSTANCE-h-NAME` with `lan0`, one end
  of a veth pair whose other end is on `br0`. The VM's LAN NIC is a tap device on `br0`. The LAN
  namespace does no routing (ip_forward stays 0 in a new namespace), so the LAN leads nowhere but to
  its members.
- Way out (commune servers only): slirp4netns on `tap0` in the container's netns (10.0.2.100, DNS
  10.0.2.3, host loopback disabled), plus an SSH port forward 127.0.0.1:PORT → :22 through its API
  socket. The VM uses QEMU's user-mode NAT instead. The attacker has no way out: the controller
  reaches it through its netns (`ip netns exec jamaa-INSTANCE-h-attacker nc 127.0.0.1 22`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import subprocess
import time
from pathlib import Path

from jamaa.lab.state import LabState
from jamaa.lab.system import LabError, netns_prefix, owner_env, run

BRIDGE = "br0"


def lan_netns() -> str:
    return f"{netns_prefix()}lan"


def host_netns(name: str) -> str:
    return f"{netns_prefix()}h-{name}"


def lan_peer(index: int) -> str:
    """The LAN-side end of host number `index`'s veth (interface names are at most 15 bytes)."""
    return f"veth{index}"


def add_netns(state: LabState, name: str) -> None:
    run(["ip", "netns", "add", name])
    state.netns.append(name)
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def create_lan(
    state: LabState, cidr: ipaddress.IPv4Network, service_ip: ipaddress.IPv4Address, lab_dir: Path
) -> None:
    add_netns(state, lan_netns())
    run(["ip", "-n", lan_netns(), "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "-n", lan_netns(), "addr", "add", f"{service_ip}/{cidr.prefixlen}", "dev", BRIDGE])
    run(["ip", "-n", lan_netns(), "link", "set", BRIDGE, "up"])


def attach_container(
    netns: str, index: int, lan_ip: ipaddress.IPv4Address, cidr: ipaddress.IPv4Network
) -> None:
    """veth `lan0` in the host's netns ↔ `vethN` on the LAN bridge."""
    peer = lan_peer(index)
    run(
        [
            "ip",
            "link",
            "add",
            "lan0",
            "netns",
            netns,
            "type",
            "veth",
            "peer",
            "name",
            peer,
            "netns",
            lan_netns(),
        ]
    )
    run(["ip", "-n", lan_netns(), "link", "set", peer, "master", BRIDGE, "up"])
    run(["ip", "-n", netns, "addr", "add", f"{lan_ip}/{cidr.prefixlen}", "dev", "lan0"])
    run(["ip", "-n", netns, "link", "set", "lan0", "up"])


def attach_tap(tap: str) -> None:
    """Move a tap device (already opened by QEMU in the root namespace) onto the LAN bridge."""
    run(["ip", "link", "set", tap, "netns", lan_netns()])
    run(["ip", "-n", lan_netns(), "link", "set", tap, "master", BRIDGE, "up"])


def start_slirp(state: LabState, host: str, netns: str, lab_dir: Path) -> Path:
    """slirp4netns on tap0 in `netns`: the container's way out. Returns its API socket."""
    api = lab_dir / "hosts" / host / "slirp.sock"
    api.unlink(missing_ok=True)
    log = lab_dir / "logs" / f"{host}.slirp.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
             "--netns-type=path", "--api-socket", str(api), f"/run/netns/{netns}", "tap0"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env=owner_env(lab_dir),
        )  # fmt: skip
    state.add_process(f"slirp4netns:{host}", proc.pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"{host}: slirp4netns exited {proc.returncode} (see {log})")
        if (
            api.exists()
            and "10.0.2.100" in run(["ip", "-n", netns, "-4", "addr", "show", "tap0"], check=False).stdout
        ):
            return api
        time.sleep(0.05)
    raise LabError(f"{host}: slirp4netns did not configure tap0 within 15 s (see {log})")


def add_hostfwd(api: Path, host_port: int, guest_port: int = 22) -> None:
    request = {
        "execute": "add_hostfwd",
        "arguments": {
            "proto": "tcp",
            "host_addr": "127.0.0.1",
            "host_port": host_port,
            "guest_port": guest_port,
        },
    }
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(api))
        sock.sendall(json.dumps(request).encode())
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    answer = json.loads(reply or b"{}")
    if "error" in answer or "return" not in answer:
        raise LabError(f"slirp4netns refused the port forward 127.0.0.1:{host_port}: {answer}")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def allocate_ports(base: int, count: int, taken: set[int] | None = None) -> list[int]:
    """`count` free loopback ports from `base` upwards."""
    ports: list[int] = []
    port = base
    taken = taken or set()
    while len(ports) < count:
        if port > 65535:
            raise LabError(f"no free loopback port at or above {base}")
        if port not in taken and port_free(port):
            ports.append(port)
        port += 1
    return ports


def ssh_banner(port: int, timeout: float = 2.0) -> bool:
    """True once something answers on 127.0.0.1:PORT with an SSH banner."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        return sock.recv(64).startswith(b"SSH-")
    return False
