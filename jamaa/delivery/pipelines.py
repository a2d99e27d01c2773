"""Render the pipeline templates from the environments, the project's pins and the Makefile's lint paths.

What a template needs is gathered once in `PipelineSpec` (stacks, the order environments are deployed
in, tool versions), so the GitHub and GitLab files say the same thing in two dialects.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from jamaa.config import ORGANIZATION_STACKS, load_environments
from jamaa.errors import ConfigError

GITHUB = Path("ci-templates/github/jamaa.yml")
GITLAB = Path("ci-templates/gitlab/.gitlab-ci.yml")
TEMPLATES: dict[Path, str] = {GITHUB: "github.yml.j2", GITLAB: "gitlab-ci.yml.j2"}

# The commands each stage runs: one place, both dialects.
LINT_FALLBACK = ("jamaa", "tests", "stacks", "policies", "bench")
YAMLLINT_CONFIG = "ci-templates/yamllint.yml"
YAMLLINT_PATHS = ("ci-templates", "environments", "playbooks", "roles", "policies/controls")
PLAN_DIR = "out/plan"
POLICY_DIR = "out/policy"


@dataclass(frozen=True)
class DeployStage:
    """One environment's region stacks, deployed after the previous stage's."""

    environment: str
    stacks: tuple[str, ...]
    tier: str  # GitLab's deployment_tier
    aws_region: str  # the environment's primary region (where the post-deploy audit looks)
    deployment_role: str | None = (
        None  # in an organization: the role the audit assumes in the stack's account
    )

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(stack.removesuffix(f"-{self.environment}").upper() for stack in self.stacks)


@dataclass(frozen=True)
class PipelineSpec:
    stacks: tuple[str, ...]  # every stack: planned and policy-checked offline
    deploy: tuple[DeployStage, ...]  # region stacks, by environment, in deployment order
    python: str
    pulumi: str  # the CLI version, the SDK's pin
    lint_paths: tuple[str, ...]
    lab_environment: str | None
    organization: tuple[str, ...] = ()  # the organization's stacks, deployed first, in this order

    @property
    def region_stacks(self) -> tuple[str, ...]:
        return tuple(stack for stage in self.deploy for stack in stage.stacks)


def _pin(dependencies: list[str], name: str, where: Path) -> str:
    for requirement in dependencies:
        match = re.fullmatch(rf"{re.escape(name)}==([0-9][0-9A-Za-z.]*)", requirement.strip())
        if match:
            return match.group(1)
    raise ConfigError([f"{where}: project.dependencies: {name} is not pinned with =="])


def _lint_paths(makefile: Path) -> tuple[str, ...]:
    """The paths `make lint` gives ruff, so CI lints what the developers lint."""
    if makefile.is_file():
        match = re.search(r"ruff check ([^\n]+)", makefile.read_text(encoding="utf-8"))
        if match:
            return tuple(match.group(1).split())
    return LINT_FALLBACK


def _tier(environment: str) -> str:
    return {"prod": "production", "staging": "staging"}.get(environment, "testing")


def build_spec(repo: Path, environments: Path | None = None) -> PipelineSpec:
    envs = load_environments(environments or repo / "environments")
    pyproject = repo / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        raise ConfigError([f"{pyproject}: project: cannot read ({error})"]) from None
    python = re.sub(r"^>=\s*", "", str(project.get("requires-python", ">=3.11")))
    stages = []
    # staging (and any other environment) before prod: prod is deployed last
    for env in sorted(envs.environments, key=lambda name: (name == "prod", name)):
        if envs.environments[env].region:
            continue
        stacks = tuple(f"{code.lower()}-{env}" for code in sorted(envs.regions))
        organization = envs.organization if envs.environments[env].organization else None
        stages.append(
            DeployStage(
                environment=env,
                stacks=stacks,
                tier=_tier(env),
                aws_region=envs.primary_region(env),
                deployment_role=organization.roles.deployment if organization is not None else None,
            )
        )
    labs = [name for name, settings in sorted(envs.environments.items()) if settings.region]
    return PipelineSpec(
        stacks=tuple(envs.stack_names()),
        deploy=tuple(stages),
        python=python,
        pulumi=_pin(list(project.get("dependencies", [])), "pulumi", pyproject),
        lint_paths=_lint_paths(repo / "Makefile"),
        lab_environment="lab" if "lab" in labs else (labs[0] if labs else None),
        organization=ORGANIZATION_STACKS if envs.organization is not None else (),
    )


def _jinja() -> Environment:
    # GitHub's `${{ … }}` and GitLab's `$VAR` stay literal: Jinja uses [[ … ]] and [% … %] here.
    return Environment(
        loader=PackageLoader("jamaa.delivery", "templates"),
        undefined=StrictUndefined,
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_all(spec: PipelineSpec) -> dict[Path, str]:
    env = _jinja()
    context = {
        "spec": spec,
        "yamllint_config": YAMLLINT_CONFIG,
        "yamllint_paths": " ".join(YAMLLINT_PATHS),
        "plan_dir": PLAN_DIR,
        "policy_dir": POLICY_DIR,
    }
    return {path: env.get_template(name).render(**context) for path, name in TEMPLATES.items()}


def write(repo: Path, rendered: dict[Path, str]) -> list[Path]:
    """Write what differs; return the paths written."""
    written = []
    for relative, text in rendered.items():
        path = repo / relative
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
    return written


def drift(repo: Path, rendered: dict[Path, str]) -> list[str]:
    """One line per committed template that is missing or differs from what the environments give."""
    problems = []
    for relative, text in rendered.items():
        path = repo / relative
        if not path.is_file():
            problems.append(f"{relative}: missing; run `jamaa pipelines render`")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{relative}: differs from the environments; run `jamaa pipelines render`")
    return problems
