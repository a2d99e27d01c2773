"""Pull mode on a real Debian host of the lab, running the REAL playbooks/site.yml: the ansible_pull role
installs the pinned runtime (a virtualenv from constraints.txt, served to the host as a wheelhouse on the
lab LAN: the host reaches no package index) and the timer; the service applies a signed release of this
repository (its roles, collection, catalogue and the lab's waivers) to the host's own play, through the
commit-confirm path of the firewall; a second run changes nothing; an unsigned newer tag is refused."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrelease import Release, SourceRelease, export_key, new_key, run, stop_agents

from jamaa.paths import REPO

HOST = "srv-02"
WHEELHOUSE_PORT = 9380  # on the lab bridge's address (the S3 endpoint has 9000)
VENV = "/opt/jamaa-pull/venv"

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def push(lab: Any, release: Release, tmp: Path) -> None:
    """Publish the release repository on the host (file:// URL: the host only reaches the lab's hosts)."""
    bare = tmp / "release.git"
    shutil.rmtree(bare, ignore_errors=True)
    run(["git", "clone", "--quiet", "--bare", str(release.root), str(bare)])
    tar = subprocess.run(["tar", "-C", str(tmp), "-cf", "-", "release.git"], capture_output=True, check=True)
    proc = subprocess.run(
        [
            "ssh",
            "-F",
            str(lab.ssh_config),
            "-o",
            "BatchMode=yes",
            HOST,
            "rm -rf /srv/release.git && mkdir -p /srv && tar -C /srv -xf -",
        ],
        input=tar.stdout,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def wheelhouse_for(lab: Any) -> Path:
    """The pinned runtime's wheels for the host's Python (pip download with constraints.txt), cached in the
    lab's cache directory per constraints and Python version."""
    from jamaa.lab.system import cache_dir

    probe = lab.ssh(HOST, "python3 -c 'import sys; print(\"%d%d\" % sys.version_info[:2])'")
    assert probe.returncode == 0, probe.stderr
    pyver = probe.stdout.strip()
    pins = yaml.safe_load((REPO / "roles/ansible_pull/defaults/main.yml").read_text())[
        "ansible_pull_pip_packages"
    ]
    constraints = REPO / "constraints.txt"
    key = hashlib.sha256(constraints.read_bytes() + " ".join(pins).encode()).hexdigest()[:12]
    dest = cache_dir() / "pull-wheelhouse" / f"cp{pyver}-{key}"
    if not (dest / ".complete").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        platforms = [
            "manylinux2014_x86_64",
            "manylinux_2_17_x86_64",
            "manylinux_2_28_x86_64",
            "manylinux_2_34_x86_64",
        ]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--dest",
                str(dest),
            ]
            + [
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                pyver,
                "--abi",
                f"cp{pyver}",
            ]
            + [arg for platform in platforms for arg in ("--platform", platform)]
            + ["-c", str(constraints), *pins],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        (dest / ".complete").touch()
    return dest


@pytest.fixture
def wheelhouse_url(lab: Any) -> Iterator[str]:
    """The wheelhouse served over HTTP on the lab bridge's address, inside the LAN's namespace only."""
    from jamaa.lab.network import lan_netns

    directory = wheelhouse_for(lab)
    address = urllib.parse.urlsplit(lab.s3["lan"]).hostname
    serve = ["http.server", "--bind", str(address), "--directory", str(directory), str(WHEELHOUSE_PORT)]
    server = subprocess.Popen(
        ["ip", "netns", "exec", lan_netns(), sys.executable, "-m", *serve],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{address}:{WHEELHOUSE_PORT}/"
    try:
        probe = f"python3 -c 'import urllib.request; urllib.request.urlopen(\"{url}\", timeout=2)'"
        for _ in range(50):
            if lab.ssh(HOST, probe).returncode == 0:
                break
            assert server.poll() is None, "the wheelhouse server exited"
            time.sleep(0.2)
        else:
            pytest.fail(f"{HOST} cannot reach the wheelhouse at {url}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def converge(lab: Any, play: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / ".venv/bin/ansible-playbook"), "-i", str(lab.inventory), str(play)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        timeout=1200,
        check=False,
    )


def status(lab: Any) -> dict[str, Any]:
    result = lab.ssh(HOST, "cat /var/lib/jamaa-pull/status.json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def start_pull(lab: Any) -> subprocess.CompletedProcess[str]:
    """What the timer starts, now (the host's whole site.yml: minutes on a container)."""
    return lab.ssh(HOST, "systemctl start jamaa-pull.service", timeout=1500)


def last_log(lab: Any) -> str:
    return lab.ssh(HOST, "cat /var/lib/jamaa-pull/last-run.log").stdout


@pytest.fixture
def enrolled(lab: Any, tmp_path: Path, wheelhouse_url: str) -> Iterator[dict[str, Any]]:
    signer_home = tmp_path / "release-gnupg"
    fpr = new_key(signer_home, "Jamaa Release <release@example.org>")
    try:
        release = SourceRelease(tmp_path / "repo", REPO, Path(lab.inventory))
        release.commit("2026.11.1")
        release.tag("release-2026.11.1", (signer_home, fpr))
        push(lab, release, tmp_path)
        play = tmp_path / "pull.yml"
        play.write_text(
            yaml.safe_dump(
                [
                    {
                        "name": "Pull mode (lab)",
                        "hosts": HOST,
                        "gather_facts": False,
                        "roles": [{"role": "ansible_pull"}],
                        "vars": {
                            "ansible_pull_repo_url": "file:///srv/release.git",
                            "ansible_pull_signing_keys": [export_key(signer_home, fpr)],
                            "ansible_pull_allowed_signers": [fpr],
                            "ansible_pull_environment": "lab",
                            "ansible_pull_pip_constraints": str(REPO / "constraints.txt"),
                            "ansible_pull_pip_find_links": wheelhouse_url,
                            "ansible_pull_pip_trusted_host": urllib.parse.urlsplit(wheelhouse_url).hostname,
                        },
                    }
                ]
            )
        )
        first = converge(lab, play)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        again = converge(lab, play)  # idempotent: a converged host changes nothing
        changed = [line for line in again.stdout.splitlines() if line.startswith(("changed:", "TASK ["))]
        assert again.returncode == 0 and re.search(rf"^{HOST}\s+:.*changed=0\s", again.stdout, re.M), changed
        yield {"release": release, "tmp": tmp_path, "signer": (signer_home, fpr)}
    finally:
        stop_agents(signer_home)
        lab.ssh(
            HOST,
            "systemctl disable --now jamaa-pull.timer; rm -f /etc/systemd/system/jamaa-pull.* "
            # (the runtime's virtualenv stays: inert without the timer, and removing its files takes long)
            "/usr/local/sbin/jamaa-pull; rm -rf /etc/jamaa-pull /var/lib/jamaa-pull "
            "/srv/release.git /var/lib/prometheus/node-exporter/jamaa_pull.prom; "
            "systemctl daemon-reload; systemctl reset-failed",
        )


def test_pull_runs_real_site_from_pinned_runtime(lab: Any, enrolled: dict[str, Any]) -> None:
    assert lab.ssh(HOST, "systemctl is-enabled jamaa-pull.timer").stdout.strip() == "enabled"
    assert lab.ssh(HOST, "systemctl is-active jamaa-pull.timer").stdout.strip() == "active"
    # The timer's own run (boot delay and a randomized spread) could start at any moment and race the
    # runs below: stop it, and let a run it already started finish, before starting the service by hand.
    lab.ssh(HOST, "systemctl stop jamaa-pull.timer")
    settled = lab.ssh(
        HOST,
        'for i in $(seq 1 900); do [ "$(systemctl show -P ActiveState jamaa-pull.service)" = activating ] '
        "|| exit 0; sleep 1; done; exit 1",
        timeout=960,
    )
    assert settled.returncode == 0, "a timer-started pull run did not finish within 900 s"
    # the pinned runtime, not Debian's ansible-core
    version = lab.ssh(HOST, f"{VENV}/bin/ansible-playbook --version").stdout
    pinned = yaml.safe_load((REPO / "roles/ansible_pull/defaults/main.yml").read_text())[
        "ansible_pull_pip_packages"
    ]
    core = next(p.split("==")[1] for p in pinned if p.startswith("ansible-core=="))
    assert f"[core {core}]" in version, version
    assert (
        lab.ssh(HOST, "dpkg-query -W -f='${Status}' ansible-core 2>/dev/null | grep -q installed").returncode
        != 0
    )
    # drift in the firewall file: the run must go through the commit-confirm path to put it back
    assert (
        lab.ssh(HOST, "test ! -e /etc/nftables.conf || echo '# drift' >> /etc/nftables.conf").returncode == 0
    )

    started = start_pull(lab)
    first = status(lab)
    log = last_log(lab)
    assert started.returncode == 0 and first["result"] == "applied", f"{first}\n{log[-4000:]}"
    assert first["tag"] == "release-2026.11.1" and first["signer"] == enrolled["signer"][1]
    assert first["host"] == HOST and first["changed"] > 0 and first["failed"] == 0
    # the real site.yml: jamaa_context read the release's waivers (the lab's HOST-SSH-021) and the roles ran
    assert "TASK [jamaa_context : Context | Waivers, kernel and scope" in log
    waivers = json.loads(lab.ssh(HOST, "cat /etc/jamaa/waivers.json").stdout)
    assert "HOST-SSH-021" in waivers, waivers
    for role in ("nftables_firewall", "ssh_hardening", "auditd", "postgresql", "nginx"):
        assert f"TASK [{role} : " in log, role
    # the firewall change was saved, armed, applied and confirmed (commit-confirm), nothing left pending
    confirm = re.search(
        r"TASK \[commit_confirm : Commit-confirm \| Confirm[^\]]*: nftables\][^\n]*\n(changed|ok)", log
    )
    assert confirm and confirm.group(1) == "changed", log[-4000:]
    assert lab.ssh(HOST, "jamaa-commit-confirm status nftables").stdout.strip() != "pending"
    assert lab.ssh(HOST, "grep -c '^# drift' /etc/nftables.conf").stdout.strip() == "0"
    metrics = lab.ssh(HOST, "cat /var/lib/prometheus/node-exporter/jamaa_pull.prom").stdout
    assert 'jamaa_pull_success{stage="apply",tag="release-2026.11.1"} 1' in metrics

    # a second pull run of the same release: the host is converged, nothing changes
    again = start_pull(lab)
    second = status(lab)
    log = last_log(lab)
    changed = [line for line in log.splitlines() if line.startswith(("changed:", "TASK ["))]
    assert again.returncode == 0 and second["result"] == "applied", f"{second}\n{log[-4000:]}"
    assert second["changed"] == 0 and second["failed"] == 0, "\n".join(changed[-80:])

    # a newer tag nobody signed: refused, nothing applied, the unit fails (visible to monitoring)
    release: Release = enrolled["release"]
    release.commit("2026.12.1-unsigned")
    release.tag("release-2026.12.1", None)
    push(lab, release, enrolled["tmp"])
    refused = start_pull(lab)
    assert refused.returncode != 0
    third = status(lab)
    assert third["result"] == "refused" and third["tag"] == "release-2026.12.1" and third["exit_code"] == 3
    assert lab.ssh(HOST, "systemctl is-failed jamaa-pull.service").stdout.strip() == "failed"
    journal = lab.ssh(HOST, "journalctl -u jamaa-pull.service --no-pager -o cat").stdout
    assert "jamaa-pull: applied (apply): release-2026.11.1 applied" in journal
