"""organization.yaml: each bad input stops at the model with `FILE: FIELD: reason`, and
`jamaa validate` refuses it with exit 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.config import load_environments
from jamaa.errors import ConfigError

Edit = Callable[[str, Callable[[dict], None]], Path]


def problems_of(envdir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_environments(envdir)
    return caught.value.problems


def refused(envdir: Path, line: str) -> None:
    """The model names the problem, and `jamaa validate` prints that line and exits 2."""
    assert line in problems_of(envdir)
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 2, result.output
    assert line in " ".join(result.output.split()) or line in result.output


def index_of(data: dict, stack: str) -> int:
    return next(i for i, a in enumerate(data["accounts"]) if a.get("stack") == stack)


def test_the_real_organization_is_valid(envdir: Path) -> None:
    envs = load_environments(envdir)
    org = envs.organization
    assert org is not None
    stacks = [n for n in envs.region_stack_names() if envs.stack(n).environment.organization]
    assert len(stacks) == 24
    assert sorted(a.stack for a in org.accounts if a.kind == "region") == sorted(stacks)
    assert {a.kind for a in org.accounts} == {"log-archive", "security", "region"}


def test_email_reused(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "organization.yaml",
        lambda d: d["accounts"][3].update(email=d["accounts"][2]["email"]),
    )
    refused(
        envdir,
        f"{path}: accounts[3].email: e-mail aws-ma-01-prod@jamaa.gov.ma is already used by accounts[2]",
    )


def test_name_reused_with_the_management_account(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("organization.yaml", lambda d: d["accounts"][0].update(name="jamaa-management"))
    refused(envdir, f"{path}: accounts[0].name: account name jamaa-management is already used by management")


def test_unknown_ou(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("organization.yaml", lambda d: d["accounts"][5].update(ou="regions/prd"))
    line = f"{path}: accounts[5].ou: OU regions/prd does not exist"
    assert any(p.startswith(line) for p in problems_of(envdir))
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 2 and line in result.output


def test_ou_without_its_parent(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "organization.yaml",
        lambda d: d["organizational_units"].append({"path": "lab/x", "description": "orphan"}),
    )
    refused(envdir, f"{path}: organizational_units[5].path: parent OU lab does not exist")


def test_region_stack_without_an_account(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("organization.yaml", lambda d: d["accounts"].pop(index_of(d, "ma-07-staging")))
    refused(
        envdir,
        f"{path}: accounts: stack ma-07-staging has no account "
        "(add one with kind: region, stack: ma-07-staging)",
    )


def test_two_accounts_for_one_stack(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("organization.yaml", lambda d: d["accounts"][3].update(stack="ma-01-prod"))
    refused(envdir, f"{path}: accounts[3].stack: stack ma-01-prod already has an account (accounts[2])")


def test_scp_that_would_deny_an_allowed_region(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("organization.yaml", lambda d: d["guardrails"].update(allowed_regions=["eu-south-2"]))
    refused(
        envdir,
        f"{path}: guardrails.allowed_regions: the region guard would deny eu-west-3, "
        "which national.yaml allows",
    )


def test_scp_opening_a_region_outside_the_national_list(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "organization.yaml",
        lambda d: d["guardrails"]["allowed_regions"].append("us-east-1"),
    )
    refused(
        envdir, f"{path}: guardrails.allowed_regions: us-east-1 is outside national.yaml's allowed_regions"
    )


def test_bad_email(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("organization.yaml", lambda d: d["accounts"][1].update(email="security-at-jamaa"))
    assert any(p.startswith(f"{path}: accounts[1].email: ") for p in problems_of(envdir))


def test_organization_environment_without_the_file(envdir: Path) -> None:
    path = envdir / "organization.yaml"
    path.unlink()
    refused(
        envdir, f"{path}: accounts: stack ma-01-prod deploys into the organization, but the file is missing"
    )


def test_without_organization_environments_the_file_is_optional(envdir: Path, edit_yaml: Edit) -> None:
    (envdir / "organization.yaml").unlink()
    for env in ("prod", "staging"):
        edit_yaml(f"{env}/environment.yaml", lambda d: d.update(organization=False))
    envs = load_environments(envdir)
    assert envs.organization is None
    assert envs.allowed_regions_scp() == envs.national.hosting.allowed_regions
