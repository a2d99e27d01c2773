"""Helpers shared by the stack tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from pathlib import Path

import pulumi

from jamaa.paths import REPO as ROOT
from jamaa.plan import Plan, PlanError, run_program
from jamaa.plan.runner import OFFLINE_ACCOUNT_ID

REGIONS = [f"ma-{n:02d}" for n in range(1, 13)]
STACKS = [f"{r}-{env}" for env in ("prod", "staging") for r in REGIONS] + ["lab"]


# pulumi-aws emits a DeprecationWarning when a package *imports* its deprecated aliases (the `…V2`
# modules), whether or not a program uses them. Those notices are the SDK's, not ours: the packages
# the tenancy uses are imported once here, outside the strict filter. Constructing a deprecated
# resource warns again in its constructor, and that stays an error (see test_plan_runner.py).
SDK_MODULES = [
    "accessanalyzer",
    "acm",
    "autoscaling",
    "backup",
    "budgets",
    "cfg",
    "cloudtrail",
    "cloudwatch",
    "costexplorer",
    "ec2",
    "guardduty",
    "iam",
    "kms",
    "lb",
    "organizations",
    "rds",
    "route53",
    "s3",
    "securityhub",
    "sns",
    "vpc",
]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    for _module in SDK_MODULES:
        hasattr(importlib.import_module(f"pulumi_aws.{_module}"), "Jamaa")  # lazy: an attribute loads it


def token(resource: type) -> str:
    """The type token a pulumi-aws class declares (`aws:kms/key:Key` for `aws.kms.Key`): the tests name a
    resource type by the SDK's class, never by a copy of its token."""
    found = pulumi.get_type_token(resource)
    assert found, f"{resource.__qualname__} declares no type token"
    return found


def plan_strictly(stack: str, config: dict[str, str] | None = None, program: Path = ROOT) -> Plan:
    """Plan with the SDK's deprecations as failures: a deprecated argument raises its
    DeprecationWarning as an error; a deprecated resource (its constructor logs through Pulumi)
    fails here too."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=DeprecationWarning, module="pulumi_aws")
        plan = run_program(program, stack, config)
    deprecated = [w for w in plan.warnings if "deprecated" in w]
    if deprecated:
        raise PlanError(f"plan {stack}: {deprecated[0]}")
    return plan


def account_of(plan_of: Callable[[str], Plan], stack: str) -> str:
    """The account a stack deploys into, as the offline plan knows it: its member account (the org
    stack's `accounts` output) in an organization environment, else the offline placeholder."""
    accounts: dict[str, str] = plan_of("org").outputs["accounts"]
    return accounts.get(stack, OFFLINE_ACCOUNT_ID)
