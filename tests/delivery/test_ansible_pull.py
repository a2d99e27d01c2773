"""ansible-pull mode: the host applies only a tag signed by a key of its keyring, only its own play,
and reports every outcome (status file, metrics). The real script, real git, real gpg, real Ansible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitrelease import Release, export_key, new_key, stop_agents

from jamaa.paths import REPO

SCRIPT = REPO / "roles/ansible_pull/files/jamaa-pull"

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[dict[str, Any]]:
    release_key = tmp_path / "release-gnupg"
    fpr = new_key(release_key, "Jamaa Release <release@example.org>")
    rogue_key = tmp_path / "rogue-gnupg"
    rogue = new_key(rogue_key, "Someone Else <rogue@example.org>")
    # the host's keyring: the release key's public part only (what the role installs)
    keyring = tmp_path / "host-gnupg"
    keyring.mkdir(mode=0o700)
    public = export_key(release_key, fpr)
    subprocess.run(
        ["gpg", "--batch", "--import"],
        input=public,
        text=True,
        env={**os.environ, "GNUPGHOME": str(keyring)},
        capture_output=True,
        check=True,
    )
    out_dir = tmp_path / "applied"
    out_dir.mkdir()
    repo = Release(tmp_path / "repo", out_dir)
    work = tmp_path / "work"
    config = tmp_path / "pull.env"
    config.write_text(
        "\n".join(
            [
                f"REPO_URL=file://{repo.root}",
                "TAG_PATTERN='release-*'",
                f"WORKDIR={work}",
                f"GNUPG_HOME={keyring}",
                "INVENTORY=environments/rural/hosts.ini",
                "PLAYBOOK=playbooks/site.yml",
                f"STATUS_FILE={tmp_path}/status.json",
                f"METRICS_FILE={tmp_path}/textfile/jamaa_pull.prom",
                "PULL_HOST=srv-rural-01",
                f"ANSIBLE_PLAYBOOK={REPO / '.venv/bin/ansible-playbook'}",
                f"ALLOWED_SIGNERS={fpr}",
                f"PYTHON_INTERPRETER={REPO / '.venv/bin/python'}",
            ]
        )
        + "\n"
    )
    yield {
        "repo": repo,
        "signer": (release_key, fpr),
        "rogue": (rogue_key, rogue),
        "config": config,
        "out": out_dir,
        "tmp": tmp_path,
    }
    stop_agents(release_key, rogue_key, keyring)


def pull(setup: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    proc = subprocess.run(
        [str(SCRIPT)],
        capture_output=True,
        text=True,
        env={**env, "JAMAA_PULL_CONFIG": str(setup["config"])},
        timeout=300,
        check=False,
    )
    status = json.loads((setup["tmp"] / "status.json").read_text())
    return proc.returncode, status, proc.stdout + proc.stderr


def test_signed_tag_applied_to_own_host_only(setup: dict[str, Any]) -> None:
    repo = setup["repo"]
    repo.commit("2026.11.1")
    repo.tag("release-2026.11.1", setup["signer"])
    code, status, output = pull(setup)
    assert code == 0, output
    assert status["result"] == "applied" and status["tag"] == "release-2026.11.1"
    assert status["signer"] == setup["signer"][1] and status["changed"] == 1 and status["failed"] == 0
    assert (setup["out"] / "applied-srv-rural-01").read_text() == "2026.11.1 release-2026.11.1\n"
    assert not (setup["out"] / "applied-srv-rural-02").exists()  # its own host's play only
    metrics = (setup["tmp"] / "textfile/jamaa_pull.prom").read_text()
    assert 'jamaa_pull_success{stage="apply",tag="release-2026.11.1"} 1' in metrics
    assert "jamaa_pull_changed_tasks 1" in metrics
    assert "jamaa-pull: applied (apply): release-2026.11.1 applied (changed=1)" in output
    # a second run re-applies the same verified release and changes nothing
    code, status, _ = pull(setup)
    assert code == 0 and status["changed"] == 0


@pytest.mark.parametrize("who", ["unsigned", "rogue"])
def test_newer_tag_without_trusted_signature_is_refused(setup: dict[str, Any], who: str) -> None:
    repo = setup["repo"]
    repo.commit("2026.11.1")
    repo.tag("release-2026.11.1", setup["signer"])
    assert pull(setup)[0] == 0
    repo.commit("2026.12.1-evil")
    repo.tag("release-2026.12.1", None if who == "unsigned" else setup["rogue"])
    code, status, output = pull(setup)
    assert code == 3, output
    assert (
        status["result"] == "refused" and status["stage"] == "verify" and status["tag"] == "release-2026.12.1"
    )
    assert "no valid signature" in status["message"]
    assert (setup["out"] / "applied-srv-rural-01").read_text() == "2026.11.1 release-2026.11.1\n"
    metrics = (setup["tmp"] / "textfile/jamaa_pull.prom").read_text()
    assert 'jamaa_pull_success{stage="verify",tag="release-2026.12.1"} 0' in metrics


def test_signer_outside_allowed_fingerprints_is_refused(setup: dict[str, Any]) -> None:
    """A key in the keyring is not enough when the allowed signers are pinned."""
    config = setup["config"]
    text = config.read_text().replace(setup["signer"][1], "0" * 40)
    config.write_text(text)
    setup["repo"].commit("2026.11.1")
    setup["repo"].tag("release-2026.11.1", setup["signer"])
    code, status, _ = pull(setup)
    assert code == 3
    assert status["message"].endswith(f"signed by {setup['signer'][1]}, not an allowed signer")


def test_unreachable_repository_and_unknown_host(setup: dict[str, Any]) -> None:
    config = setup["config"]
    setup["repo"].commit("2026.11.1")
    setup["repo"].tag("release-2026.11.1", setup["signer"])
    original = config.read_text()
    config.write_text(original.replace("PULL_HOST=srv-rural-01", "PULL_HOST=srv-elsewhere"))
    code, status, _ = pull(setup)
    assert code == 1 and status["stage"] == "apply"
    assert status["message"].startswith(
        "srv-elsewhere is not in environments/rural/hosts.ini of release-2026.11.1"
    )
    config.write_text(original.replace(f"file://{setup['repo'].root}", f"file://{setup['tmp']}/nowhere"))
    code, status, _ = pull(setup)
    assert code == 4 and status["result"] == "failed" and status["stage"] == "fetch"


def test_missing_setting_is_bad_input(setup: dict[str, Any]) -> None:
    config = setup["config"]
    config.write_text(
        "\n".join(line for line in config.read_text().splitlines() if not line.startswith("GNUPG_HOME"))
    )
    proc = subprocess.run(
        [str(SCRIPT)],
        capture_output=True,
        text=True,
        env={**os.environ, "JAMAA_PULL_CONFIG": str(config)},
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"jamaa-pull: {config}: GNUPG_HOME: required setting is missing"
