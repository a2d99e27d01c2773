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


def run_policy_check(stack: str, repo: Path = REPO, config: Path | None = None) -> Any:
    """`jamaa policy check STACK --format json [--config FILE]` (the offline plan, then every policy)."""
    extra = ["--config", str(config)] if config is not None else []
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "policy", "check", stack, "--format", "json", *extra],
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


def policy_deviations_from(stack: str, data: Any) -> list[str]:
    """`stack: policy is advisory|disabled (default mandatory)` for each deviation the check reports."""
    return [
        f"{stack}: {d.get('policy')} is {d.get('configured')} (default {d.get('default')})"
        for d in (data.get("deviations") or [] if isinstance(data, dict) else [])
    ]


POLICY_STATUS = {
    "waived": "waived",
    "passed": "pass",
    "failed": "fail",
    "cannot evaluate offline": "not-evaluable",
    "not applicable": "not-applicable",
}


def policy_results_from(stack: str, data: Any) -> dict[str, list[PolicyResult]]:
    """Per control id, the verdict of every policy that names it, from `jamaa policy check --format json`.

    The output carries `policies` (each with `name`, `controls`, `enforcement`, `status`: passed,
    failed, cannot evaluate offline, not applicable) and `violations` (each with `policy`, `urn`,
    `message`, and `not_evaluable` for a value only known after deployment).
    """
    if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
        raise ConfigError([f"stack {stack}: policy check output: policies: expected a list"])
    details: dict[str, list[str]] = {}
    for item in data.get("violations", []) or []:
        urn = item.get("urn") or item.get("resource")
        text = str(item.get("message", ""))
        details.setdefault(str(item.get("policy", "")), []).append(f"{urn}: {text}" if urn else text)
    found: dict[str, list[PolicyResult]] = {}
    for index, policy in enumerate(data["policies"]):
        name = str(policy.get("name", ""))
        raw = str(policy.get("status", ""))
        status = POLICY_STATUS.get(raw, "fail" if "fail" in raw or details.get(name) else "")
        if not status:
            raise ConfigError(
                [f"stack {stack}: policy check output: policies.{index}.status: unknown {raw!r}"]
            )
        result = PolicyResult(
            stack=stack,
            policy=name,
            status=status,
            enforcement=str(policy.get("enforcement", "")),
            violations=details.get(name, []),
        )
        for control_id in policy.get("controls", []) or []:
            found.setdefault(str(control_id), []).append(result)
    return found
