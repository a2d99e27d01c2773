"""`jamaa verify --env ENV`: the baseline suite against an environment's inventory, in parallel.

It runs the baseline's suite (jamaa/baseline/suite, with the plugin jamaa.baseline.plugin) with the
environment's inventory, one pytest-xdist worker per host
(each host's checks stay on one worker, over one SSH connection: `--dist loadgroup`), and writes
`results.json` (per host, per control: pass / fail / waived / not-applicable / error) and
`junit.xml` (the same, with control id, severity and references as properties) under the output
directory (default `out/verify/ENV/`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jamaa.baseline import SUITE
from jamaa.errors import ConfigError, JamaaError
from jamaa.paths import REPO
from jamaa.verify.results import RunResults

MAX_WORKERS = 8


class VerifyError(JamaaError):
    """The suite could not run at all (no results to show)."""

    exit_code = 1


@dataclass(frozen=True)
class Target:
    env: str
    env_dir: Path
    inventory: Path
    ssh_config: Path | None


def find_target(environments: Path, env: str, inventory: Path | None = None) -> Target:
    """The inventory of ENV: `--inventory` if given, else the environment directory itself (as Ansible
    reads it: its inventory files, the lab's generated one included, with group_vars and host_vars)."""
    env_dir = environments / env
    if not env_dir.is_dir():
        known = (
            ", ".join(sorted(p.name for p in environments.iterdir() if p.is_dir()))
            if environments.is_dir()
            else ""
        )
        raise ConfigError([f"{env_dir}: --env: no such environment directory (known: {known or 'none'})"])
    if inventory is None:
        generated = env_dir / "generated" / "inventory.ini"
        if generated.is_file() or any(env_dir.glob("inventory*")) or (env_dir / "hosts.ini").exists():
            inventory = env_dir
        else:
            hint = " (run `jamaa lab up` first)" if env == "lab" else ""
            raise ConfigError([f"{env_dir}: --env: no inventory found{hint}"])
    elif not inventory.exists():
        raise ConfigError([f"{inventory}: --inventory: file not found"])
    ssh_config = None
    base = inventory if inventory.is_dir() else inventory.parent
    for candidate in (base / "ssh_config", base / "generated" / "ssh_config"):
        if candidate.is_file():
            ssh_config = candidate
            break
    return Target(env=env, env_dir=env_dir, inventory=inventory, ssh_config=ssh_config)


def count_servers(target: Target, group: str = "commune_servers") -> int:
    import json

    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(target.inventory), "--list"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    if out.returncode != 0:
        raise ConfigError([f"{target.inventory}: ansible-inventory failed: {out.stderr.strip()[:300]}"])
    data = json.loads(out.stdout)

    def members(name: str) -> set[str]:
        node = data.get(name, {})
        found = set(node.get("hosts", []))
        for child in node.get("children", []):
            found |= members(child)
        return found

    return len(members(group) or members("all"))


def pytest_command(
    target: Target,
    out_dir: Path,
    workers: int,
    backend: str = "paramiko",
    select: str | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "-p",
        "jamaa.baseline.plugin",
        "-p",
        "jamaa.verify.plugin",
        f"--jamaa-results={out_dir / 'results.json'}",
        f"--jamaa-env={target.env}",
        f"--junitxml={out_dir / 'junit.xml'}",
        "-o",
        "junit_family=xunit1",  # xunit1 keeps record_property's properties
        "-o",
        f"junit_suite_name=jamaa-baseline-{target.env}",
        f"--ansible-inventory={target.inventory}",
        "--hosts=ansible://all",
        f"--jamaa-env-dir={target.env_dir}",
        f"--jamaa-backend={backend}",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rN",
        f"--rootdir={REPO}",
    ]
    if target.ssh_config is not None:
        command.append(f"--ssh-config={target.ssh_config}")
    if workers > 1:
        command += ["-n", str(workers), "--dist", "loadscope"]  # scoped per host by jamaa.verify.plugin
    else:
        command += ["-p", "no:xdist"]
    if select:
        command += ["-k", select]
    return command + list(extra or [])


def _catalogue_dumps(out_dir: Path) -> tuple[Path, Path]:
    import json

    from jamaa.controls import load_catalogue

    catalogue = load_catalogue(REPO / "policies" / "controls")
    controls_json = out_dir / "host-controls.json"
    controls_json.write_text(
        json.dumps([c.model_dump(mode="json") for c in catalogue.host_controls()], ensure_ascii=False),
        encoding="utf-8",
    )
    ids_txt = out_dir / "catalogue-ids.txt"
    ids_txt.write_text("\n".join(sorted(catalogue.controls)) + "\n", encoding="utf-8")
    return controls_json, ids_txt


def run_verify(
    environments: Path,
    env: str,
    out_dir: Path | None = None,
    inventory: Path | None = None,
    workers: int | None = None,
    backend: str = "paramiko",
    select: str | None = None,
    extra: list[str] | None = None,
    quiet: bool = False,
) -> RunResults:
    target = find_target(environments, env, inventory)
    out_dir = out_dir or REPO / "out" / "verify" / env
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.json"
    results_path.unlink(missing_ok=True)
    if workers is None:
        # one worker per server, one for the attacker's view; each host's checks stay on one worker
        workers = min(MAX_WORKERS, count_servers(target) + 1)
    command = pytest_command(target, out_dir, workers, backend, select, extra)
    controls_json, ids_txt = _catalogue_dumps(out_dir)
    env_vars = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        # testinfra calls ansible-inventory: the one of this Python's environment
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # the catalogue, parsed and validated once here rather than in every worker
        "JAMAA_BASELINE_CONTROLS": str(controls_json),
        "JAMAA_BASELINE_CATALOGUE_IDS": str(ids_txt),
    }
    proc = subprocess.run(
        command,
        cwd=REPO,
        env=env_vars,
        check=False,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if not results_path.exists():
        raise VerifyError(f"{SUITE}: pytest exited {proc.returncode} without writing {results_path}")
    results = RunResults.read(results_path)
    results.workers = workers
    results.inventory = str(
        target.inventory.relative_to(REPO) if target.inventory.is_relative_to(REPO) else target.inventory
    )
    results.write(results_path)
    return results
