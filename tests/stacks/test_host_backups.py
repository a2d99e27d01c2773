"""The servers' restic bucket in every stack (stacks/tenancy/host_backups.py): locked, encrypted,
private, logged; each server role reaches only its own prefix and can never remove a stored version;
and roles/backup's default bucket and prefix are the ones the stack creates and grants."""

from __future__ import annotations

import json
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Any

import pulumi_aws as aws
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from tenancy_plans import ROOT, STACKS, account_of, token

from jamaa.config import Environments
from jamaa.plan import UNKNOWN, Plan, PlannedResource

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:pulumi_aws")

PlanOf = Callable[[str], Plan]
OutputsOf = Callable[[str], dict[str, Any]]
DESTRUCTIVE = {
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
}
ROLE_DEFAULTS = ROOT / "roles" / "backup" / "defaults" / "main.yml"


def env_name(stack: str) -> str:
    return stack.rsplit("-", 1)[-1] if stack != "lab" else "lab"


def plan_prefix(stack: str) -> str:
    return "ma-07-lab" if stack == "lab" else stack


def document(resource: PlannedResource, key: str = "policy") -> dict[str, Any]:
    value = resource.inputs[key]
    assert value != UNKNOWN, f"{resource.name}.{key} cannot be evaluated offline"
    parsed: dict[str, Any] = json.loads(value)
    return parsed


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def server_names(envs: Environments, stack: str) -> dict[str, str]:
    """Server role → the Name tag its instances carry (the inventory host name)."""
    prefix = plan_prefix(stack)
    communes = sorted(d.commune for d in envs.stack(stack).region.dedicated_communes)
    return {"shared": f"{prefix}-shared-server", **{c: f"{prefix}-server-{c}" for c in communes}}


