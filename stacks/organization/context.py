"""What the organization stacks share: their names and tags, providers into member accounts, and
the StackReference through which later stacks read the `org` stack's outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from tenancy.context import MANAGED_BY, PROJECT, ResidencyError

from jamaa.config import Environments, Organization

NATIONAL = "national"
"""The `jamaa:region` tag of what belongs to the whole organization, not to one region."""
ENVIRONMENT = "organization"
"""The `jamaa:environment` tag of the organization stacks' resources."""


def org_tags(envs: Environments) -> dict[str, str]:
    """The mandatory tags of national.yaml with the organization's values."""
    org = organization_of(envs)
    values = {
        "jamaa:region": NATIONAL,
        "jamaa:environment": ENVIRONMENT,
        "jamaa:data-class": "internal",
        "jamaa:cost-centre": org.management.cost_centre,
        "jamaa:managed-by": MANAGED_BY,
    }
    missing = [tag for tag in envs.national.mandatory_tags if tag not in values]
    if missing:
        raise ValueError(f"national.yaml: mandatory_tags: no value source for {', '.join(missing)}")
    return {tag: values[tag] for tag in envs.national.mandatory_tags}


def organization_of(envs: Environments) -> Organization:
    if envs.organization is None:
        raise ValueError(f"{envs.root / 'organization.yaml'}: the organization stacks need this file")
    return envs.organization


@dataclass(frozen=True)
class OrgContext:
    """One organization stack: its name prefix, home and DR regions, account (once known)."""

    envs: Environments
    stack: str  # org | log-archive | security
    aws_region: str
    dr_region: str
    account_id: str

    @property
    def organization(self) -> Organization:
        return organization_of(self.envs)

    @property
    def prefix(self) -> str:
        """Logical-name prefix: `org`, `org-logs`, `org-security`."""
        names = {
            "org": "org",
            "log-archive": "org-logs",
            "security": "org-security",
            "management": "org-management",
        }
        return names[self.stack]

    @property
    def regions(self) -> list[str]:
        """Every region the organization allows (where detective services must be on)."""
        return list(self.envs.national.hosting.allowed_regions)

    def name(self, *parts: str) -> str:
        return "-".join([self.prefix, *parts])

    def bucket_name(self, purpose: str, aws_region: str | None = None) -> str:
        return f"{PROJECT}-{self.prefix}-{purpose}-{aws_region or self.aws_region}"

    def default_tags(self) -> dict[str, str]:
        return org_tags(self.envs)

    def tags(self, name: str, data_class: str = "internal", commune: str | None = None) -> dict[str, str]:
        self.check_cloud_class(data_class, name)
        return {"Name": name, "jamaa:data-class": data_class}

    def check_cloud_class(self, data_class: str, what: str) -> None:
        policy = self.envs.national.data_classes.get(data_class)  # type: ignore[call-overload]
        if policy is None or policy.sovereign_only:
            raise ResidencyError(f"{what}: data class {data_class!r} cannot be placed in AWS")

    def role_arn(self, role_name: str, account: str | None = None) -> str:
        return f"arn:aws:iam::{account or self.account_id}:role/{role_name}"

    def log_group_arn(self, group_name: str, region: str | None = None) -> str:
        return f"arn:aws:logs:{region or self.aws_region}:{self.account_id}:log-group:{group_name}"


def provider(
    envs: Environments,
    label: str,
    aws_region: str,
    role_arn: pulumi.Input[str] | None = None,
    tags: dict[str, str] | None = None,
) -> aws.Provider:
    """An explicit provider in an allowed region; with `role_arn`, into the account of that role."""
    if aws_region not in envs.national.hosting.allowed_regions:
        raise ResidencyError(f"provider {label}: {aws_region} is outside national.yaml's allowed_regions")
    return aws.Provider(
        label,
        region=aws_region,
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=role_arn, session_name=f"jamaa-{label}")]
        if role_arn is not None
        else None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags or org_tags(envs)),
    )


class MissingOutputError(Exception):
    """A stack this one depends on has not exported what it needs (not deployed yet, or older)."""


class StackOutputs:
    """Another stack's outputs, read through one `pulumi.StackReference`.

    Values are read once, at the start (as a preview does): a missing output stops the program
    with one line naming the referenced stack and the output, before anything is registered."""

    def __init__(self, stack_name: str, required: tuple[str, ...]) -> None:
        from pulumi.runtime.sync_await import _sync_await

        self.stack_name = stack_name
        self.ref = pulumi.StackReference(stack_name)
        self.values: dict[str, Any] = {}
        short = stack_name.rsplit("/", 1)[-1]
        for key in required:
            details = _sync_await(self.ref.get_output_details(key))
            if details.value is None and details.secret_value is None:
                raise MissingOutputError(
                    f"stack reference {stack_name}: output {key!r} is missing "
                    f"(deploy that stack first: `pulumi up -s {short}`)"
                )
            self.values[key] = details.value if details.value is not None else details.secret_value


class OrgReference(StackOutputs):
    """The `org` stack's outputs: account ids by stack (or kind), the deployment role's name."""

    OUTPUTS = ("accounts", "organization_id", "root_id", "deployment_role", "management_account_id")

    def __init__(self, stack_name: str) -> None:
        super().__init__(stack_name, self.OUTPUTS)

    def account_id(self, account: str) -> str:
        accounts = self.values["accounts"]
        if not isinstance(accounts, dict) or not isinstance(accounts.get(account), str):
            raise MissingOutputError(
                f"stack reference {self.stack_name}: output 'accounts' has no account {account!r} "
                f"(add it to environments/organization.yaml and deploy the org stack)"
            )
        return str(accounts[account])

    def deployment_role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{self.account_id(account)}:role/{self.values['deployment_role']}"


def org_stack_name(stack: str = "org") -> str:
    """The fully qualified name of an organization stack of this project (self-managed backend:
    `organization/<project>/<stack>`); `jamaa:org-stack` overrides the org stack's."""
    configured = pulumi.Config("jamaa").get("org-stack") if stack == "org" else None
    return configured or f"{pulumi.get_organization() or 'organization'}/{pulumi.get_project()}/{stack}"
