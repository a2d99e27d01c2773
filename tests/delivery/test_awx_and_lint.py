"""AWX / Automation Platform as code, and the delivery part's Ansible content, accepted by ansible-lint."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

from jamaa.config import load_environments
from jamaa.paths import REPO

MINE = ["roles/ansible_pull", "playbooks/pull.yml", "playbooks/awx/configure.yml"]


def test_ansible_lint_production_profile() -> None:
    proc = subprocess.run(
        [str(REPO / ".venv/bin/ansible-lint"), "--profile", "production", "--nocolor", *MINE],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_awx_plan_covers_every_region_and_environment(tmp_path: Path) -> None:
    plan_file = tmp_path / "awx-plan.json"
    proc = subprocess.run(
        [
            str(REPO / ".venv/bin/ansible-playbook"),
            "-i",
            "localhost,",
            "playbooks/awx/configure.yml",
            "--tags",
            "plan",
            "-e",
            f"jamaa_awx_plan_file={plan_file}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = json.loads(plan_file.read_text())
    envs = load_environments(REPO / "environments")
    regions = sorted(code.lower() for code in envs.regions)
    assert plan["regions"] == regions
    deployed = sorted(name for name, settings in envs.environments.items() if not settings.region)
    assert sorted(plan["inventories"]) == [f"jamaa-{env}" for env in deployed]
    assert sorted(plan["job_templates"]) == sorted(f"site {r}-{env}" for env in deployed for r in regions)
    for env in deployed:
        # the inventory source AWX reads is the plugin file the CLI reads
        source = REPO / "environments" / env / "jamaa.aws_ec2.yml"
        config = yaml.safe_load(source.read_text(encoding="utf-8"))
        assert config["filters"]["tag:jamaa:environment"] == env
        assert config["regions"] == [envs.primary_region(env)]
        nodes = plan["workflow_nodes"][env]
        assert [node["identifier"] for node in nodes] == regions
        assert {node["unified_job_template"]["name"] for node in nodes} <= set(plan["job_templates"])


def test_awx_playbook_refers_to_real_paths() -> None:
    play = yaml.safe_load((REPO / "playbooks/awx/configure.yml").read_text(encoding="utf-8"))[0]
    text = json.dumps(play)
    for relative in ("playbooks/site.yml", "playbooks/pull.yml", "playbooks/restore_drill.yml"):
        assert relative in text
    assert (REPO / "playbooks/pull.yml").is_file()
    modules = {key for task in play["tasks"] for key in task if key.startswith("awx.awx.")}
    assert modules >= {
        "awx.awx.project",
        "awx.awx.inventory",
        "awx.awx.inventory_source",
        "awx.awx.job_template",
        "awx.awx.workflow_job_template",
    }
