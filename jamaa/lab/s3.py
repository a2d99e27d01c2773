"""The lab's S3-compatible endpoint: moto's server, living on the LAN.

Where it runs: inside the LAN namespace (`jamaa-INSTANCE-lan`), listening on port `s3.port` of every address
there, so the hosts reach it at `http://LAN.SERVICE_IP:PORT` (default http://192.168.77.1:9000),
exactly like object storage on a commune's network. The controller (tests, `jamaa` itself) reaches
the same server at `http://127.0.0.1:CONTROLLER_PORT` through two socat relays joined by a Unix
socket (a Unix socket crosses namespaces; nothing joins the LAN to the host's network).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from jamaa.lab.network import lan_netns
from jamaa.lab.state import LabState
from jamaa.lab.system import LabError, owner_env


def _spawn(state: LabState, name: str, argv: list[str], log: Path, owner: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=owner_env(owner),
        )
    state.add_process(name, proc.pid)
    return proc


def start_s3(state: LabState, lab_dir: Path, port: int, controller_port: int) -> None:
    s3_dir = lab_dir / "s3"
    s3_dir.mkdir(parents=True, exist_ok=True)
    relay = s3_dir / "relay.sock"
    relay.unlink(missing_ok=True)
    log = lab_dir / "logs" / "s3.log"
    moto = _spawn(
        state,
        "moto",
        [
            "ip",
            "netns",
            "exec",
            lan_netns(),
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            "0.0.0.0",
            "-p",
            str(port),
        ],
        log,
        lab_dir,
    )
    _spawn(
        state,
        "s3-relay-lan",
        [
            "ip",
            "netns",
            "exec",
            lan_netns(),
            "socat",
            f"UNIX-LISTEN:{relay},fork,unlink-early",
            f"TCP:127.0.0.1:{port}",
        ],
        log,
        lab_dir,
    )
    _spawn(
        state,
        "s3-relay-controller",
        ["socat", f"TCP-LISTEN:{controller_port},bind=127.0.0.1,fork,reuseaddr", f"UNIX-CONNECT:{relay}"],
        log,
        lab_dir,
    )
    state.s3_controller_port = controller_port
    deadline = time.monotonic() + 30
    url = f"http://127.0.0.1:{controller_port}/"
    while time.monotonic() < deadline:
        if moto.poll() is not None:
            raise LabError(f"S3 endpoint: moto's server exited {moto.returncode} (see {log})")
        if s3_answers(url):
            return
        time.sleep(0.2)
    raise LabError(f"S3 endpoint: no answer on {url} within 30 s (see {log})")


def s3_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
