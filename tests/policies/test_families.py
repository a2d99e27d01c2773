"""Resource-type families: every pulumi-aws type that can do a family's harm is read by a policy or
exempt with a reason, enumerated from the installed SDK (a new type of a covered family fails here)."""

from __future__ import annotations

import importlib
from typing import Any

import pulumi_aws
import pytest

from jamaa.policy import Pack
from jamaa.policy.pack import policies_module

policies_module()  # puts policies/ on sys.path
families = importlib.import_module("jamaa_policies.families")
FAMILIES = families.FAMILIES
Family = families.Family
sdk_resource_types = families.sdk_resource_types


def readers(pack: Pack) -> dict[str, set[str]]:
    """Resource type -> the policies that read it (a resource policy's types, a stack policy's reads)."""
    found: dict[str, set[str]] = {}
    for info in pack.policies:
        for type_ in info.types:
            found.setdefault(type_, set()).add(info.name)
    return found


def test_the_sdk_is_enumerated() -> None:
    types = sdk_resource_types()
    assert len(types) > 1000, pulumi_aws.__file__
    assert {
        "aws:s3/bucketV2:BucketV2",
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    } <= types
    assert "aws:iam/ManagedPolicy:ManagedPolicy" not in types  # an enum, not a resource


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_member_of_a_family_is_read_or_exempt(pack: Pack, family: Any) -> None:
    sdk = sdk_resource_types()
    members = family.members(sdk)
    assert members, f"{family.name}: no pulumi-aws type matches {family.pattern}"
    read = readers(pack)
    uncovered = [t for t in members if t not in read and t not in family.exempt]
    assert uncovered == [], (
        f"{family.name} ({family.harm}): no policy reads {uncovered} and no exemption says why"
    )
    stale = [t for t in family.exempt if t not in sdk or t not in members]
    assert stale == [], f"{family.name}: exemptions for types the SDK does not ship in this family: {stale}"
    both = [t for t in family.exempt if t in read]
    assert both == [], f"{family.name}: exempt yet read by a policy: {both}"


def test_the_families_named_by_the_issue_are_covered(pack: Pack) -> None:
    read = readers(pack)
    for type_ in (
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketAclV2:BucketAclV2",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
        "aws:ec2/spotFleetRequest:SpotFleetRequest",
        "aws:ec2/fleet:Fleet",
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:lambda/functionUrl:FunctionUrl",
        "aws:lambda/permission:Permission",
    ):
        assert read.get(type_), type_


def test_a_new_type_in_a_family_fails_the_check(pack: Pack) -> None:
    """The check itself can fail: a type the SDK might add to the S3 family has no reader."""
    family = next(f for f in FAMILIES if f.name == "s3-public-exposure")
    members = family.members({*sdk_resource_types(), "aws:s3/bucketPolicyV2:BucketPolicyV2"})
    read = readers(pack)
    assert [t for t in members if t not in read and t not in family.exempt] == [
        "aws:s3/bucketPolicyV2:BucketPolicyV2"
    ]
