"""A repository publishing GPG-signed release tags, and GnuPG keys made for one test (helpers)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PLAY = """\
- name: Commune server (test release)
  hosts: commune_servers
  gather_facts: false
  tasks:
    - name: Record which release was applied to which host
      ansible.builtin.copy:
        content: "{{ release }} {{ jamaa_pull_tag }}\\n"
        dest: "{{ out_dir }}/applied-{{ inventory_hostname }}"
        mode: "0644"
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release",
    "GIT_AUTHOR_EMAIL": "release@example.org",
    "GIT_COMMITTER_NAME": "Release",
    "GIT_COMMITTER_EMAIL": "release@example.org",
}


def run(cmd: list[str], cwd: Path | None = None, **env: str) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=False
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stderr}"
    return proc.stdout


def new_key(home: Path, uid: str) -> str:
    """A signing key (ed25519, no passphrase) in a GnuPG home of its own; returns its fingerprint."""
    home.mkdir(mode=0o700)
    run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"],
        GNUPGHOME=str(home),
    )
    listing = run(["gpg", "--batch", "--with-colons", "--list-keys", uid], GNUPGHOME=str(home))
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def stop_agents(*homes: Path) -> None:
    """gpg started an agent per GnuPG home: stop them (they would outlive the test)."""
    for home in homes:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)


def export_key(home: Path, fpr: str) -> str:
    return run(["gpg", "--batch", "--armor", "--export", fpr], GNUPGHOME=str(home))


class Release:
    """A repository that publishes release tags, the way the DGCT's release manager would."""

    def __init__(self, root: Path, out_dir: Path, hosts: tuple[str, ...] = ("srv-rural-01", "srv-rural-02")):
        self.root = root
        root.mkdir()
        run(["git", "init", "--quiet", "-b", "main"], cwd=root)
        (root / "playbooks").mkdir()
        (root / "playbooks/site.yml").write_text(PLAY)
        (root / "environments/rural").mkdir(parents=True)
        (root / "environments/rural/hosts.ini").write_text(
            "[commune_servers]\n" + "".join(f"{h}\n" for h in hosts) + f"\n[all:vars]\nout_dir={out_dir}\n"
        )

    def commit(self, release: str) -> None:
        (self.root / "environments/rural/group_vars").mkdir(exist_ok=True)
        (self.root / "environments/rural/group_vars/all.yml").write_text(f"release: {release}\n")
        run(["git", "add", "-A"], cwd=self.root)
        run(["git", "commit", "--quiet", "-m", release], cwd=self.root, **GIT_ENV)

    def tag(self, name: str, signer: tuple[Path, str] | None) -> None:
        if signer is None:
            run(["git", "tag", "-a", "-m", name, name], cwd=self.root, **GIT_ENV)
        else:
            home, fpr = signer
            run(
                ["git", "tag", "-s", "-u", fpr, "-m", name, name],
                cwd=self.root,
                GNUPGHOME=str(home),
                **GIT_ENV,
            )


class SourceRelease(Release):
    """A release of THIS repository (its files as they are in the working tree: the real playbooks, roles,
    collection, catalogue and environments) plus a generated inventory, e.g. the lab's."""

    def __init__(self, root: Path, source: Path, inventory: Path, environment: str = "lab"):
        self.root = root
        root.mkdir()
        run(["git", "init", "--quiet", "-b", "main"], cwd=root)
        listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=source)
        for name in sorted(set(filter(None, listed.split("\0")))):
            src, dst = source / name, root / name
            if not src.is_symlink() and not src.is_file():
                continue  # deleted in the working tree, or a submodule
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                dst.symlink_to(os.readlink(src))
            else:
                shutil.copy2(src, dst)
        generated = root / "environments" / environment / "generated"
        generated.mkdir(parents=True, exist_ok=True)
        shutil.copy2(inventory, generated / inventory.name)

    def commit(self, release: str) -> None:
        (self.root / "RELEASE").write_text(f"{release}\n")
        run(["git", "add", "-A", "--force", "."], cwd=self.root)
        run(["git", "commit", "--quiet", "-m", release], cwd=self.root, **GIT_ENV)