def role_default(name: str, **inventory: Any) -> str:
    """A roles/backup default rendered by Ansible's own templar with a host's inventory variables."""
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text())
    variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in defaults.items()}
    variables.update(inventory)
    rendered: str = Templar(loader=DataLoader(), variables=variables).template(
        trust_as_template(f"{{{{ {name} }}}}")
    )
    return rendered


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_host_backups_bucket_is_locked_encrypted_private_and_logged(
    plan_of: PlanOf, envs: Environments, stack: str
) -> None:
    plan = plan_of(stack)
    target = envs.stack(stack)
    settings = target.environment
    primary = envs.primary_region(env_name(stack))
    buckets = [b for b in plan.of_type(token(aws.s3.Bucket)) if b.name.endswith("-bucket-host-backups")]
    assert len(buckets) == 1
    bucket = buckets[0]
    name = bucket.inputs["bucket"]
    assert name == f"jamaa-{plan_prefix(stack)}-host-backups-{primary}"
    assert plan.region_of(bucket) == primary
    assert bucket.inputs["objectLockEnabled"] is True and bucket.inputs["forceDestroy"] is False
    parts = {r.type.split(":")[-1]: r for r in plan.children(bucket.parent_urn or "")}
    for part in parts.values():
        if part is not bucket:
            assert part.inputs["bucket"] == name, part.name

    data_class = bucket.inputs["tags"]["jamaa:data-class"]
    server_classes = {d.data_class for d in target.region.dedicated_communes} | {
        s.data_class
        for s in target.region.data_stores
        if s.name == "archive" and s.location.startswith("aws")
    }
    floor = envs.national.retention_floor(data_class)
    assert floor == max(envs.national.retention_floor(c) for c in server_classes | {data_class})
    lock = parts["BucketObjectLockConfiguration"].inputs["rule"]["defaultRetention"]
    assert lock["mode"] == settings.backup_vault_lock_mode
    if env_name(stack) == "prod":
        assert lock["mode"] == "COMPLIANCE"
    else:
        assert lock["mode"] == "GOVERNANCE"
    assert lock["days"] >= floor
    assert lock["days"] >= settings.backup_retention_days.get(data_class, 0)

    assert parts["BucketVersioning"].inputs["versioningConfiguration"]["status"] == "Enabled"
    encryption = parts["BucketServerSideEncryptionConfiguration"]
    rule = encryption.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    assert "rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId" in encryption.unknown_keys  # the key
    access = parts["BucketPublicAccessBlock"].inputs
    assert all(
        access[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    logging = parts["BucketLogging"].inputs
    audit_access_logs = f"jamaa-{plan_prefix(stack)}-access-logs-{primary}"
    assert logging["targetBucket"] == audit_access_logs
    assert any(b.inputs["bucket"] == audit_access_logs for b in plan.of_type(token(aws.s3.Bucket)))
    lifecycle = parts["BucketLifecycleConfiguration"].inputs["rules"][0]
    assert lifecycle["status"] == "Enabled"
    assert lifecycle["noncurrentVersionExpiration"]["noncurrentDays"] == lock["days"]
    assert "expiration" not in lifecycle  # current objects are restic's to forget, never S3's

    statements = {s["Sid"]: s for s in document(parts["BucketPolicy"])["Statement"]}
    tls = statements["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    never = statements["ServersNeverRemoveVersions"]
    assert never["Effect"] == "Deny" and set(never["Action"]) == DESTRUCTIVE
    assert never["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    servers_roles = never["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert servers_roles == f"arn:aws:iam::{account_of(plan_of, stack)}:role/{plan_prefix(stack)}-server-*"
    roles = {r.inputs["name"] for r in plan.of_type(token(aws.iam.Role))}
    assert {r for r in roles if fnmatch(r, servers_roles.rsplit("/", 1)[1])} == {
        f"{plan_prefix(stack)}-server-{who}" for who in server_names(envs, stack)
    }  # every server role, and no other role of the stack


def test_each_server_role_reaches_only_its_own_prefix_and_never_removes_versions(
    plan_of: PlanOf, envs: Environments, stack: str
) -> None:
    plan = plan_of(stack)
    prefix = plan_prefix(stack)
    bucket = f"arn:aws:s3:::jamaa-{prefix}-host-backups-{envs.primary_region(env_name(stack))}"
    policies = {
        p.name.removeprefix(f"{prefix}-host-backups-access-"): p
        for p in plan.of_type(token(aws.iam.Policy))
        if "-host-backups-access-" in p.name
    }
    servers = server_names(envs, stack)
    assert set(policies) == set(servers)
    attachments = {
        a.inputs["role"]: a
        for a in plan.of_type(token(aws.iam.RolePolicyAttachment))
        if a.name.endswith("-host-backups")
    }
    assert set(attachments) == {f"{prefix}-server-{who}" for who in servers}
    for who, server in servers.items():
        policy = policies[who]
        attachment = attachments[f"{prefix}-server-{who}"]
        assert (
            attachment.inputs["policyArn"]
            == f"arn:aws:iam::{account_of(plan_of, stack)}:policy/{policy.inputs['name']}"
        )
        assert policy.urn in attachment.dependencies  # attached once the policy exists
        own = f"servers/{server}/"
        statements = document(policy)["Statement"]
        allowed = [s for s in statements if s["Effect"] == "Allow"]
        denied = [s for s in statements if s["Effect"] == "Deny"]
        s3_objects = [r for s in allowed for r in as_list(s["Resource"]) if r.startswith(f"{bucket}/")]
        assert s3_objects == [f"{bucket}/{own}*"], who
        listing = next(s for s in allowed if s["Action"] == "s3:ListBucket")
        assert listing["Resource"] == bucket
        assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{own}*"]}}
        objects = next(s for s in allowed if s["Resource"] == f"{bucket}/{own}*")
        assert set(objects["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
        for statement in allowed:
            actions = set(as_list(statement["Action"]))
            assert not actions & DESTRUCTIVE, (who, statement["Sid"])
            assert not any(a.endswith("*") for a in actions), (who, statement["Sid"])
            resources = as_list(statement["Resource"])
            assert "*" not in resources and f"{bucket}/*" not in resources, (who, statement["Sid"])
        kms = next(s for s in allowed if any(a.startswith("kms:") for a in as_list(s["Action"])))
        assert set(kms["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
        region = envs.primary_region(env_name(stack))
        assert kms["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{region}.amazonaws.com"}
        assert len(denied) == 1
        assert set(denied[0]["Action"]) == DESTRUCTIVE
        assert denied[0]["Resource"] == [bucket, f"{bucket}/*"]
        # Only the roles of that server kind: the shared pool's role, or the commune's own.
        if who != "shared":
            assert policy.inputs["tags"]["jamaa:commune"] == who
    # The servers' Name tags are the names the prefixes use (the inventory's host names).
    pool = next(iter(plan.of_type(token(aws.autoscaling.Group))))
    assert {t["key"]: t["value"] for t in pool.inputs["tags"]}["Name"] == servers["shared"]
    # The pool's instances (tags propagated by the group and the launch template) carry no jamaa:host:
    # the inventories name them <Name>-<instance id>.
    assert "jamaa:host" not in {t["key"] for t in pool.inputs["tags"]}
    (template,) = [t for t in plan.of_type(token(aws.ec2.LaunchTemplate)) if t.name.endswith("lt-shared")]
    for spec in template.inputs["tagSpecifications"]:
        assert spec["tags"]["Name"] == servers["shared"]
        assert "jamaa:host" not in spec["tags"]
    for instance in plan.of_type(token(aws.ec2.Instance)):
        name = servers[instance.inputs["tags"]["jamaa:commune"]]
        assert instance.inputs["tags"]["Name"] == name
        assert instance.inputs["tags"]["jamaa:host"] == name  # the dedicated server's inventory name


def granted_prefixes(plan: Plan, stack: str) -> dict[str, str]:
    """Server role → the object prefix its host-backups policy allows (`servers/<Name>/`)."""
    prefix = plan_prefix(stack)
    granted = {}
    for policy in plan.of_type(token(aws.iam.Policy)):
        if "-host-backups-access-" not in policy.name:
            continue
        listing = next(s for s in document(policy)["Statement"] if s.get("Action") == "s3:ListBucket")
        (pattern,) = listing["Condition"]["StringLike"]["s3:prefix"]
        granted[policy.name.removeprefix(f"{prefix}-host-backups-access-")] = pattern.removesuffix("*")
    return granted


def test_role_default_bucket_and_prefix_are_the_stacks(
    plan_of: PlanOf, outputs_of: OutputsOf, envs: Environments, stack: str
) -> None:
    """roles/backup, given only the inventory a tenancy host has (region, environment, host name), names
    the bucket the stack exports and the prefix the stack grants its role."""
    target = envs.stack(stack)
    exported = outputs_of(stack)["host_backups_bucket"]
    assert exported == f"jamaa-{plan_prefix(stack)}-host-backups-{envs.primary_region(env_name(stack))}"
    plan = plan_of(stack)
    for who, server in server_names(envs, stack).items():
        # The inventories (jamaa inventory, environments/*/jamaa.aws_ec2.yml) name a dedicated server
        # by its Name and each pool instance <Name>-<instance id>; both give the Name as jamaa_name_tag.
        host = server if who != "shared" else f"{server}-i-0a1b2c3d4e5f60718"
        inventory = {
            "jamaa_region": target.region.code,
            "jamaa_environment": target.environment.name,
            "jamaa_name_tag": server,
            "inventory_hostname": host,
        }
        assert role_default("backup_s3_bucket", **inventory) == exported
        prefix = role_default("backup_repository_prefix", **inventory)
        assert prefix == f"servers/{server}/{host}"
        # Inside what the server's role may reach, and nowhere another server's role reaches.
        granted = granted_prefixes(plan, stack)
        assert [w for w, own in granted.items() if f"{prefix}/config".startswith(own)] == [who]
        assert role_default("backup_s3_use_instance_role", **inventory) is False
    # Two pool instances: two repositories, under the one prefix the pool's role reaches.
    pool = server_names(envs, stack)["shared"]
    repositories = {
        role_default(
            "backup_repository_prefix",
            jamaa_region=target.region.code,
            jamaa_environment=target.environment.name,
            jamaa_name_tag=pool,
            inventory_hostname=f"{pool}-{iid}",
        )
        for iid in ("i-0123456789abcdef0", "i-0fedcba9876543210")
    }
    assert len(repositories) == 2
    assert all(r.startswith(f"servers/{pool}/{pool}-i-") for r in repositories)


def test_the_lab_keeps_its_own_bucket_and_layout() -> None:
    """The lab's hosts (jamaa_lab) write to the bucket jamaa/drill/lab.py makes on moto, one repository
    per host at its root, with the lab's access key."""
    lab = {
        "jamaa_lab": True,
        "jamaa_region": "MA-07",
        "jamaa_environment": "lab",
        "inventory_hostname": "srv-01",
    }
    assert role_default("backup_s3_bucket", **lab) == "jamaa-lab-host-backups"
    assert role_default("backup_repository_prefix", **lab) == "srv-01"
