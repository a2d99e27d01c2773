"""Security properties of every stack's plan (24 region stacks + lab), asserted on the registered
resources' inputs. Each program runs once per session (see conftest.py)."""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pulumi_aws as aws
import pytest
from tenancy_plans import ROOT, STACKS, account_of, plan_strictly, token

from jamaa import ipplan
from jamaa.cloudinit import render_user_data
from jamaa.config import Environments
from jamaa.plan import UNKNOWN, Plan, PlannedResource

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:pulumi_aws")

PlanOf = Callable[[str], Plan]


def env_name(stack: str) -> str:
    return stack.rsplit("-", 1)[-1] if stack != "lab" else "lab"


def region_code(envs: Environments, stack: str) -> str:
    return envs.stack(stack).region.code


def plan_prefix(stack: str) -> str:
    """The stable name prefix: `ma-07-prod`; the lab stack models MA-07."""
    return "ma-07-lab" if stack == "lab" else stack


def one(plan: Plan, type_: str, name_suffix: str = "") -> PlannedResource:
    found = [r for r in plan.of_type(type_) if r.name.endswith(name_suffix)]
    assert len(found) == 1, f"{type_} *{name_suffix}: {[r.name for r in found]}"
    return found[0]


def doc(resource: PlannedResource, key: str = "policy") -> dict[str, Any]:
    value = resource.inputs[key]
    assert value != UNKNOWN, f"{resource.name}.{key} cannot be evaluated offline"
    parsed: dict[str, Any] = json.loads(value)
    return parsed


@cache
def taggable(type_: str) -> bool:
    """Whether the pulumi-aws resource class takes `tags` (from the installed SDK's signature)."""
    package, module_path, cls_name = type_.split(":")
    if package != "aws":
        return False
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    cls = getattr(module, cls_name)
    return "tags" in inspect.signature(cls._internal_init).parameters


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_plan_is_clean_and_small(plan_of: PlanOf, stack: str) -> None:
    plan = plan_of(stack)
    assert plan.project == "jamaa" and plan.stack == stack
    assert plan.warnings == []
    assert 100 < len(plan.resources) < 1000
    assert len({r.urn for r in plan.resources}) == len(plan.resources)
    for resource in plan.resources:
        assert "V2" not in resource.type.split(":")[-1], f"deprecated resource {resource.type}"


def test_residency_every_resource_in_an_allowed_region(
    plan_of: PlanOf, envs: Environments, stack: str
) -> None:
    plan = plan_of(stack)
    env = env_name(stack)
    providers = plan.of_type("pulumi:providers:aws")
    assert sorted(p.inputs["region"] for p in providers) == sorted(
        [envs.primary_region(env), envs.dr_region(env)]
    )
    allowed = set(envs.national.hosting.allowed_regions)
    for resource in plan.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider_urn is not None, f"{resource.name}: default provider"
            assert plan.region_of(resource) in allowed, resource.name
    dr_region = envs.dr_region(env)
    dr_resources = {
        r.type for r in plan.resources if r.type.startswith("aws:") and plan.region_of(r) == dr_region
    }
    assert dr_resources == {
        token(aws.kms.Key),
        token(aws.kms.Alias),
        token(aws.backup.Vault),
        token(aws.backup.VaultLockConfiguration),
        # AWS Config records the account in every region it uses (one recorder per region)
        token(aws.cfg.Recorder),
        token(aws.cfg.DeliveryChannel),
        token(aws.cfg.RecorderStatus),
    }


def test_nothing_sensitive_in_aws_and_sovereign_stores_absent(
    plan_of: PlanOf, envs: Environments, stack: str
) -> None:
    plan = plan_of(stack)
    region = envs.stack(stack).region
    for resource in plan.resources:
        if taggable(resource.type):
            assert plan.effective_tags(resource).get("jamaa:data-class") != "sensitive", resource.name
    sovereign = [s.name for s in region.data_stores if not s.location.startswith("aws")]
    names = " ".join(r.name for r in plan.resources)
    for store in sovereign:
        assert store not in names


