"""Jamaa's CrossGuard policies, importable without starting a policy server.

`policies/__main__.py` assembles them into a `PolicyPack`; `jamaa policy check` evaluates the very
same `pulumi_policy` objects offline. Import this package freely: only `PolicyPack(...)` starts a
server, and it is only called in `policies/__main__.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from jamaa_policies import (  # noqa: F401  (importing a family registers its policies)
    backup,
    detection,
    ec2,
    iam,
    kms,
    logging,
    network,
    organization,
    rds,
    residency,
    s3,
    secrets,
    tags,
)
from jamaa_policies.framework import FAMILIES, REGISTRY, PolicySpec
from jamaa_policies.settings import Settings

PACK_NAME = "jamaa"
PACK_DESCRIPTION = (
    "Jamaa: controls for Morocco's communes' regional AWS tenancies "
    "(CIS AWS Foundations, AWS FSBP, Law 09-08, Law 05-20, Decree 2-24-921, DNSSI)."
)

Policy = ResourceValidationPolicy | StackValidationPolicy


def specs() -> list[PolicySpec]:
    """Every policy's metadata, by family then name."""
    return sorted(REGISTRY.values(), key=lambda s: (FAMILIES.index(s.family), s.name))


def build_policies(settings: Settings) -> list[Policy]:
    """The pulumi_policy objects, their config defaults taken from `settings`."""
    return [spec.build(settings) for spec in specs()]


def initial_config(settings: Settings) -> dict[str, Any]:
    """Each policy's config defaults, as the pack's initial config (what `pulumi preview` starts from)."""
    config: dict[str, Any] = {}
    for spec in specs():
        values: dict[str, Any] = {
            "enforcementLevel": spec.default_enforcement,  # an EnforcementLevel, as PolicyPack expects
            **spec.defaults(settings),
        }
        config[spec.name] = values
    return config


PACKAGE_DIR = Path(__file__).resolve().parent
PACK_DIR = PACKAGE_DIR.parent
"""The pack itself (PulumiPolicy.yaml, __main__.py and this package): what `pulumi policy publish` uploads."""
SETTINGS_SNAPSHOT = "settings.json"
"""Written beside the pack by `jamaa policy settings -o policies/settings.json` before `pulumi policy
publish`: a published pack runs without the repository, so without environments/."""


def default_settings(repo_root: Path | None = None, pack_dir: Path = PACK_DIR) -> Settings:
    """Settings from the repository's environments/ when the pack sits in a checkout (<repo>/policies);
    from the pack's own settings snapshot when it was published without one; else a one-line error."""
    if repo_root is not None:
        return Settings.from_environments(repo_root / "environments")
    environments = pack_dir.parent / "environments"
    if environments.is_dir():
        return Settings.from_environments(environments)
    snapshot = pack_dir / SETTINGS_SNAPSHOT
    if snapshot.is_file():
        try:
            return Settings.from_json(snapshot)
        except ValueError as exc:  # the pack's server has no other way to tell the operator
            raise SystemExit(str(exc)) from None
    raise SystemExit(
        f"{pack_dir}: no environments/ beside the pack and no {SETTINGS_SNAPSHOT}: write it with "
        f"`jamaa policy settings -o {pack_dir / SETTINGS_SNAPSHOT}` before publishing the pack"
    )


__all__ = [
    "FAMILIES",
    "PACK_DESCRIPTION",
    "PACK_DIR",
    "PACK_NAME",
    "SETTINGS_SNAPSHOT",
    "EnforcementLevel",
    "Policy",
    "PolicySpec",
    "Settings",
    "build_policies",
    "default_settings",
    "initial_config",
    "specs",
]
