"""What every component needs: the stack's region, environment, names, tags and providers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from jamaa.config import Environments, EnvironmentSettings, Region

MANAGED_BY = "pulumi"
PROJECT = "jamaa"


class ResidencyError(Exception):
    """Something would place data where national.yaml forbids it."""


def mandatory_tags(envs: Environments, region: Region, env: str) -> dict[str, str]:
    """The mandatory tags of national.yaml with this stack's values (the providers' default tags)."""
    values = {
        "jamaa:region": region.code,
        "jamaa:environment": env,
        "jamaa:data-class": "internal",
        "jamaa:cost-centre": region.cost_centre,
        "jamaa:managed-by": MANAGED_BY,
    }
    missing = [tag for tag in envs.national.mandatory_tags if tag not in values]
    if missing:
        raise ValueError(f"national.yaml: mandatory_tags: no value source for {', '.join(missing)}")
    return {tag: values[tag] for tag in envs.national.mandatory_tags}


@dataclass(frozen=True)
class Tenancy:
    """The resolved stack: region × environment, with the national settings it obeys."""

    envs: Environments
    region: Region
    environment: EnvironmentSettings
    aws_region: str
    dr_region: str
    account_id: str  # from the caller identity (an invoke); a placeholder in the offline plan

    @property
    def env(self) -> str:
        return self.environment.name

    @property
    def prefix(self) -> str:
        """Stable logical-name prefix: `ma-07-prod`."""
        return f"{self.region.code.lower()}-{self.env}"

    def name(self, *parts: str) -> str:
        """A stable logical (and, where AWS allows, physical) name: `ma-07-prod-archive`."""
        return "-".join([self.prefix, *parts])

    def bucket_name(self, purpose: str, aws_region: str | None = None) -> str:
        """Globally unique S3 name derived from config only: `jamaa-ma-07-prod-archive-eu-south-2`."""
        return f"{PROJECT}-{self.prefix}-{purpose}-{aws_region or self.aws_region}"

    def default_tags(self) -> dict[str, str]:
        return mandatory_tags(self.envs, self.region, self.env)

    def tags(self, name: str, data_class: str = "internal", commune: str | None = None) -> dict[str, str]:
        """Per-resource tags: its name, its data class and (where relevant) its commune."""
        self.check_cloud_class(data_class, name)
        tags = {"Name": name, "jamaa:data-class": data_class}
        if commune is not None:
            tags["jamaa:commune"] = commune
        return tags

    def check_cloud_class(self, data_class: str, what: str) -> None:
        """Residency: nothing of a sovereign-only class is ever placed in AWS."""
        policy = self.envs.national.data_classes.get(data_class)  # type: ignore[call-overload]
        if policy is None:
            raise ValueError(f"{what}: unknown data class {data_class!r}")
        if policy.sovereign_only:
            raise ResidencyError(
                f"{what}: data class {data_class!r} is sovereign-only (Decree 2-24-921) and cannot be "
                f"placed in AWS"
            )
        if self.aws_region not in self.envs.national.hosting.allowed_regions:
            raise ResidencyError(f"{what}: {self.aws_region} is outside national.yaml's allowed_regions")

    def cloud_classes(self) -> list[str]:
        """The data classes that may live in AWS, in national order."""
        return [name for name, policy in self.envs.national.data_classes.items() if not policy.sovereign_only]

    def role_arn(self, role_name: str) -> str:
        """A role's ARN from its (config-derived) name: known offline, unlike `role.arn`."""
        return self.arn("iam", f"role/{role_name}", region="")

    def policy_arn(self, policy_name: str) -> str:
        return self.arn("iam", f"policy/{policy_name}", region="")

    def log_group_arn(self, group_name: str, region: str | None = None) -> str:
        return self.arn("logs", f"log-group:{group_name}", region)

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        """An ARN in this account, known offline once the account id is (from the caller identity)."""
        where = self.aws_region if region is None else region
        return f"arn:aws:{service}:{where}:{self.account_id}:{resource}"


def make_provider(
    envs: Environments, region: Region, env: str, aws_region: str, label: str, role_arn: str | None = None
) -> aws.Provider:
    """An explicit provider pinned to a region of national.yaml, carrying the mandatory tags; with
    `role_arn`, into the account of that role (the stack's member account)."""
    if aws_region not in envs.national.hosting.allowed_regions:
        raise ResidencyError(f"provider {label}: {aws_region} is outside national.yaml's allowed_regions")
    name = f"{region.code.lower()}-{env}-aws-{label}"
    return aws.Provider(
        name,
        region=aws_region,
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=role_arn, session_name=f"jamaa-{name}")]
        if role_arn
        else None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=mandatory_tags(envs, region, env)),
    )


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented to it (so it inherits its provider)."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def _has_output(value: Any) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, dict):
        return any(_has_output(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_output(v) for v in value)
    return False


def policy_json(statements: list[Any]) -> pulumi.Input[str]:
    """An IAM policy document rendered as stable JSON: a plain string when every value is known
    now, an Output only when a statement refers to a resource not yet created."""
    document = {"Version": "2012-10-17", "Statement": statements}
    if not _has_output(statements):
        return json.dumps(document, sort_keys=True)
    return pulumi.Output.from_input(document).apply(lambda doc: json.dumps(doc, sort_keys=True))


def assume_role_policy(service: str, account_id: str | None = None) -> pulumi.Input[str]:
    """A trust policy for one AWS service; with `account_id`, limited to calls made for this account
    (the confused-deputy guard; EC2 instance roles take no such condition)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if account_id is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return policy_json([statement])