def test_mandatory_tags_everywhere(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    target = envs.stack(stack)
    expected = {
        "jamaa:region": target.region.code,
        "jamaa:environment": target.environment.name,
        "jamaa:cost-centre": target.region.cost_centre,
    }
    checked = 0
    for resource in plan.resources:
        if not taggable(resource.type):
            continue
        tags = plan.effective_tags(resource)
        missing = [t for t in envs.national.mandatory_tags if t not in tags]
        assert not missing, f"{resource.name}: missing {missing}"
        assert {k: tags[k] for k in expected} == expected, resource.name
        assert tags["jamaa:data-class"] in envs.national.data_classes
        checked += 1
    assert checked > 80
    for server in plan.of_type(token(aws.ec2.Instance)):
        assert server.inputs["tags"]["jamaa:commune"] in {d.commune for d in target.region.dedicated_communes}


def test_network(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    target = envs.stack(stack)
    settings = target.environment
    cidr = envs.region_network(target.region.code)
    assert one(plan, token(aws.ec2.Vpc)).inputs["cidrBlock"] == str(cidr)
    subnets = plan.of_type(token(aws.ec2.Subnet))
    tiers: dict[str, list[PlannedResource]] = {}
    for subnet in subnets:
        tiers.setdefault(subnet.inputs["tags"]["jamaa:tier"], []).append(subnet)
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    dedicated = len(target.region.dedicated_communes)
    assert len(tiers["public"]) == len(tiers["data"]) == settings.availability_zones
    assert len(tiers["app"]) == settings.availability_zones + dedicated
    assert len({s.inputs["availabilityZone"] for s in tiers["data"]}) == settings.availability_zones >= 2
    if env_name(stack) == "prod":
        assert settings.availability_zones == 3
    for commune in target.region.dedicated_communes:
        slice_ = envs.dedicated_network(commune.commune)
        assert one(plan, token(aws.ec2.Subnet), f"dedicated-{commune.commune}").inputs["cidrBlock"] == str(
            slice_
        )
        assert slice_.subnet_of(ipplan.upper_half(cidr))
    nats = plan.of_type(token(aws.ec2.NatGateway))
    assert len(nats) == (settings.availability_zones if settings.nat_gateway_per_az else 1)
    default_sg = one(plan, token(aws.ec2.DefaultSecurityGroup))
    assert not default_sg.inputs.get("ingress") and not default_sg.inputs.get("egress")
    default_acl = one(plan, token(aws.ec2.DefaultNetworkAcl))
    assert not default_acl.inputs.get("ingress") and not default_acl.inputs.get("egress")
    acls = plan.of_type(token(aws.ec2.NetworkAcl))
    assert sorted(a.inputs["tags"]["jamaa:tier"] for a in acls) == ["app", "data", "public"]
    for acl in acls:
        for rule in acl.inputs["ingress"]:
            if rule["cidrBlock"] == "0.0.0.0/0":
                for admin_port in (22, 3389):
                    assert not rule["fromPort"] <= admin_port <= rule["toPort"], f"{acl.name}: {rule}"
    data_acl = next(a for a in acls if a.inputs["tags"]["jamaa:tier"] == "data")
    assert {r["fromPort"] for r in data_acl.inputs["ingress"]} == {5432}
    flow_logs = plan.of_type(token(aws.ec2.FlowLog))
    assert sorted(f.inputs["logDestinationType"] for f in flow_logs) == ["cloud-watch-logs", "s3"]
    assert all(f.inputs["trafficType"] == "ALL" for f in flow_logs)
    flow_group = one(plan, token(aws.cloudwatch.LogGroup), "flow-logs")
    assert flow_group.inputs["retentionInDays"] == settings.log_retention_days
    assert "kmsKeyId" in flow_group.unknown_keys  # the tenancy key, created in the same run
    endpoints = {
        e.inputs["serviceName"].rsplit(".", 1)[-1]: e for e in plan.of_type(token(aws.ec2.VpcEndpoint))
    }
    assert set(endpoints) == {"s3", "ssm", "ssmmessages", "ec2messages", "kms", "logs"}
    assert endpoints["s3"].inputs["vpcEndpointType"] == "Gateway"
    for service in ("ssm", "ssmmessages", "ec2messages", "kms", "logs"):
        assert endpoints[service].inputs["privateDnsEnabled"] is True
    # The data tier has no route out of the VPC.
    routes = plan.of_type(token(aws.ec2.Route))
    assert not [r for r in routes if "rt-data" in r.name]


def test_keys(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    settings = envs.stack(stack).environment
    keys = plan.of_type(token(aws.kms.Key))
    assert len(keys) == 2
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == settings.kms_deletion_window_days
        if env_name(stack) == "prod":
            assert key.inputs["deletionWindowInDays"] >= 30
        policy = doc(key)
        aws_principals = {
            s["Principal"]["AWS"]
            for s in policy["Statement"]
            if isinstance(s["Principal"], dict) and "AWS" in s["Principal"]
        }
        assert aws_principals == {f"arn:aws:iam::{account_of(plan_of, stack)}:root"}  # this account only
        for statement in policy["Statement"]:
            if "Service" in statement["Principal"]:
                assert "Condition" in statement, statement["Sid"]
    assert len(plan.of_type(token(aws.kms.Alias))) == 2


def test_buckets(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    settings = envs.stack(stack).environment
    buckets = plan.of_type(token(aws.s3.Bucket))
    assert len(buckets) == 4  # access logs, audit logs, archive, host backups (test_host_backups.py)
    for bucket in buckets:
        name = bucket.inputs["bucket"]
        parts = {r.type.split(":")[-1]: r for r in plan.children(bucket.parent_urn or "")}
        for part in parts.values():
            if part.type != token(aws.s3.Bucket):
                assert part.inputs["bucket"] == name, part.name  # linked by name, known offline
        assert parts["BucketVersioning"].inputs["versioningConfiguration"]["status"] == "Enabled"
        access = parts["BucketPublicAccessBlock"].inputs
        assert all(
            access[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        assert parts["BucketOwnershipControls"].inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        sse = parts["BucketServerSideEncryptionConfiguration"].inputs["rules"][0][
            "applyServerSideEncryptionByDefault"
        ]
        policy = doc(parts["BucketPolicy"])
        tls = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
        assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert "BucketLifecycleConfiguration" in parts
        if "access-logs" in name:
            assert sse["sseAlgorithm"] == "AES256"  # S3 access-log targets accept SSE-S3 only
            assert "BucketLogging" not in parts
        else:
            assert sse["sseAlgorithm"] == "aws:kms"
            assert "applyServerSideEncryptionByDefault.kmsMasterKeyId" in "".join(
                parts["BucketServerSideEncryptionConfiguration"].unknown_keys
            )
            assert (
                parts["BucketLogging"].inputs["targetBucket"].startswith("jamaa-")
                and "access-logs" in parts["BucketLogging"].inputs["targetBucket"]
            )
            lock = parts["BucketObjectLockConfiguration"].inputs["rule"]["defaultRetention"]
            assert bucket.inputs["objectLockEnabled"] is True
            assert lock["mode"] == settings.object_lock_mode
            if env_name(stack) == "prod":
                assert lock["mode"] == "COMPLIANCE"


def test_audit_logging(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    environment = envs.stack(stack).environment
    services = environment.security_services
    in_stack = not environment.organization  # else the organization's (log-archive, security)
    trails = plan.of_type(token(aws.cloudtrail.Trail))
    assert len(trails) == int(in_stack)
    for trail in trails:
        assert trail.inputs["isMultiRegionTrail"] is True
        assert trail.inputs["enableLogFileValidation"] is True
        assert trail.inputs["includeGlobalServiceEvents"] is True
        assert "kmsKeyId" in trail.unknown_keys  # the tenancy key is created in the same run
        assert trail.inputs["cloudWatchLogsGroupArn"].endswith(
            f":log-group:/jamaa/{plan_prefix(stack)}/cloudtrail:*"
        )
        assert trail.inputs["cloudWatchLogsRoleArn"].endswith(f":role/{plan_prefix(stack)}-trail-to-logs")
        assert "audit-logs" in trail.inputs["s3BucketName"]
    assert len(plan.of_type(token(aws.guardduty.Detector))) == int(services.guardduty and in_stack)
    regions = sorted(plan.region_of(r) for r in plan.of_type(token(aws.cfg.Recorder)))
    env = env_name(stack)
    assert regions == (sorted([envs.primary_region(env), envs.dr_region(env)]) if services.config else [])
    assert len(plan.of_type(token(aws.cfg.DeliveryChannel))) == len(regions)
    globals_ = [
        r
        for r in plan.of_type(token(aws.cfg.Recorder))
        if r.inputs["recordingGroup"]["includeGlobalResourceTypes"]
    ]
    assert len(globals_) == int(services.config)  # IAM recorded once, not per region
    subscriptions = plan.of_type(token(aws.securityhub.StandardsSubscription))
    assert len(subscriptions) == int(services.security_hub and in_stack)
    for subscription in subscriptions:
        assert "cis-aws-foundations-benchmark" in subscription.inputs["standardsArn"]


def test_member_account_provider(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    """Organization stacks deploy into their own member account through the deployment role; the
    lab stack, without an organization, uses the credentials it is given."""
    plan = plan_of(stack)
    providers = plan.of_type("pulumi:providers:aws")
    if not envs.stack(stack).environment.organization:
        assert all("assumeRoles" not in p.inputs for p in providers)
        return
    accounts = plan_of("org").outputs["accounts"]
    for provider in providers:
        (role,) = json.loads(provider.inputs["assumeRoles"])
        assert role["roleArn"] == f"arn:aws:iam::{accounts[stack]}:role/jamaa-deployment"


def test_archive(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    region = envs.stack(stack).region
    dedicated = sorted(d.commune for d in region.dedicated_communes)
    primary = envs.primary_region(env_name(stack))
    policies = {
        p.name.rsplit("-", 1)[-1]: p
        for p in plan.of_type(token(aws.iam.Policy))
        if "-archive-access-" in p.name
    }
    assert set(policies) == {"shared", *dedicated}
    for commune in dedicated:
        statements = doc(policies[commune])["Statement"]
        allowed = next(s for s in statements if s["Sid"] == "ReadWriteOwnRecords")["Resource"]
        assert allowed == [f"arn:aws:s3:::jamaa-{plan_prefix(stack)}-archive-{primary}/communes/{commune}/*"]
        assert len(allowed) == 1
    shared = doc(policies["shared"])["Statement"]
    denied = next((s for s in shared if s["Effect"] == "Deny"), {"Resource": []})["Resource"]
    assert sorted(r.split("/")[-2] for r in denied) == dedicated


def test_database(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    target = envs.stack(stack)
    settings = target.environment.database
    db = one(plan, token(aws.rds.Instance))
    inputs = db.inputs
    assert inputs["storageEncrypted"] is True and "kmsKeyId" in db.unknown_keys
    assert inputs["publiclyAccessible"] is False
    assert inputs["multiAz"] is settings.multi_az
    assert inputs["deletionProtection"] is settings.deletion_protection
    if env_name(stack) == "prod":
        assert inputs["multiAz"] is True and inputs["deletionProtection"] is True
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["manageMasterUserPassword"] is True and "password" not in inputs
    assert inputs["performanceInsightsEnabled"] is True and "performanceInsightsKmsKeyId" in db.unknown_keys
    assert inputs["backupRetentionPeriod"] == min(35, envs.national.retention_floor("personal"))
    params = {p["name"]: p["value"] for p in one(plan, token(aws.rds.ParameterGroup)).inputs["parameters"]}
    assert params["rds.force_ssl"] == "1"
    assert inputs["parameterGroupName"] == one(plan, token(aws.rds.ParameterGroup)).inputs["name"]


def test_backup(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    settings = envs.stack(stack).environment
    env = env_name(stack)
    vaults = plan.of_type(token(aws.backup.Vault))
    assert sorted(plan.region_of(v) for v in vaults) == sorted(
        [envs.primary_region(env), envs.dr_region(env)]
    )
    locks = plan.of_type(token(aws.backup.VaultLockConfiguration))
    assert len(locks) == 2
    for lock in locks:
        compliance = "changeableForDays" in lock.inputs
        assert compliance is (settings.backup_vault_lock_mode == "COMPLIANCE")
        if env == "prod":
            assert compliance
    plans = {p.name.rsplit("-", 1)[-1]: p for p in plan.of_type(token(aws.backup.Plan))}
    assert set(plans) == {c for c in settings.backup_retention_days if c != "sensitive"}
    for data_class, backup_plan in plans.items():
        floor = envs.national.retention_floor(data_class)
        rules = backup_plan.inputs["rules"]
        assert sorted(r["ruleName"].rsplit("-", 1)[-1] for r in rules) == ["daily", "monthly", "weekly"]
        for rule in rules:
            assert rule["lifecycle"]["deleteAfter"] >= floor
            assert rule["copyActions"][0]["lifecycle"]["deleteAfter"] >= floor
            destination = rule["copyActions"][0]["destinationVaultArn"]
            assert destination.startswith(f"arn:aws:backup:{envs.dr_region(env)}:")
            assert destination.endswith(f":backup-vault:{plan_prefix(stack)}-vault-dr")
    selections = plan.of_type(token(aws.backup.Selection))
    assert sorted(s.inputs["conditions"][0]["stringEquals"][0]["value"] for s in selections) == sorted(plans)


def test_servers(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    target = envs.stack(stack)
    for template in plan.of_type(token(aws.ec2.LaunchTemplate)):
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert all(m["ebs"]["encrypted"] == "true" for m in template.inputs["blockDeviceMappings"])
        # the root volume and the data volume of servers.disk, and the user data rendered from it
        disk = target.environment.servers.disk
        assert sorted(m["ebs"]["volumeSize"] for m in template.inputs["blockDeviceMappings"]) == sorted(
            [disk.root_volume_gb, disk.data_volume_gb]
        )
        assert base64.b64decode(template.inputs["userData"]).decode() == render_user_data(
            target.environment.name, disk
        )
        for interface in template.inputs.get("networkInterfaces", []):
            assert interface["associatePublicIpAddress"] == "false"
    instances = plan.of_type(token(aws.ec2.Instance))
    assert sorted(i.inputs["tags"]["jamaa:commune"] for i in instances) == sorted(
        d.commune for d in target.region.dedicated_communes
    )
    for instance in instances:
        assert instance.inputs["metadataOptions"]["httpTokens"] == "required"
        assert instance.inputs["rootBlockDevice"]["encrypted"] is True
        assert instance.inputs["associatePublicIpAddress"] is False
    rules = plan.of_type(token(aws.lb.ListenerRule))
    hosts = sorted(r.inputs["conditions"][0]["hostHeader"]["values"][0].split(".")[0] for r in rules)
    assert hosts == sorted(d.commune for d in target.region.dedicated_communes)
    assert len({r.inputs["priority"] for r in rules}) == len(rules)
    pool = one(plan, token(aws.autoscaling.Group))
    assert pool.inputs["desiredCapacity"] == target.environment.servers.shared_pool_size
    alb = one(plan, token(aws.lb.LoadBalancer))
    assert alb.inputs["internal"] is True and alb.inputs["dropInvalidHeaderFields"] is True
    listener = one(plan, token(aws.lb.Listener))
    assert listener.inputs["protocol"] == "HTTPS" and "TLS13" in listener.inputs["sslPolicy"]
    server_rules = [r for r in plan.of_type(token(aws.vpc.SecurityGroupIngressRule)) if "server-in" in r.name]
    for rule in server_rules:
        source = rule.inputs.get("cidrIpv4")
        assert source != "0.0.0.0/0"
        assert "referencedSecurityGroupId" in rule.unknown_keys or source == "10.64.0.0/16"


def test_offices(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    region = envs.stack(stack).region
    gateways = plan.of_type(token(aws.ec2.CustomerGateway))
    assert sorted(g.inputs["ipAddress"] for g in gateways) == sorted(
        str(o.gateway_ip) for o in region.offices
    )
    for office in region.offices:
        vpn = one(plan, token(aws.ec2.VpnConnection), f"vpn-{office.commune}")
        assert vpn.inputs["tags"]["jamaa:commune"] == office.commune
        assert vpn.inputs["tunnel1IkeVersions"] == ["ikev2"]
        route = one(plan, token(aws.ec2.VpnConnectionRoute), f"vpn-route-{office.commune}")
        assert route.inputs["destinationCidrBlock"] == str(envs.office_network(region.code, office.commune))


def test_budgets(plan_of: PlanOf, envs: Environments, stack: str) -> None:
    plan = plan_of(stack)
    target = envs.stack(stack)
    budget = one(plan, token(aws.budgets.Budget), f"{plan_prefix(stack)}-budget")
    assert budget.inputs["limitAmount"] == str(target.environment.monthly_budget_usd)
    assert budget.inputs["costFilters"][0]["values"] == [f"user:jamaa:region${target.region.code}"]
    tags = {t.inputs["tagKey"] for t in plan.of_type(token(aws.costexplorer.CostAllocationTag))}
    # only the payer account activates cost tags: the org stack does it for the organization
    expected = (
        set() if target.environment.organization else set(envs.national.mandatory_tags) | {"jamaa:commune"}
    )
    assert tags == expected


def test_names_are_stable_and_stacks_isolated(plan_of: PlanOf) -> None:
    again = plan_strictly("ma-07-prod")
    first = plan_of("ma-07-prod")
    assert [r.urn for r in again.resources] == [r.urn for r in first.resources]
    assert [r.inputs for r in again.resources] == [r.inputs for r in first.resources]
    other = plan_of("ma-01-staging")
    assert all(r.urn.startswith("urn:pulumi:ma-01-staging::jamaa::") for r in other.resources)


def test_certificate_is_validated_before_the_listener_serves(
    plan_of: PlanOf, envs: Environments, stack: str
) -> None:
    """The ACM certificate is validated by a record in the zone the stack owns (national.yaml:
    hosting.certificate_validation = route53), and the HTTPS listener takes the validated ARN, so
    `pulumi up` waits for the validation instead of failing on a pending certificate."""
    plan = plan_of(stack)
    region = envs.stack(stack).region
    domain = f"{region.slug}.{env_name(stack)}.{envs.national.hosting.internal_domain}"
    assert envs.national.hosting.certificate_validation == "route53"
    zone = one(plan, token(aws.route53.Zone))
    assert zone.inputs["name"] == domain
    record = one(plan, token(aws.route53.Record), "alb-cert-validation-record")
    assert zone.urn in record.property_dependencies["zoneId"]
    cert = one(plan, token(aws.acm.Certificate))
    assert cert.inputs["domainName"] == domain and cert.inputs["validationMethod"] == "DNS"
    assert cert.urn in record.property_dependencies["name"]
    validation = one(plan, token(aws.acm.CertificateValidation))
    assert record.urn in validation.property_dependencies["validationRecordFqdns"]
    listener = one(plan, token(aws.lb.Listener), "alb-https")
    assert listener.property_dependencies["certificateArn"] == [validation.urn]


def test_external_certificate_validation(tmp_path: Path) -> None:
    """hosting.certificate_validation = external: no zone of the stack's own; the listener still
    waits for the certificate, whose record the parent domain's owner publishes (stack output)."""
    envdir = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", envdir, ignore=shutil.ignore_patterns("generated", "secrets"))
    national = envdir / "national.yaml"
    text = national.read_text(encoding="utf-8")
    national.write_text(text.replace("certificate_validation: route53", "certificate_validation: external"))
    plan = plan_strictly("lab", {"jamaa:environments": str(envdir)})
    assert plan.of_type(token(aws.route53.Zone)) == [] and plan.of_type(token(aws.route53.Record)) == []
    validation = one(plan, token(aws.acm.CertificateValidation))
    assert "validationRecordFqdns" not in validation.inputs or not validation.inputs["validationRecordFqdns"]
    listener = one(plan, token(aws.lb.Listener), "alb-https")
    assert listener.property_dependencies["certificateArn"] == [validation.urn]
    assert "certificate_validation" in plan.outputs  # what the parent domain's owner publishes
