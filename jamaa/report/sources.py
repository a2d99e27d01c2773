"""Gather the report's inputs for one environment: stacks, policy results, host results, waivers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from jamaa.errors import ConfigError
from jamaa.report.model import PolicyResult
from jamaa.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[2]


def stacks_of(environment: str, repo: Path = REPO) -> list[str]:
    """The Pulumi stacks whose config names this environment (`jamaa:environment: ENV`)."""
    stacks = []
    for path in sorted(repo.glob("Pulumi.*.yaml")):
        data = load_yaml(path)
        config = data.get("config", {}) if isinstance(data, dict) else {}
        if isinstance(config, dict) and config.get("jamaa:environment") == environment:
            stacks.append(path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
    return stacks


def run_policy_check(stack: str, repo: Path = REPO) -> Any:
    """`jamaa policy check STACK --format json` (the offline plan under mocks, then every policy)."""
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "policy", "check", stack, "--format", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else "no output"
        raise ConfigError([f"stack {stack}: `jamaa policy check` exited {proc.returncode}: {last}"]) from None


def policy_results_from(stack: str, data: Any) -> dict[str, list[PolicyResult]]:
    """Per control id, the verdict of every policy that names it, from the check's JSON output.

    The JSON carries `policies` (each with `name`, `controls`, `enforcement`) and `violations` (each with
    `policy` and `message`; `not_evaluable` ones when a value is only known after deployment).
    """
    if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
        raise ConfigError([f"stack {stack}: policy check output: policies: expected a list"])
    violations: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for item in data.get("violations", []) or []:
        name = str(item.get("policy", ""))
        text = str(item.get("message", ""))
        urn = item.get("urn") or item.get("resource")
        line = f"{urn}: {text}" if urn else text
        if item.get("not_evaluable") or item.get("status") == "not-evaluable":
            unknown.setdefault(name, []).append(line)
        else:
            violations.setdefault(name, []).append(line)
    found: dict[str, list[PolicyResult]] = {}
    for policy in data["policies"]:
        name = str(policy.get("name", ""))
        status = "fail" if violations.get(name) else ("not-evaluable" if unknown.get(name) else "pass")
        result = PolicyResult(
            stack=stack,
            policy=name,
            status=status,
            enforcement=str(policy.get("enforcement", policy.get("enforcementLevel", ""))),
            violations=violations.get(name, []) + unknown.get(name, []),
        )
        for control_id in policy.get("controls", []) or []:
            found.setdefault(str(control_id), []).append(result)
    return found
