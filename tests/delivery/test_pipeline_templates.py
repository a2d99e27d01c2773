"""The pipeline templates users adopt: valid against GitHub's and GitLab's schemas, lint-clean, complete
(every stack of environments/ in the matrix), and exactly what `jamaa pipelines render` generates."""

from __future__ import annotations

import copy
import importlib.resources
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner
from yamllint import linter
from yamllint.config import YamlLintConfig

from jamaa.cli import app
from jamaa.config import load_environments
from jamaa.delivery.pipelines import (
    GITHUB,
    GITLAB,
    YAMLLINT_CONFIG,
    YAMLLINT_PATHS,
    build_spec,
    drift,
    render_all,
)
from jamaa.paths import REPO

runner = CliRunner()

ORGANIZATION = ["org", "log-archive", "security"]  # the organization's stacks, deployed first


class GitLabLoader(yaml.SafeLoader):
    """GitLab's `!reference [job, key]` tag read as the list it names."""


GitLabLoader.add_constructor(
    "!reference", lambda loader, node: ["!reference", *loader.construct_sequence(node)]
)


def load_github() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((REPO / GITHUB).read_text(encoding="utf-8"))
    return data


def load_gitlab() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load((REPO / GITLAB).read_text(encoding="utf-8"), Loader=GitLabLoader)
    return data


