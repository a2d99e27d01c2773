"""Pull mode on a real Debian host of the lab: the ansible_pull role installs the timer, the service
applies a signed release to the host's own play, refuses an unsigned one, and reports both."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrelease import Release, export_key, new_key, run, stop_agents

REPO = Path(__file__).resolve().parents[2]
HOST = "srv-02"
OUT = "/var/lib/jamaa-pull-test"

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def push(lab: Any, release: Release, tmp: Path) -> None:
    """Publish the release repository on the host (file:// URL; the lab host has no way to the controller)."""
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


def converge(lab: Any, play: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / ".venv/bin/ansible-playbook"), "-i", str(lab.inventory), str(play)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        },
        timeout=900,
        check=False,
    )


def status(lab: Any) -> dict[str, Any]:
    result = lab.ssh(HOST, "cat /var/lib/jamaa-pull/status.json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.fixture
def enrolled(lab: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    signer_home = tmp_path / "release-gnupg"
    fpr = new_key(signer_home, "Jamaa Release <release@example.org>")
    try:
        release = Release(tmp_path / "repo", Path(OUT), hosts=(HOST, "srv-01"))
        release.commit("2026.11.1")
        release.tag("release-2026.11.1", (signer_home, fpr))
        push(lab, release, tmp_path)
        assert lab.ssh(HOST, f"mkdir -p {OUT} && rm -f {OUT}/applied-*").returncode == 0
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
                            "ansible_pull_inventory": "environments/rural/hosts.ini",
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
            f"/usr/local/sbin/jamaa-pull; rm -rf /etc/jamaa-pull /var/lib/jamaa-pull {OUT} /srv/release.git "
            "/var/lib/prometheus/node-exporter/jamaa_pull.prom; "
            "systemctl daemon-reload; systemctl reset-failed",
        )


def test_timer_applies_signed_release_and_refuses_unsigned(lab: Any, enrolled: dict[str, Any]) -> None:
    assert lab.ssh(HOST, "systemctl is-enabled jamaa-pull.timer").stdout.strip() == "enabled"
    assert lab.ssh(HOST, "systemctl is-active jamaa-pull.timer").stdout.strip() == "active"
    # The timer's own run (boot delay and a randomized spread) could start at any moment and race the
    # runs below: stop it, and let a run it already started finish, before starting the service by hand.
    lab.ssh(HOST, "systemctl stop jamaa-pull.timer")
    settled = lab.ssh(
        HOST,
        'for i in $(seq 1 300); do [ "$(systemctl show -P ActiveState jamaa-pull.service)" = activating ] '
        "|| exit 0; sleep 1; done; exit 1",
    )
    assert settled.returncode == 0, "a timer-started pull run did not finish within 300 s"
    # what the timer starts, now
    started = lab.ssh(HOST, "systemctl start jamaa-pull.service", timeout=600)
    assert started.returncode == 0, started.stderr
    first = status(lab)
    assert first["result"] == "applied" and first["tag"] == "release-2026.11.1"
    assert first["signer"] == enrolled["signer"][1] and first["host"] == HOST
    assert lab.ssh(HOST, f"cat {OUT}/applied-{HOST}").stdout == "2026.11.1 release-2026.11.1\n"
    assert lab.ssh(HOST, f"test -e {OUT}/applied-srv-01").returncode != 0  # its own play only
    journal = lab.ssh(HOST, "journalctl -u jamaa-pull.service --no-pager -o cat").stdout
    assert "jamaa-pull: applied (apply): release-2026.11.1 applied" in journal
    metrics = lab.ssh(HOST, "cat /var/lib/prometheus/node-exporter/jamaa_pull.prom").stdout
    assert 'jamaa_pull_success{stage="apply",tag="release-2026.11.1"} 1' in metrics

    # a newer tag nobody signed: refused, nothing applied, the unit fails (visible to monitoring)
    release: Release = enrolled["release"]
    release.commit("2026.12.1-unsigned")
    release.tag("release-2026.12.1", None)
    push(lab, release, enrolled["tmp"])
    refused = lab.ssh(HOST, "systemctl start jamaa-pull.service", timeout=600)
    assert refused.returncode != 0
    second = status(lab)
    assert second["result"] == "refused" and second["tag"] == "release-2026.12.1" and second["exit_code"] == 3
    assert lab.ssh(HOST, f"cat {OUT}/applied-{HOST}").stdout == "2026.11.1 release-2026.11.1\n"
    assert lab.ssh(HOST, "systemctl is-failed jamaa-pull.service").stdout.strip() == "failed"
