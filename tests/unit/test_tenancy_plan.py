"""The decisions a regional stack rests on, made by the model (jamaa.config.TenancyPlan), not the program:
which data class the database and servers hold, the management range, the host backups' retention and the
budget split."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.config import TenancyPlan, load_environments
from jamaa.errors import ConfigError, JamaaError
from jamaa.paths import REPO

Edit = Callable[[str, Callable[[dict], None]], Path]


def test_ma_07_prod_as_the_data_says() -> None:
    envs = load_environments(REPO / "environments")
    plan = envs.tenancy_plan("MA-07", "prod")
    assert plan.archive_class == "personal"  # regions/ma-07.yaml: the archive store, in AWS
    assert plan.database_class == "personal"  # no database store named: personal
    assert plan.server_data_class == "personal"
    # the first block of the supernet stays national: the DGCT management network
    assert plan.management_cidr == IPv4Network("10.64.0.0/16")  # national.yaml: supernet 10.64.0.0/12
    assert not plan.management_cidr.overlaps(envs.region_network("MA-07"))
    dedicated = [d.commune for d in envs.regions["MA-07"].dedicated_communes]
    monthly = envs.environments["prod"].monthly_budget_usd
    assert plan.budget_shares_usd == {c: monthly // (len(dedicated) + 1) for c in dedicated}
    floors = envs.national.data_classes
    classes = {"personal", *(d.data_class for d in envs.regions["MA-07"].dedicated_communes)}
    assert plan.host_backups_class == max(classes, key=lambda c: floors[c].retention_floor_days)
    assert plan.host_backups_retention_days >= floors[plan.host_backups_class].retention_floor_days


def test_every_region_stack_has_a_plan() -> None:
    envs = load_environments(REPO / "environments")
    for name in envs.region_stack_names():
        stack = envs.stack(name)
        plan = envs.tenancy_plan(stack.region.code, stack.environment.name)
        assert plan.host_backups_retention_days >= envs.national.retention_floor(plan.host_backups_class)
        assert sum(plan.budget_shares_usd.values()) <= stack.environment.monthly_budget_usd


def test_the_database_class_follows_its_data_store(envdir: Path, edit_yaml: Edit) -> None:
    def add_store(data: dict) -> None:
        data.setdefault("data_stores", []).append(
            {"name": "database", "data_class": "internal", "location": "aws"}
        )

    edit_yaml("regions/ma-07.yaml", add_store)
    plan = load_environments(envdir).tenancy_plan("MA-07", "prod")
    assert plan.database_class == "internal" and plan.archive_class == "personal"


def test_without_an_archive_in_aws_the_servers_hold_personal_data(envdir: Path, edit_yaml: Edit) -> None:
    edit_yaml("regions/ma-07.yaml", lambda d: d.update(data_stores=[]))
    plan = load_environments(envdir).tenancy_plan("MA-07", "prod")
    assert plan.archive_class is None and plan.server_data_class == "personal"


def test_the_host_backups_keep_the_longest_retention(envdir: Path, edit_yaml: Edit) -> None:
    edit_yaml("prod/environment.yaml", lambda d: d["backup_retention_days"].update(personal=400))
    plan = load_environments(envdir).tenancy_plan("MA-07", "prod")
    assert plan.host_backups_retention_days == 400


def test_a_plan_that_breaks_a_floor_is_refused() -> None:
    with pytest.raises(
        ValueError, match="host_backups_retention_days: 30 is under the personal floor of 365"
    ):
        TenancyPlan(
            region="MA-07",
            environment="prod",
            archive_class="personal",
            database_class="personal",
            server_data_class="personal",
            management_cidr=IPv4Network("10.0.0.0/16"),
            host_backups_class="personal",
            host_backups_retention_days=30,
            retention_floor_days=365,
            budget_shares_usd={},
            monthly_budget_usd=100,
        )


def test_an_unknown_region_or_environment_is_named() -> None:
    envs = load_environments(REPO / "environments")
    with pytest.raises(JamaaError, match="jamaa:region: unknown region 'MA-99'"):
        envs.tenancy_plan("MA-99", "prod")
    with pytest.raises(JamaaError, match="jamaa:environment: unknown environment 'nope'"):
        envs.tenancy_plan("MA-07", "nope")


@pytest.mark.parametrize("field", ["object_lock_mode", "backup_vault_lock_mode"])
def test_the_lock_mode_is_spelled_one_way(envdir: Path, edit_yaml: Edit, field: str) -> None:
    path = edit_yaml("prod/environment.yaml", lambda d: d.update({field: "compliance"}))
    with pytest.raises(ConfigError) as caught:
        load_environments(envdir)
    line = f"{path}: {field}: 'compliance': write the lock mode as S3 spells it, COMPLIANCE or GOVERNANCE"
    assert line in caught.value.problems
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 2 and line in result.stderr
