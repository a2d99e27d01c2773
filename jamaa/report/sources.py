"""Gather the report's evidence for one environment: policy results, audit results, host results.

The policy results come from the policy engine itself, in this process: every stack of the environment is
planned offline in one plan worker (the Pulumi program runs isolated there), then `jamaa.policy.evaluate`
judges each plan, exactly as `jamaa policy check` does. The audit results are what `jamaa audit` wrote
for the environment (`out/audit/ENV/REGION.json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jamaa.audit.checks import AuditDocument, audit_results_dir
from jamaa.paths import REPO
from jamaa.results import Result
from jamaa.yamlio import load_yaml


def stacks_of(environment: str, repo: Path = REPO) -> list[str]:
    """The Pulumi stacks whose config names this environment (`jamaa:environment: ENV`)."""
    stacks = []
    for path in sorted(repo.glob("Pulumi.*.yaml")):
        data = load_yaml(path)
        config = data.get("config", {}) if isinstance(data, dict) else {}
        if isinstance(config, dict) and config.get("jamaa:environment") == environment:
            stacks.append(path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
    return stacks


@dataclass
class PolicyEvidence:
    results: list[Result] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    """Mandatory policies the policy-pack config makes advisory or disables, per stack."""


def policy_evidence(
    stacks: list[str],
    pack_config: Path | None = None,
    repo: Path = REPO,
    environments: Path | None = None,
) -> PolicyEvidence:
    """Plan `stacks` of the program in `repo` offline (one worker process for all) and run the policy
    pack (settings and cloud waivers from `environments`, default the repository's) over each plan."""
    from jamaa.clikit import progress
    from jamaa.plan.worker import plan_stacks
    from jamaa.policy.engine import evaluate, load_pack_config
    from jamaa.policy.pack import load_pack
    from jamaa.policy.waivers import CloudWaivers

    evidence = PolicyEvidence()
    if not stacks:
        return evidence
    environments = environments or repo / "environments"
    config = load_pack_config(pack_config) if pack_config is not None else {}
    pack = load_pack(environments)
    scopes = CloudWaivers(repo, environments)
    with progress("policy check of the report's stacks", len(stacks)) as done:
        for outcome in plan_stacks(repo, stacks):
            done(outcome.stack)
            if outcome.plan is None:
                evidence.errors.append(outcome.error or "; ".join(outcome.problems))
                continue
            report = evaluate(
                outcome.plan.resources,
                pack,
                stack=outcome.stack,
                project=outcome.plan.project,
                config=config,
                waivers=scopes.lookup(outcome.stack),
            )
            evidence.stacks.append(outcome.stack)
            evidence.results.extend(report.results())
            evidence.deviations.extend(
                f"{outcome.stack}: {d['policy']} is {d['configured']} (default {d['default']})"
                for d in report.deviations
            )
    return evidence


def audit_evidence(environment: str, repo: Path = REPO) -> tuple[list[Result], list[str]]:
    """The results of every `jamaa audit` of the environment (one file per region), and the files read."""
    folder = audit_results_dir(repo, environment)
    results: list[Result] = []
    files: list[str] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        document = AuditDocument.read(path)
        files.append(str(path))
        results.extend(f.result(document.region) for f in document.findings)
    return results, files
