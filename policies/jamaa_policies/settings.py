"""National values the policies' config defaults come from (never hard-coded in a rule).

`Settings.from_environments(root)` reads `environments/` through `jamaa.config`; each policy's config
schema takes its defaults from here, and an operator can still override any knob per policy (the
Pulumi policy-pack config file, or `jamaa policy check --config FILE`).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DATA_CLASS_TAG = "jamaa:data-class"
ENVIRONMENT_TAG = "jamaa:environment"
CNDP_TAG = "jamaa:cndp-authorisation"
OFFLINE_ACCOUNT_ID = "000000000000"
"""The account the offline plan answers for `aws.get_caller_identity()` (jamaa.plan): the stack's own."""


@dataclass(frozen=True)
class Settings:
    primary_region: str
    dr_region: str
    allowed_regions: tuple[str, ...]
    sovereign_locations: tuple[str, ...]
    mandatory_tags: tuple[str, ...]
    retention_floor_days: dict[str, int]
    sovereign_only_classes: tuple[str, ...]
    cndp_authorisations: tuple[dict[str, Any], ...]
    # environment name -> settings the policies care about (security services, lock modes)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the member accounts' roles an SCP protects (organization.yaml: roles; CLD-ORG-005), and with
    # the management account's pipeline role, the roles that administer whole accounts
    protected_roles: tuple[str, ...] = ()
    admin_roles: tuple[str, ...] = ()
    organization_accounts: tuple[str, ...] = ()
    """Account ids of the organization as the offline plan knows them (the management account's
    placeholder and each vended account's offline id); a pipeline with credentials lists the real
    ids in the pack config (`trusted_accounts`)."""
    organization_environment: str | None = None
    """The `jamaa:environment` value of the organization stacks' resources, when there is an organization."""

    @classmethod
    def from_environments(cls, root: Path) -> Settings:
        from jamaa.config import load_environments

        envs = load_environments(root, check_ledger=False)
        national = envs.national
        hosting = national.hosting
        classes = national.data_classes
        sovereign_only = tuple(
            name
            for name, policy in classes.items()
            if getattr(policy, "sovereign_only", False) or name == "sensitive"
        )
        environments: dict[str, dict[str, Any]] = {}
        for name, env in envs.environments.items():
            services = env.security_services
            # In an organization environment, GuardDuty, Security Hub and the trail come from the
            # organization stacks: the stack itself need not (must not) declare them.
            in_stack = not env.organization
            environments[name] = {
                "guardduty": services.guardduty and in_stack,
                "config": services.config,
                "security_hub": services.security_hub and in_stack,
                "trail": in_stack,
                "organization": env.organization,
                "multi_az": env.database.multi_az,
                "deletion_protection": env.database.deletion_protection,
                "backup_vault_lock_mode": env.backup_vault_lock_mode,
                "object_lock_mode": env.object_lock_mode,
                "kms_deletion_window_days": env.kms_deletion_window_days,
            }
        return cls(
            primary_region=hosting.primary_region,
            dr_region=hosting.dr_region,
            allowed_regions=tuple(hosting.allowed_regions),
            sovereign_locations=tuple(loc.id for loc in hosting.sovereign_locations),
            mandatory_tags=tuple(national.mandatory_tags),
            retention_floor_days={name: p.retention_floor_days for name, p in classes.items()},
            sovereign_only_classes=sovereign_only,
            cndp_authorisations=tuple(
                {
                    "reference": a.reference,
                    "regions": list(a.regions),
                    "expires": a.expires.isoformat(),
                }
                for a in national.cndp_authorisations
            ),
            environments=environments,
            protected_roles=(
                (envs.organization.roles.break_glass, envs.organization.roles.deployment)
                if envs.organization is not None
                else ()
            ),
            organization_accounts=_offline_accounts(envs),
            organization_environment="organization" if envs.organization is not None else None,
            admin_roles=(
                (
                    envs.organization.roles.break_glass,
                    envs.organization.roles.deployment,
                    envs.organization.roles.pipeline,
                )
                if envs.organization is not None
                else ()
            ),
        )

    def to_json(self) -> str:
        """The settings as a JSON snapshot: what a pack published without the repository reads."""
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, path: Path) -> Settings:
        """A snapshot written by `jamaa policy settings`; refused in one line when it is not one."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable settings snapshot ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a settings snapshot is a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"{path}: {unknown[0]}: not a setting (rewrite it with `jamaa policy settings`)")
        missing = [
            name
            for name, f in known.items()
            if f.default is MISSING and f.default_factory is MISSING and name not in data
        ]
        if missing:
            raise ValueError(f"{path}: {missing[0]}: missing (rewrite it with `jamaa policy settings`)")
        # JSON has no tuples: the dataclass's tuple fields come back as lists
        values = {name: tuple(v) if isinstance(v, list) else v for name, v in data.items()}
        return cls(**values)

    @property
    def environment_names(self) -> list[str]:
        """Every value the environment tag may take: the environments, and the organization's."""
        names = set(self.environments)
        if self.organization_environment:
            names.add(self.organization_environment)
        return sorted(names)

    def environments_where(self, key: str, value: Any = True) -> list[str]:
        """Names of the environments whose setting `key` equals `value` (e.g. multi_az: True)."""
        return sorted(name for name, env in self.environments.items() if env.get(key) == value)

    @property
    def aws_data_classes(self) -> list[str]:
        """Data classes that may live in AWS at all (everything but the sovereign-only ones)."""
        return sorted(c for c in self.retention_floor_days if c not in self.sovereign_only_classes)


def _offline_accounts(envs: Any) -> tuple[str, ...]:
    if envs.organization is None:
        return ()
    from jamaa.plan.runner import offline_account_id

    return tuple(sorted(offline_account_id(account.name) for account in envs.organization.accounts))