@cache
def schema(name: str) -> dict[str, Any]:
    """check-jsonschema's vendored copies of SchemaStore's schemas: no network at test time."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    loaded: dict[str, Any] = json.loads((vendor / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def schema_errors(name: str, document: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema(name))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def envs() -> Any:
    return load_environments(REPO / "environments")


@pytest.fixture(scope="module")
def region_stacks(envs: Any) -> list[str]:
    return [
        f"{code.lower()}-{env}"
        for env, settings in envs.environments.items()
        if not settings.region
        for code in envs.regions
    ]


# --- generated, not hand-written -------------------------------------------------------------


def test_committed_templates_are_the_generated_ones() -> None:
    assert drift(REPO, render_all(build_spec(REPO))) == []


def test_stacks_are_the_pulumi_stacks(envs: Any) -> None:
    files = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml"))
    assert sorted(envs.stack_names()) == files
    assert len(files) == 28  # 24 regional stacks, the lab, and org, log-archive, security


# --- structure: the vendored JSON schemas ----------------------------------------------------


def test_github_workflow_matches_schema() -> None:
    assert schema_errors("github-workflows", load_github()) == []


def test_gitlab_ci_matches_schema() -> None:
    assert schema_errors("gitlab-ci", load_gitlab()) == []


def test_schemas_catch_broken_pipelines() -> None:
    """The schema check can fail: a job without a runner, a job with an unknown `when`."""
    github = copy.deepcopy(load_github())
    del github["jobs"]["lint"]["runs-on"]
    github["jobs"]["unit"]["strategy"] = {"matrix": "not-a-matrix"}
    assert schema_errors("github-workflows", github)
    gitlab = copy.deepcopy(load_gitlab())
    gitlab["lint"]["when"] = "sometimes"
    assert any("sometimes" in error for error in schema_errors("gitlab-ci", gitlab))


def test_yamllint_passes_on_everything_the_pipelines_lint() -> None:
    """The same command the lint job runs, on the same paths: the users' pipeline starts green."""
    result = subprocess.run(
        [REPO / ".venv/bin/yamllint", "--strict", "-f", "parsable", "-c", YAMLLINT_CONFIG, *YAMLLINT_PATHS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    config = YamlLintConfig(file=str(REPO / YAMLLINT_CONFIG))
    broken = "a: 1\na: 2\n"
    assert any(p.rule == "key-duplicates" for p in linter.run(broken, config))


# --- GitHub: what runs, in which order, behind which gate ---------------------------------------


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_github_triggers_and_lint(region_stacks: list[str]) -> None:
    workflow = load_github()
    assert set(workflow["on"]) >= {"pull_request", "push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    lint = steps_text(workflow["jobs"]["lint"])
    for tool in ("ruff check", "ruff format --check", "mypy", "ansible-lint", "yamllint"):
        assert tool in lint
    assert "pytest" in steps_text(workflow["jobs"]["unit"])


def test_github_matrix_has_every_stack(envs: Any, region_stacks: list[str]) -> None:
    jobs = load_github()["jobs"]
    plan = jobs["plan-policy"]
    assert plan["strategy"]["matrix"]["stack"] == envs.stack_names()
    assert plan["permissions"]["security-events"] == "write"
    text = steps_text(plan)
    assert "jamaa plan" in text and "--format sarif" in text and "--format junit" in text
    # no credentials in this job: a mandatory policy that cannot be evaluated offline must fail it
    assert text.count("jamaa policy check") == text.count('jamaa policy check "$STACK" --strict') == 2
    assert "github/codeql-action/upload-sarif" in text
    preview = jobs["preview"]["strategy"]["matrix"]["stack"]
    assert preview[:3] == ORGANIZATION and sorted(preview[3:]) == sorted(region_stacks)
    assert "--policy-pack policies" in steps_text(jobs["preview"])
    assert "stack select --create --secrets-provider" in steps_text(jobs["preview"])
    assert "JAMAA_AWS_ROLE_ARN" in jobs["preview"]["if"]


def test_github_up_is_gated_per_region_stack(region_stacks: list[str]) -> None:
    jobs = load_github()["jobs"]
    ups = {name: job for name, job in jobs.items() if name.startswith("up-") and name != "up-organization"}
    deployed = [stack for job in ups.values() for stack in job["strategy"]["matrix"]["stack"]]
    assert sorted(deployed) == sorted(region_stacks)
    for name, job in ups.items():
        assert job["environment"] == "${{ matrix.stack }}", name  # required reviewers per stack
        assert "refs/heads/main" in job["if"] and "push" in job["if"]
        assert "pulumi up" in steps_text(job)
    assert "converge-staging" in jobs["up-prod"]["needs"]  # prod after staging is deployed and verified
    # the organization first, in order, each stack created when missing; then the first environment
    organization = jobs["up-organization"]
    text = steps_text(organization)
    assert "for stack in org log-archive security" in text
    assert text.index("stack select --create") < text.index("pulumi up")
    assert organization["environment"] == "organization" and "refs/heads/main" in organization["if"]
    assert "up-organization" in jobs["up-staging"]["needs"]
    for env in ("staging", "prod"):
        converge = jobs[f"converge-{env}"]
        assert converge["needs"] == [f"up-{env}"]
        text = steps_text(converge)
        assert text.index("jamaa inventory") < text.index("ansible-playbook") < text.index("jamaa verify")
        assert len(converge["strategy"]["matrix"]["region"]) == 12


def test_deploy_jobs_install_the_runtime_only_and_the_pinned_pulumi_cli() -> None:
    """Jobs that deploy, converge or detect drift install `make setup-runtime` (no linters, no test tools)
    and the Pulumi CLI of the SDK's pinned version through pulumi/actions; lint and tests keep the rest."""
    import tomllib

    workflow = load_github()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pin = next(d.split("==")[1] for d in pyproject["project"]["dependencies"] if d.startswith("pulumi=="))
    assert workflow["env"]["PULUMI_VERSION"] == pin
    deploy = {name: job for name, job in workflow["jobs"].items() if "pulumi" in steps_text(job) + str(job)}
    assert {"preview", "up-organization", "up-staging", "up-prod"} <= set(deploy)
    for name, job in workflow["jobs"].items():
        runs = [str(step.get("run", "")) for step in job.get("steps", [])]
        if name in deploy or name.startswith(("converge-", "drift")):
            assert any("make setup-runtime" in r for r in runs), name
            assert not any(r.startswith("make setup ") or r == "make setup" for r in runs), name
        if name in deploy and "pulumi " in "\n".join(runs):
            cli = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
            assert len(cli) == 1 and cli[0]["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}", name
    for name in ("lint", "unit"):
        assert any("make setup &&" in str(s.get("run", "")) for s in workflow["jobs"][name]["steps"]), name
    assert "get.pulumi.com" not in (REPO / GITHUB).read_text()
    gitlab = load_gitlab()
    assert gitlab[".aws"]["before_script"][0] == "make setup-runtime"
    assert gitlab["default"]["before_script"][0] == "make setup"


# --- GitLab ------------------------------------------------------------------------------------


def test_gitlab_matrix_and_lint(envs: Any, region_stacks: list[str]) -> None:
    ci = load_gitlab()
    rules = ci["workflow"]["rules"]
    assert any("merge_request_event" in rule["if"] for rule in rules)
    assert any("CI_DEFAULT_BRANCH" in rule["if"] for rule in rules)
    lint = "\n".join(ci["lint"]["script"])
    for tool in ("ruff check", "ruff format --check", "mypy", "ansible-lint", "yamllint"):
        assert tool in lint
    assert ci["plan-policy"]["parallel"]["matrix"] == [{"STACK": envs.stack_names()}]
    assert ci["plan-policy"]["artifacts"]["reports"]["junit"].endswith("$STACK.junit.xml")
    assert "out/policy/$STACK.sarif" in ci["plan-policy"]["artifacts"]["paths"]
    script = "\n".join(ci["plan-policy"]["script"])
    assert script.count("jamaa policy check") == script.count('jamaa policy check "$STACK" --strict') == 2
    preview = ci["preview"]["parallel"]["matrix"][0]["STACK"]
    assert preview[:3] == ORGANIZATION and sorted(preview[3:]) == sorted(region_stacks)
    assert "--policy-pack policies" in " ".join(ci["preview"]["script"])


def test_gitlab_manual_deploy_per_region_stack(region_stacks: list[str]) -> None:
    ci = load_gitlab()
    assert ci[".deploy"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"},  # scheduled pipelines: drift only
        {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $JAMAA_AWS_ROLE_ARN", "when": "manual"},
    ]
    deploys = {
        name.removeprefix("deploy:"): job
        for name, job in ci.items()
        if name.startswith("deploy:") and name != "deploy:organization"
    }
    assert sorted(deploys) == sorted(region_stacks)
    organization = ci["deploy:organization"]
    script = "\n".join(organization["script"])
    assert "for stack in org log-archive security" in script
    assert script.index("stack select --create") < script.index("pulumi up")
    assert ci["stages"].index("deploy-organization") < ci["stages"].index("deploy-staging")
    assert "stack select --create" in " ".join(ci[".deploy"]["script"])
    for stack, job in deploys.items():
        assert job["extends"] == ".deploy"
        assert job["environment"]["name"] == stack and job["resource_group"] == stack
        assert ci[f"converge:{stack}"]["needs"] == [f"deploy:{stack}"]
        if stack.endswith("-prod"):
            staging = stack.replace("-prod", "-staging")
            assert {"job": f"converge:{staging}"} in job["needs"]
        else:
            assert {"job": "deploy:organization"} in job["needs"]
    converge = "\n".join(ci[".converge"]["script"])
    assert (
        converge.index("jamaa inventory")
        < converge.index("ansible-playbook")
        < converge.index("jamaa verify")
    )


# --- the generator --------------------------------------------------------------------------


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "Makefile"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(
        REPO / "environments", tmp_path / "environments", ignore=shutil.ignore_patterns("generated")
    )
    return tmp_path


def test_new_environment_reaches_every_matrix(repo_copy: Path) -> None:
    """Add an environment: its 12 stacks appear, deployed before prod, with no hand edit."""
    prod = (repo_copy / "environments/prod/environment.yaml").read_text(encoding="utf-8")
    (repo_copy / "environments/preprod").mkdir()
    (repo_copy / "environments/preprod/environment.yaml").write_text(
        # outside the organization: an organization environment needs its accounts in organization.yaml
        prod.replace("name: prod", "name: preprod").replace("organization: true", "organization: false")
    )
    result = runner.invoke(app, ["pipelines", "render", "--repo", str(repo_copy)])
    assert result.exit_code == 0, result.output
    github = yaml.safe_load((repo_copy / GITHUB).read_text(encoding="utf-8"))
    assert "ma-07-preprod" in github["jobs"]["plan-policy"]["strategy"]["matrix"]["stack"]
    assert github["jobs"]["up-prod"]["needs"] == ["preview", "converge-staging"]
    assert github["jobs"]["up-staging"]["needs"] == ["preview", "converge-preprod"]
    assert schema_errors("github-workflows", github) == []
    gitlab = yaml.load((repo_copy / GITLAB).read_text(encoding="utf-8"), Loader=GitLabLoader)
    assert "deploy:ma-07-preprod" in gitlab and schema_errors("gitlab-ci", gitlab) == []
    check = runner.invoke(app, ["pipelines", "render", "--repo", str(repo_copy), "--check"])
    assert check.exit_code == 0, check.output


def test_check_reports_drift_one_line_each(repo_copy: Path) -> None:
    assert runner.invoke(app, ["pipelines", "render", "--repo", str(repo_copy)]).exit_code == 0
    path = repo_copy / GITLAB
    path.write_text(path.read_text(encoding="utf-8").replace("- ma-05-prod\n", ""), encoding="utf-8")
    (repo_copy / GITHUB).unlink()
    result = runner.invoke(app, ["pipelines", "render", "--repo", str(repo_copy), "--check"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"{GITHUB}: missing; run `jamaa pipelines render`",
        f"{GITLAB}: differs from the environments; run `jamaa pipelines render`",
    ]


def test_unpinned_pulumi_is_bad_input(repo_copy: Path) -> None:
    pyproject = repo_copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"pulumi==', '"pulumi>='), encoding="utf-8")
    result = runner.invoke(app, ["pipelines", "render", "--repo", str(repo_copy)])
    assert result.exit_code == 2
    assert result.output.strip() == f"{pyproject}: project.dependencies: pulumi is not pinned with =="


# --- the commands the templates run exist, with the options they pass ---------------------------


def template_commands() -> list[str]:
    texts: list[str] = []
    for job in load_github()["jobs"].values():
        texts += [str(step.get("run", "")) for step in job.get("steps", [])]
    for job in load_gitlab().values():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                texts += [line for line in job.get(key, []) if isinstance(line, str)]
    import re

    starts = re.compile(r"(?:^|&&\s*|\.venv/bin/)(jamaa\s.*)$")
    lines = [line.strip() for text in texts for line in text.splitlines()]
    return [match.group(1) for line in lines if (match := starts.search(line))]


def test_every_jamaa_command_and_option_in_the_templates_exists() -> None:
    import shlex

    import typer.main

    root = typer.main.get_command(app)
    commands = template_commands()
    assert len(commands) >= 8
    seen = set()
    for line in commands:
        words = shlex.split(line.split("||")[0].split(">")[0].replace(".venv/bin/", ""))[1:]
        command: Any = root  # typer's own click: groups have `.commands`
        path = []
        while hasattr(command, "commands") and words and words[0] in command.commands:
            path.append(words[0])
            command = command.commands[words.pop(0)]
        assert not hasattr(command, "commands"), f"{line}: no such command"
        known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"{line}: `jamaa {' '.join(path)}` has no option {word}"
        seen.add(" ".join(path))
    assert seen >= {"plan", "policy check", "audit", "inventory", "verify", "lab up", "lab down"}
