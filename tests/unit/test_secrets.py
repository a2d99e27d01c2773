"""No secret can reach git: every secret path the roles write (or read from the controller) is ignored by
git, production private keys are never generated on the controller, and the repository's secret scan
(jamaa/secretscan.py, run by `make lint` and the pre-commit hook) fails on a planted key."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jamaa.paths import REPO

ENVIRONMENTS = ("lab", "staging", "prod")
# Every variable naming a controller path where a role writes a secret, with its role. A role task that
# writes a secret elsewhere fails test_every_secret_writer_is_known until it is listed (and ignored).
SECRET_DIRS = {
    "postgresql_password_dir": "postgresql",  # pragma: allowlist secret (a variable name)
    "tls_certificates_ca_dir": "tls_certificates",
    "rotate_secrets_pg_password_dir": "playbooks/rotate_secrets.yml",  # pragma: allowlist secret
}
# Secret files the environments deliver to the controller (the national PKI's keys), per environment.
DELIVERED = ("tls_certificates_key_file",)
PASSWORD_LOOKUP = re.compile(r"lookup\(\s*'ansible\.builtin\.password',\s*([a-z_]+)")
SECRET_MODULES = ("community.crypto.openssl_privatekey", "community.crypto.openssh_keypair")


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            if key in node:
                yield from _tasks(node[key])


def secret_writers() -> dict[str, set[str]]:
    """Variable → files whose tasks write a secret under it (password lookups, private keys)."""
    found: dict[str, set[str]] = {}
    files = [
        *REPO.glob("roles/*/tasks/*.yml"),
        *REPO.glob("roles/*/handlers/*.yml"),
        *REPO.glob("playbooks/*.yml"),
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in PASSWORD_LOOKUP.finditer(text):
            found.setdefault(match.group(1), set()).add(str(path.relative_to(REPO)))
        for task in _tasks(yaml.safe_load(text)):
            # a file written on the controller by a task that hides its values: a secret
            copy = task.get("ansible.builtin.copy")
            if task.get("delegate_to") == "localhost" and task.get("no_log") and isinstance(copy, dict):
                var = re.match(r"\{\{\s*([a-z_]+)\s*\}\}", str(copy.get("dest", "")))
                found.setdefault(var.group(1) if var else f"<{copy.get('dest')}>", set()).add(
                    str(path.relative_to(REPO))
                )
            for module in SECRET_MODULES:
                if module in task:
                    target = str(task[module].get("path", ""))
                    var = re.match(r"\{\{\s*([a-z_]+)\s*\}\}", target)
                    found.setdefault(var.group(1) if var else f"<{target}>", set()).add(
                        str(path.relative_to(REPO))
                    )
    return found


def render(expression: str, environment: str, host: str = "srv-01") -> Path:
    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jinja.filters["dirname"] = os.path.dirname
    variables = {
        "playbook_dir": str(REPO / "playbooks"),
        "jamaa_environment": environment,
        "inventory_hostname": host,
    }
    return Path(jinja.from_string(expression).render(variables))


def ignored_by_git(paths: list[Path]) -> set[Path]:
    """The paths git ignores (`git check-ignore`; a tracked file is never reported as ignored)."""
    inside = [p for p in paths if p.is_relative_to(REPO)]
    proc = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--stdin", "-z"],
        input="\0".join(str(p.relative_to(REPO)) for p in inside).encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return {REPO / name for name in proc.stdout.decode().split("\0") if name}


def test_every_secret_writer_is_known() -> None:
    writers = secret_writers()
    assert set(writers) == set(SECRET_DIRS), writers
    assert writers["postgresql_password_dir"] >= {"roles/postgresql/tasks/main.yml"}
    assert writers["tls_certificates_ca_dir"] == {"roles/tls_certificates/tasks/internal_ca.yml"}
    assert writers["rotate_secrets_pg_password_dir"] == {"playbooks/rotate_secrets.yml"}


def secret_dir_expression(var: str) -> str:
    where = SECRET_DIRS[var]
    if where.startswith("playbooks/"):
        plays = yaml.safe_load((REPO / where).read_text(encoding="utf-8"))
        (expression,) = [play["vars"][var] for play in plays if var in play.get("vars", {})]
        return str(expression).strip()
    defaults = yaml.safe_load((REPO / "roles" / where / "defaults" / "main.yml").read_text(encoding="utf-8"))
    return str(defaults[var])


def test_the_rotation_writes_where_the_role_reads() -> None:
    for environment in ENVIRONMENTS:
        assert render(secret_dir_expression("rotate_secrets_pg_password_dir"), environment) == render(
            secret_dir_expression("postgresql_password_dir"), environment
        )


def test_every_secret_path_the_roles_write_is_ignored_by_git() -> None:
    probes: list[Path] = []
    for var in SECRET_DIRS:
        for environment in ENVIRONMENTS:
            directory = render(secret_dir_expression(var), environment)
            assert directory.is_relative_to(REPO / "environments" / environment), directory
            probes += [directory, directory / "c3510107", directory / "srv-01.key", directory / "ca.key"]
    ignored = ignored_by_git(probes)
    assert [p for p in probes if p not in ignored] == []


def test_delivered_production_keys_are_ignored_by_git() -> None:
    probes: list[Path] = []
    for environment in ("staging", "prod"):
        group_vars = yaml.safe_load(
            (REPO / "environments" / environment / "group_vars" / "all.yml").read_text(encoding="utf-8")
        )
        assert group_vars["tls_certificates_source"] == "files"
        for var in DELIVERED:
            probes.append(render(group_vars[var], environment))
    assert len(probes) == 2
    ignored = ignored_by_git(probes)
    assert [p for p in probes if p not in ignored] == []


def test_a_tracked_file_is_never_reported_ignored() -> None:
    """The check is real: git check-ignore says no for a path git would track."""
    probe = REPO / "environments" / "prod" / "group_vars" / "all.yml"
    assert ignored_by_git([probe]) == set()


def _playbook(tmp_path: Path, environment: str) -> subprocess.CompletedProcess[str]:
    ca_dir = tmp_path / environment / "pki"
    playbook = tmp_path / f"{environment}.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Issue certificates on the controller",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {
                        "jamaa_environment": environment,
                        "tls_certificates_ca_dir": str(ca_dir),
                        "ansible_python_interpreter": sys.executable,
                    },
                    "tasks": [
                        {
                            "name": "Internal CA",
                            "ansible.builtin.include_role": {
                                "name": "tls_certificates",
                                "tasks_from": "internal_ca",
                            },
                        }
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )


def test_production_private_keys_are_never_generated_on_the_controller(tmp_path: Path) -> None:
    refused = _playbook(tmp_path, "prod")
    assert refused.returncode != 0
    assert "tls_certificates_source internal_ca is refused for prod" in refused.stdout
    assert not (tmp_path / "prod").exists()
    # the same tasks do issue keys for the lab (the refusal is the environment's, not a broken role)
    issued = _playbook(tmp_path, "lab")
    assert issued.returncode == 0, issued.stdout[-2000:]
    assert (tmp_path / "lab" / "pki" / "ca.key").is_file() and (
        tmp_path / "lab" / "pki" / "localhost.key"
    ).is_file()


# --- the repository's secret scan --------------------------------------------------------------


def _scan(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jamaa.secretscan", "--repo", str(repo)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """A git repository with the project's baseline, .gitignore and one clean test fixture."""
    repo = tmp_path / "repo"
    (repo / "tests" / "fixtures").mkdir(parents=True)
    shutil.copy(REPO / ".secrets.baseline", repo / ".secrets.baseline")
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    (repo / "tests" / "fixtures" / "inventory.yml").write_text(
        "all:\n  hosts:\n    srv-01: {}\n", encoding="utf-8"
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def test_clean_repository_passes_the_scan(small_repo: Path) -> None:
    result = _scan(small_repo)
    assert result.returncode == 0, result.stderr
    assert "nothing new beyond .secrets.baseline" in result.stdout


def test_a_planted_key_in_a_test_fixture_fails_the_scan(small_repo: Path) -> None:
    (small_repo / "tests" / "fixtures" / "server.pem").write_text(_private_key(), encoding="utf-8")
    result = _scan(small_repo)
    assert result.returncode == 1
    assert "tests/fixtures/server.pem:1: Private Key (not in .secrets.baseline" in result.stderr


def test_a_planted_aws_key_fails_the_scan_but_ignored_secret_paths_are_not_scanned(small_repo: Path) -> None:
    secret_dir = small_repo / "environments" / "prod" / "generated" / "secrets" / "postgresql"
    secret_dir.mkdir(parents=True)
    (secret_dir / "c3510107").write_text(_private_key(), encoding="utf-8")
    assert _scan(small_repo).returncode == 0  # git ignores it: it can never be committed
    planted = "AKIA" + "QWERTYUIOPASDFGH"  # assembled here, so this file itself holds no key
    (small_repo / "tests" / "fixtures" / "settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{planted}"\n', encoding="utf-8"
    )
    result = _scan(small_repo)
    assert result.returncode == 1
    assert "tests/fixtures/settings.py:1: AWS Access Key" in result.stderr


def test_pre_commit_runs_the_same_scan() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert hooks["detect-secrets"]["entry"] == ".venv/bin/python -m jamaa.secretscan"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
