"""Compliant and non-compliant fixtures for every policy (inputs in the engine's camelCase).

Each case is (policy, case id, resources, expected): `expected` None means the resources comply (no
violation, nothing left undecided); otherwise it is a fragment of the violation message.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from policy_kit import Res, provider, unknown

from jamaa.policy.pack import policies_module

policies_module()  # puts policies/ on sys.path
T = importlib.import_module("jamaa_policies.families")  # the resource-type names, once

MT = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "prod",
    "jamaa:data-class": "internal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}

BUCKET = T.S3_BUCKETS[0]
PAB = T.S3_PUBLIC_ACCESS_BLOCKS[0]
SSE = T.S3_SSE[0]
VERSIONING = T.S3_VERSIONING[0]
LOGGING = T.S3_LOGGING[0]
LOCK = T.S3_OBJECT_LOCK[0]
BPOLICY = T.S3_POLICIES[0]
ACL = T.S3_ACLS[0]
LT = T.EC2_LAUNCH_TEMPLATE
EC2 = T.EC2_INSTANCE
VOLUME = T.EBS_VOLUME
SUBNET = T.SUBNET
SG = T.SECURITY_GROUP
SG_RULE = T.SG_RULE
SG_IN = T.SG_INGRESS_RULE
NACL = T.NACL
NACL_RULE = T.NACL_RULE
DSG = T.DEFAULT_SG
DNACL = T.DEFAULT_NACL
DVPC = T.DEFAULT_VPC
VPC = T.VPC
FLOW = T.FLOW_LOG
RDS = T.RDS_INSTANCE
PG = T.RDS_PARAMETER_GROUP
KEY = T.KMS_KEYS[0]
TRAIL = T.TRAIL
LOGGROUP = T.LOG_GROUP
DETECTOR = T.GUARDDUTY_DETECTOR
RECORDER = T.CONFIG_RECORDER
CHANNEL = T.CONFIG_DELIVERY_CHANNEL
STATUS = T.CONFIG_RECORDER_STATUS
HUB = T.SECURITYHUB_ACCOUNT
STANDARD = T.SECURITYHUB_STANDARD
VAULT = T.BACKUP_VAULT
VLOCK = T.BACKUP_VAULT_LOCK
PLAN = T.BACKUP_PLAN
SELECTION = T.BACKUP_SELECTION
IAM_POLICY = T.IAM_POLICY
ROLE = T.IAM_ROLE
ROLE_POLICY = T.IAM_INLINE[0]
ATTACH = T.IAM_ATTACHMENTS[0]

CIS_ARN = "arn:aws:securityhub:eu-south-2::standards/cis-aws-foundations-benchmark/v/3.0.0"
DR_VAULT_ARN = "arn:aws:backup:eu-west-3:000000000000:backup-vault:dr"


def tags(**overrides: str) -> dict[str, str]:
    values = dict(MT)
    values.update({f"jamaa:{k.replace('_', '-')}": v for k, v in overrides.items()})
    return values


def bucket(name: str = "docs", **extra: Any) -> Res:
    return Res(BUCKET, name, {"bucket": f"{name}-b", "tags": tags(), **extra})


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TLS_DENY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::docs-b", "arn:aws:s3:::docs-b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
ADMIN = {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}
SCOPED = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::docs-b/*"}


def pab(bucket_name: str = "docs-b", **flags: bool) -> Res:
    values = {
        k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    }
    values.update(flags)
    return Res(PAB, f"{bucket_name}-pab", {"bucket": bucket_name, **values})


def sse(
    bucket_name: str = "docs-b",
    algorithm: str = "aws:kms",
    key: str | None = "arn:aws:kms:eu-south-2:0:key/1",
) -> Res:
    default: dict[str, Any] = {"sseAlgorithm": algorithm}
    if key:
        default["kmsMasterKeyId"] = key
    return Res(
        SSE,
        f"{bucket_name}-sse",
        {"bucket": bucket_name, "rules": [{"applyServerSideEncryptionByDefault": default}]},
    )


def rds(**inputs: Any) -> Res:
    base = {
        "engine": "postgres",
        "publiclyAccessible": False,
        "storageEncrypted": True,
        "kmsKeyId": "arn:aws:kms:eu-south-2:0:key/1",
        "backupRetentionPeriod": 35,
        "deletionProtection": True,
        "multiAz": True,
        "iamDatabaseAuthenticationEnabled": True,
        "manageMasterUserPassword": True,
        "parameterGroupName": "pg",
        "tags": tags(data_class="personal"),
    }
    base.update(inputs)
    return Res(RDS, "db", base)


def trail(**inputs: Any) -> Res:
    base = {
        "isMultiRegionTrail": True,
        "includeGlobalServiceEvents": True,
        "enableLogFileValidation": True,
        "kmsKeyId": "arn:aws:kms:eu-south-2:0:key/1",
        "cloudWatchLogsGroupArn": "arn:aws:logs:eu-south-2:0:log-group:trail:*",
        "s3BucketName": "audit-b",
        "tags": tags(),
    }
    base.update(inputs)
    return Res(TRAIL, "trail", base)


def plan(rules: list[dict[str, Any]], data_class: str | None = "personal", **extra: Any) -> Res:
    plan_tags = tags(data_class=data_class) if data_class else {"Name": "plan"}
    return Res(PLAN, "plan", {"name": "plan", "rules": rules, "tags": plan_tags, **extra})


def rule(
    delete_after: int = 400, copy_to: str | None = DR_VAULT_ARN, copy_after: int = 400
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "ruleName": "daily",
        "targetVaultName": "v",
        "lifecycle": {"deleteAfter": delete_after},
    }
    if copy_to is not None:
        value["copyActions"] = [{"destinationVaultArn": copy_to, "lifecycle": {"deleteAfter": copy_after}}]
    return value


# Host backups: the servers' restic bucket (stacks/tenancy/host_backups.py) and a server role's policy.
HB = "arn:aws:s3:::host-backups-b"
HB_NEVER = ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]
HB_OWN_PREFIX = [
    {
        "Sid": "ListOwnRepository",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": HB,
        "Condition": {"StringLike": {"s3:prefix": ["servers/srv-1/*"]}},
    },
    {
        "Sid": "ReadWriteOwnRepository",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        "Resource": f"{HB}/servers/srv-1/*",
    },
]
HB_DENY = {"Sid": "Never", "Effect": "Deny", "Action": HB_NEVER, "Resource": [HB, f"{HB}/*"]}


def host_backups(
    locked: bool = True, mode: str = "COMPLIANCE", days: int = 400, versioned: bool = True
) -> list[Res]:
    resources = [
        Res(
            BUCKET,
            "host-backups",
            {"bucket": "host-backups-b", "objectLockEnabled": locked, "tags": tags(data_class="personal")},
        )
    ]
    if versioned:
        resources.append(
            Res(
                VERSIONING,
                "hb-v",
                {"bucket": "host-backups-b", "versioningConfiguration": {"status": "Enabled"}},
            )
        )
    if locked:
        resources.append(
            Res(
                LOCK,
                "hb-l",
                {"bucket": "host-backups-b", "rule": {"defaultRetention": {"mode": mode, "days": days}}},
            )
        )
    return resources


def server_policy(*statements: dict[str, Any]) -> Res:
    return Res(IAM_POLICY, "server-backups", {"policy": doc(*statements)})


ORGANIZATION = T.ORGANIZATION
SCP = T.ORGANIZATION_POLICY
DELEGATED_ADMIN = T.DELEGATED_ADMIN
GUARDDUTY_ADMIN = T.GUARDDUTY_ADMIN
SECURITYHUB_ADMIN = T.SECURITYHUB_ADMIN
DELEGATED_PRINCIPALS = [
    "access-analyzer.amazonaws.com",
    "backup.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
]
SCP_ATTACHMENT = T.ORGANIZATION_POLICY_ATTACHMENT


def scp_statement(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def region_guard(regions: list[str]) -> dict[str, Any]:
    return scp_statement(
        {
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": regions}},
        }
    )


REGION_GUARD = region_guard(["eu-south-2", "eu-west-3"])
STAY = scp_statement({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"})
DETECTION = scp_statement(
    {
        "Effect": "Deny",
        "Action": [
            "cloudtrail:StopLogging",
            "cloudtrail:DeleteTrail",
            "guardduty:DeleteDetector",
            "config:StopConfigurationRecorder",
            "config:DeleteConfigurationRecorder",
            "securityhub:DisableSecurityHub",
            "backup:DeleteBackupVaultLockConfiguration",
        ],
        "Resource": "*",
    }
)
DENY_ROOT = scp_statement(
    {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
    }
)
PROTECT_ROLES = scp_statement(
    {
        "Effect": "Deny",
        "Action": ["iam:DeleteRole", "iam:UpdateAssumeRolePolicy"],
        "Resource": ["arn:aws:iam::*:role/jamaa-deployment", "arn:aws:iam::*:role/jamaa-break-glass"],
    }
)


def org_stack(document: dict[str, Any], attach: bool = True) -> list[Res]:
    """An organization with one SCP (its id unknown, as in a preview) attached to the root."""
    organization = Res(ORGANIZATION, "org", {"featureSet": "ALL"})
    scp = Res(SCP, "scp", {"type": "SERVICE_CONTROL_POLICY", "content": json.dumps(document)})
    resources = [organization, scp]
    if attach:
        resources.append(
            Res(
                SCP_ATTACHMENT,
                "scp-on-root",
                {"policyId": unknown(), "targetId": "r-abcd"},
                {"policyId"},
                property_dependencies={"policyId": [scp.urn]},
            )
        )
    return resources


def prod_stack(*resources: Res, environment: str = "prod") -> list[Res]:
    """Resources under a provider whose default tags say environment prod (or `environment`)."""
    tags = {**MT, "jamaa:environment": environment}
    prov = Res(
        "pulumi:providers:aws", "primary", {"region": "eu-south-2", "defaultTags": json.dumps({"tags": tags})}
    )
    return [
        prov,
        *[
            Res(r.type, r.name, r.inputs, r.unknown_keys, prov.urn, r.property_dependencies)
            for r in resources
        ],
    ]


CASES: list[tuple[str, str, list[Res], str | None]] = [
    # --- S3 ------------------------------------------------------------------------------------
    ("s3-bucket-public-access-block", "with-block", [bucket(), pab()], None),
    (
        "s3-bucket-public-access-block",
        "linked-by-dependency",
        [
            bucket(),
            Res(
                PAB, "p", {"bucket": unknown()}, {"bucket"}, property_dependencies={"bucket": [bucket().urn]}
            ),
        ],
        None,
    ),
    (
        "s3-bucket-public-access-block",
        "missing",
        [bucket(), pab("other-b")],
        "has no BucketPublicAccessBlock",
    ),
    ("s3-public-access-block-settings", "all-on", [pab()], None),
    (
        "s3-public-access-block-settings",
        "policy-off",
        [pab(blockPublicPolicy=False)],
        "leaves blockPublicPolicy off",
    ),
    ("s3-no-public-acl", "private", [Res(ACL, "acl", {"bucket": "docs-b", "acl": "private"})], None),
    (
        "s3-no-public-acl",
        "public-read",
        [Res(ACL, "acl", {"bucket": "docs-b", "acl": "public-read"})],
        "'public-read' makes objects public",
    ),
    (
        "s3-no-public-acl",
        "grant-all-users",
        [
            Res(
                ACL,
                "acl",
                {
                    "bucket": "docs-b",
                    "accessControlPolicy": {
                        "grants": [
                            {
                                "grantee": {
                                    "type": "Group",
                                    "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                                },
                                "permission": "READ",
                            }
                        ],
                        "owner": {"id": "x"},
                    },
                },
            )
        ],
        "grants READ to http://acs.amazonaws.com/groups/global/AllUsers",
    ),
    (
        "s3-policy-no-public-principal",
        "named-principal",
        [
            Res(
                BPOLICY,
                "bp",
                {
                    "bucket": "docs-b",
                    "policy": doc(TLS_DENY, {**SCOPED, "Principal": {"AWS": "arn:aws:iam::0:role/r"}}),
                },
            )
        ],
        None,
    ),
    (
        "s3-policy-no-public-principal",
        "star",
        [Res(BPOLICY, "bp", {"bucket": "docs-b", "policy": doc({**SCOPED, "Principal": "*"})})],
        "statement Read allows anyone",
    ),
    (
        "s3-tls-only-policy",
        "deny-http",
        [bucket(), Res(BPOLICY, "bp", {"bucket": "docs-b", "policy": doc(TLS_DENY)})],
        None,
    ),
    ("s3-tls-only-policy", "no-policy", [bucket()], "has no bucket policy"),
    (
        "s3-tls-only-policy",
        "no-deny",
        [bucket(), Res(BPOLICY, "bp", {"bucket": "docs-b", "policy": doc(SCOPED)})],
        "does not deny aws:SecureTransport=false",
    ),
    ("s3-encryption-configuration", "kms-with-key", [sse()], None),
    ("s3-encryption-configuration", "kms-without-key", [sse(key=None)], "without kmsMasterKeyId"),
    (
        "s3-encryption-configuration",
        "no-rule",
        [Res(SSE, "sse", {"bucket": "docs-b", "rules": []})],
        "no default encryption rule",
    ),
    ("s3-bucket-encryption-kms", "kms", [bucket(), sse()], None),
    (
        "s3-bucket-encryption-kms",
        "log-target-sse-s3",
        [
            bucket(),
            sse(),
            bucket("logs"),
            sse("logs-b", "AES256", None),
            Res(LOGGING, "lg", {"bucket": "docs-b", "targetBucket": "logs-b"}),
        ],
        None,
    ),
    ("s3-bucket-encryption-kms", "sse-s3", [bucket(), sse(algorithm="AES256", key=None)], "not SSE-KMS"),
    ("s3-bucket-encryption-kms", "none", [bucket()], "has no default encryption configuration"),
    (
        "s3-versioning-enabled",
        "enabled",
        [Res(VERSIONING, "v", {"bucket": "docs-b", "versioningConfiguration": {"status": "Enabled"}})],
        None,
    ),
    (
        "s3-versioning-enabled",
        "suspended",
        [Res(VERSIONING, "v", {"bucket": "docs-b", "versioningConfiguration": {"status": "Suspended"}})],
        "Versioning status is 'Suspended'",
    ),
    (
        "s3-bucket-versioning",
        "enabled",
        [
            bucket(),
            Res(VERSIONING, "v", {"bucket": "docs-b", "versioningConfiguration": {"status": "Enabled"}}),
        ],
        None,
    ),
    ("s3-bucket-versioning", "missing", [bucket()], "does not have versioning enabled"),
    (
        "s3-object-lock-archive-logs",
        "archive-compliance",
        [
            bucket("archive", objectLockEnabled=True),
            Res(
                LOCK,
                "l",
                {"bucket": "archive-b", "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 365}}},
            ),
        ],
        None,
    ),
    ("s3-object-lock-archive-logs", "plain-bucket", [bucket("docs")], None),
    ("s3-object-lock-archive-logs", "archive-unlocked", [bucket("archive")], "without objectLockEnabled"),
    (
        "s3-object-lock-archive-logs",
        "trail-target-unlocked",
        [bucket("logs"), trail(s3BucketName="logs-b")],
        "archive/audit-log bucket without objectLockEnabled",
    ),
    (
        "s3-object-lock-archive-logs",
        "prod-governance",
        [
            bucket("archive", objectLockEnabled=True),
            Res(
                LOCK,
                "l",
                {"bucket": "archive-b", "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 365}}},
            ),
        ],
        "must be COMPLIANCE",
    ),
    (
        "s3-object-lock-retention",
        "a-year",
        [Res(LOCK, "l", {"bucket": "a", "rule": {"defaultRetention": {"mode": "COMPLIANCE", "years": 1}}})],
        None,
    ),
    (
        "s3-object-lock-retention",
        "a-week",
        [Res(LOCK, "l", {"bucket": "a", "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 7}}})],
        "Default retention is 7 days, under the minimum of 30",
    ),
    (
        "s3-access-logging",
        "logged",
        [bucket(), bucket("logs"), Res(LOGGING, "lg", {"bucket": "docs-b", "targetBucket": "logs-b"})],
        None,
    ),
    ("s3-access-logging", "not-logged", [bucket()], "has no server access logging"),
    # --- EC2 -----------------------------------------------------------------------------------
    (
        "ec2-launch-template-imdsv2",
        "required",
        [Res(LT, "lt", {"metadataOptions": {"httpTokens": "required"}})],
        None,
    ),
    (
        "ec2-launch-template-imdsv2",
        "optional",
        [Res(LT, "lt", {"metadataOptions": {"httpTokens": "optional"}})],
        "httpTokens is 'optional', not 'required'",
    ),
    (
        "ec2-instance-imdsv2",
        "required",
        [Res(EC2, "vm", {"metadataOptions": {"httpTokens": "required"}})],
        None,
    ),
    ("ec2-instance-imdsv2", "from-template", [Res(EC2, "vm", {"launchTemplate": {"id": "lt-1"}})], None),
    (
        "ec2-instance-imdsv2",
        "unset",
        [Res(EC2, "vm", {"ami": "ami-1"})],
        "httpTokens is None, not 'required'",
    ),
    (
        "ec2-launch-template-no-public-ip",
        "private",
        [Res(LT, "lt", {"networkInterfaces": [{"associatePublicIpAddress": "false"}]})],
        None,
    ),
    (
        "ec2-launch-template-no-public-ip",
        "public",
        [Res(LT, "lt", {"networkInterfaces": [{"associatePublicIpAddress": "true"}]})],
        "networkInterfaces[0] associates a public IP address",
    ),
    ("ec2-instance-no-public-ip", "private", [Res(EC2, "vm", {"associatePublicIpAddress": False})], None),
    (
        "ec2-instance-no-public-ip",
        "public",
        [Res(EC2, "vm", {"associatePublicIpAddress": True})],
        "Instance associates a public IP address",
    ),
    (
        "subnet-no-auto-public-ip",
        "off",
        [Res(SUBNET, "s", {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": False})],
        None,
    ),
    (
        "subnet-no-auto-public-ip",
        "on",
        [Res(SUBNET, "s", {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": True})],
        "mapPublicIpOnLaunch",
    ),
    (
        "ec2-launch-template-encrypted-volumes",
        "encrypted",
        [Res(LT, "lt", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]})],
        None,
    ),
    (
        "ec2-launch-template-encrypted-volumes",
        "clear",
        [
            Res(
                LT,
                "lt",
                {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
            )
        ],
        "Block device /dev/xvda is not encrypted",
    ),
    (
        "ec2-launch-template-encrypted-volumes",
        "undeclared",
        [Res(LT, "lt", {})],
        "declares no EBS block device mapping",
    ),
    (
        "ec2-instance-encrypted-volumes",
        "encrypted",
        [
            Res(
                EC2,
                "vm",
                {
                    "rootBlockDevice": {"encrypted": True},
                    "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}],
                },
            )
        ],
        None,
    ),
    (
        "ec2-instance-encrypted-volumes",
        "clear-root",
        [Res(EC2, "vm", {"rootBlockDevice": {"encrypted": False}})],
        "root volume is not encrypted",
    ),
    (
        "ec2-instance-encrypted-volumes",
        "clear-data",
        [
            Res(
                EC2,
                "vm",
                {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"deviceName": "/dev/sdf"}]},
            )
        ],
        "EBS block device /dev/sdf is not encrypted",
    ),
    ("ebs-volume-encrypted", "encrypted", [Res(VOLUME, "vol", {"encrypted": True, "size": 10})], None),
    ("ebs-volume-encrypted", "clear", [Res(VOLUME, "vol", {"size": 10})], "EBS volume is not encrypted"),
    # --- network -------------------------------------------------------------------------------
    (
        "sg-no-world-admin-ports",
        "https-world-ssh-internal",
        [
            Res(
                SG,
                "sg",
                {
                    "ingress": [
                        {"fromPort": 443, "toPort": 443, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]},
                        {"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["10.64.0.0/16"]},
                    ]
                },
            )
        ],
        None,
    ),
    (
        "sg-no-world-admin-ports",
        "ssh-world",
        [
            Res(
                SG,
                "sg",
                {"ingress": [{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]},
            )
        ],
        "ingress[0] opens port 22 from the internet (0.0.0.0/0)",
    ),
    (
        "sg-no-world-admin-ports",
        "all-ipv6",
        [
            Res(
                SG,
                "sg",
                {"ingress": [{"fromPort": 0, "toPort": 0, "protocol": "-1", "ipv6CidrBlocks": ["::/0"]}]},
            )
        ],
        "opens every port (so ports 22, 23",
    ),
    (
        "sg-rule-no-world-admin-ports",
        "egress",
        [
            Res(
                SG_RULE,
                "r",
                {
                    "type": "egress",
                    "fromPort": 0,
                    "toPort": 65535,
                    "protocol": "tcp",
                    "cidrBlocks": ["0.0.0.0/0"],
                    "securityGroupId": "sg-1",
                },
            )
        ],
        None,
    ),
    (
        "sg-rule-no-world-admin-ports",
        "rdp-world",
        [
            Res(
                SG_RULE,
                "r",
                {
                    "type": "ingress",
                    "fromPort": 3389,
                    "toPort": 3389,
                    "protocol": "tcp",
                    "cidrBlocks": ["0.0.0.0/0"],
                    "securityGroupId": "sg-1",
                },
            )
        ],
        "opens port 3389 from the internet (0.0.0.0/0)",
    ),
    (
        "sg-ingress-rule-no-world-admin-ports",
        "internal",
        [
            Res(
                SG_IN,
                "r",
                {
                    "cidrIpv4": "10.64.0.0/16",
                    "fromPort": 22,
                    "toPort": 22,
                    "ipProtocol": "tcp",
                    "securityGroupId": "sg-1",
                },
            )
        ],
        None,
    ),
    (
        "sg-ingress-rule-no-world-admin-ports",
        "ssh-ipv6",
        [
            Res(
                SG_IN,
                "r",
                {
                    "cidrIpv6": "::/0",
                    "fromPort": 22,
                    "toPort": 22,
                    "ipProtocol": "tcp",
                    "securityGroupId": "sg-1",
                },
            )
        ],
        "opens port 22 from the internet (::/0)",
    ),
    (
        "nacl-no-world-admin-ports",
        "ephemeral-only",
        [
            Res(
                NACL,
                "n",
                {
                    "ingress": [
                        {
                            "action": "allow",
                            "cidrBlock": "0.0.0.0/0",
                            "fromPort": 1024,
                            "toPort": 3388,
                            "protocol": "tcp",
                            "ruleNo": 100,
                        },
                        {
                            "action": "deny",
                            "cidrBlock": "0.0.0.0/0",
                            "fromPort": 22,
                            "toPort": 22,
                            "protocol": "tcp",
                            "ruleNo": 90,
                        },
                    ]
                },
            )
        ],
        None,
    ),
    (
        "nacl-no-world-admin-ports",
        "ssh",
        [
            Res(
                NACL,
                "n",
                {
                    "ingress": [
                        {
                            "action": "allow",
                            "cidrBlock": "0.0.0.0/0",
                            "fromPort": 22,
                            "toPort": 22,
                            "protocol": "tcp",
                            "ruleNo": 100,
                        }
                    ]
                },
            )
        ],
        "NACL ingress[0] (rule 100) opens port 22 from the internet (0.0.0.0/0)",
    ),
    (
        "nacl-rule-no-world-admin-ports",
        "egress",
        [
            Res(
                NACL_RULE,
                "r",
                {
                    "egress": True,
                    "ruleAction": "allow",
                    "cidrBlock": "0.0.0.0/0",
                    "fromPort": 22,
                    "toPort": 22,
                    "protocol": "tcp",
                    "ruleNumber": 100,
                    "networkAclId": "acl-1",
                },
            )
        ],
        None,
    ),
    (
        "nacl-rule-no-world-admin-ports",
        "rdp",
        [
            Res(
                NACL_RULE,
                "r",
                {
                    "egress": False,
                    "ruleAction": "allow",
                    "cidrBlock": "0.0.0.0/0",
                    "fromPort": 3389,
                    "toPort": 3389,
                    "protocol": "tcp",
                    "ruleNumber": 100,
                    "networkAclId": "acl-1",
                },
            )
        ],
        "NACL rule 100 opens port 3389 from the internet (0.0.0.0/0)",
    ),
    (
        "default-security-group-no-rules",
        "empty",
        [Res(DSG, "d", {"vpcId": "vpc-1", "ingress": [], "egress": []})],
        None,
    ),
    (
        "default-security-group-no-rules",
        "self-ingress",
        [
            Res(
                DSG,
                "d",
                {"vpcId": "vpc-1", "ingress": [{"protocol": "-1", "self": True, "fromPort": 0, "toPort": 0}]},
            )
        ],
        "keeps 1 ingress and 0 egress rule(s)",
    ),
    ("default-nacl-no-rules", "empty", [Res(DNACL, "d", {"defaultNetworkAclId": "acl-1"})], None),
    (
        "default-nacl-no-rules",
        "allow-all",
        [
            Res(
                DNACL,
                "d",
                {
                    "defaultNetworkAclId": "acl-1",
                    "ingress": [{"action": "allow"}],
                    "egress": [{"action": "allow"}],
                },
            )
        ],
        "keeps 1 ingress and 1 egress rule(s)",
    ),
    ("no-default-vpc", "own-vpc", [Res(VPC, "vpc", {"cidrBlock": "10.71.0.0/16"})], None),
    ("no-default-vpc", "default-vpc", [Res(DVPC, "default", {})], "manages the default VPC"),
    (
        "vpc-flow-logs",
        "all-traffic",
        [
            Res(VPC, "vpc", {"cidrBlock": "10.71.0.0/16"}),
            Res(
                FLOW,
                "fl",
                {"vpcId": unknown(), "trafficType": "ALL"},
                {"vpcId"},
                property_dependencies={"vpcId": [Res(VPC, "vpc", {}).urn]},
            ),
        ],
        None,
    ),
    ("vpc-flow-logs", "none", [Res(VPC, "vpc", {"cidrBlock": "10.71.0.0/16"})], "has no flow log"),
    (
        "vpc-flow-logs",
        "reject-only",
        [
            Res(VPC, "vpc", {"cidrBlock": "10.71.0.0/16"}),
            Res(
                FLOW,
                "fl",
                {"vpcId": unknown(), "trafficType": "REJECT"},
                {"vpcId"},
                property_dependencies={"vpcId": [Res(VPC, "vpc", {}).urn]},
            ),
        ],
        "no flow log captures ALL traffic",
    ),
    ("flow-log-all-traffic", "all", [Res(FLOW, "fl", {"trafficType": "ALL"})], None),
    (
        "flow-log-all-traffic",
        "reject",
        [Res(FLOW, "fl", {"trafficType": "REJECT"})],
        "trafficType is 'REJECT', not 'ALL'",
    ),
    # --- RDS -----------------------------------------------------------------------------------
    ("rds-not-publicly-accessible", "private", [rds()], None),
    (
        "rds-not-publicly-accessible",
        "public",
        [rds(publiclyAccessible=True)],
        "Database is publicly accessible",
    ),
    ("rds-storage-encrypted", "encrypted", [rds()], None),
    ("rds-storage-encrypted", "clear", [rds(storageEncrypted=False)], "Database storage is not encrypted"),
    ("rds-storage-encrypted", "aws-key", [rds(kmsKeyId=None)], "AWS managed key"),
    ("rds-backup-retention", "35-days", [rds()], None),
    (
        "rds-backup-retention",
        "public-30",
        [rds(backupRetentionPeriod=30, tags=tags(data_class="public"))],
        None,
    ),
    (
        "rds-backup-retention",
        "7-days",
        [rds(backupRetentionPeriod=7)],
        "backupRetentionPeriod is 7 days; data class personal requires 35",
    ),
    ("rds-deletion-protection", "prod-protected", [rds()], None),
    (
        "rds-deletion-protection",
        "staging-unprotected",
        [rds(deletionProtection=False, tags=tags(environment="staging"))],
        None,
    ),
    (
        "rds-deletion-protection",
        "prod-unprotected",
        [rds(deletionProtection=False)],
        "Database in environment prod has no deletion protection",
    ),
    ("rds-multi-az", "prod-multi-az", [rds()], None),
    ("rds-multi-az", "lab-single", [rds(multiAz=False, tags=tags(environment="lab"))], None),
    ("rds-multi-az", "prod-single", [rds(multiAz=False)], "Database in environment prod is not Multi-AZ"),
    (
        "rds-parameter-group-force-ssl",
        "forced",
        [
            Res(
                PG,
                "pg",
                {
                    "name": "pg",
                    "family": "postgres17",
                    "parameters": [{"name": "rds.force_ssl", "value": "1"}],
                },
            )
        ],
        None,
    ),
    (
        "rds-parameter-group-force-ssl",
        "not-forced",
        [
            Res(
                PG,
                "pg",
                {
                    "name": "pg",
                    "family": "postgres17",
                    "parameters": [{"name": "log_connections", "value": "1"}],
                },
            )
        ],
        "does not set rds.force_ssl=1",
    ),
    (
        "rds-instance-tls-parameter-group",
        "forced",
        [
            rds(),
            Res(
                PG,
                "pg",
                {
                    "name": "pg",
                    "family": "postgres17",
                    "parameters": [{"name": "rds.force_ssl", "value": "1"}],
                },
            ),
        ],
        None,
    ),
    (
        "rds-instance-tls-parameter-group",
        "default-group",
        [rds(parameterGroupName=None)],
        "uses the default parameter group",
    ),
    (
        "rds-instance-tls-parameter-group",
        "not-forced",
        [rds(), Res(PG, "pg", {"name": "pg", "family": "postgres17", "parameters": []})],
        "its parameter group does not set rds.force_ssl=1",
    ),
    ("rds-iam-authentication", "iam", [rds()], None),
    (
        "rds-iam-authentication",
        "password",
        [rds(iamDatabaseAuthenticationEnabled=False, password="hunter2")],
        "IAM database authentication is off",
    ),
    ("rds-auto-minor-version-upgrade", "default", [rds()], None),
    (
        "rds-auto-minor-version-upgrade",
        "off",
        [rds(autoMinorVersionUpgrade=False)],
        "autoMinorVersionUpgrade is false",
    ),
    # --- KMS -----------------------------------------------------------------------------------
    ("kms-key-rotation", "on", [Res(KEY, "k", {"enableKeyRotation": True})], None),
    ("kms-key-rotation", "off", [Res(KEY, "k", {"enableKeyRotation": False})], "KMS key rotation is off"),
    ("kms-deletion-window", "prod-30", [Res(KEY, "k", {"deletionWindowInDays": 30, "tags": tags()})], None),
    (
        "kms-deletion-window",
        "lab-7",
        [Res(KEY, "k", {"deletionWindowInDays": 7, "tags": tags(environment="lab")})],
        None,
    ),
    (
        "kms-deletion-window",
        "prod-7",
        [Res(KEY, "k", {"deletionWindowInDays": 7, "tags": tags()})],
        "deletionWindowInDays is 7, under the prod minimum of 30",
    ),
    # --- logging -------------------------------------------------------------------------------
    ("cloudtrail-present", "trail", [trail()], None),
    (
        "cloudtrail-present",
        "no-trail",
        prod_stack(Res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"}), environment="lab"),
        "The stack has no CloudTrail trail",
    ),
    # prod stacks deploy into member accounts: the organization trail (log-archive) covers them
    ("cloudtrail-present", "organization-trail", prod_stack(bucket()), None),
    ("cloudtrail-multi-region", "multi", [trail()], None),
    ("cloudtrail-multi-region", "single", [trail(isMultiRegionTrail=False)], "Trail is not multi-region"),
    ("cloudtrail-log-file-validation", "on", [trail()], None),
    (
        "cloudtrail-log-file-validation",
        "off",
        [trail(enableLogFileValidation=False)],
        "log file validation is off",
    ),
    ("cloudtrail-kms-encryption", "kms", [trail()], None),
    ("cloudtrail-kms-encryption", "sse-s3", [trail(kmsKeyId=None)], "not encrypted with a KMS key"),
    ("cloudtrail-cloudwatch-logs", "delivered", [trail()], None),
    (
        "cloudtrail-cloudwatch-logs",
        "s3-only",
        [trail(cloudWatchLogsGroupArn=None)],
        "does not deliver to CloudWatch Logs",
    ),
    (
        "log-group-retention",
        "400-days",
        [Res(LOGGROUP, "lg", {"retentionInDays": 400, "kmsKeyId": "arn:aws:kms:eu-south-2:0:key/1"})],
        None,
    ),
    (
        "log-group-retention",
        "7-days",
        [Res(LOGGROUP, "lg", {"retentionInDays": 7, "kmsKeyId": "k"})],
        "keeps logs 7 days, under the minimum of 30",
    ),
    ("log-group-retention", "forever-clear", [Res(LOGGROUP, "lg", {})], "no retention set"),
    # --- detection (environment from the provider's default tags) --------------------------------
    ("guardduty-enabled", "detector", prod_stack(Res(DETECTOR, "gd", {"enable": True})), None),
    ("guardduty-enabled", "untagged-stack", [Res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"})], None),
    (
        "guardduty-enabled",
        "missing",
        prod_stack(Res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"}), environment="lab"),
        "No GuardDuty detector in this lab stack",
    ),
    # prod: GuardDuty comes from the organization (security stack), not the stack
    ("guardduty-enabled", "organization", prod_stack(bucket()), None),
    (
        "config-recorder-enabled",
        "recording",
        prod_stack(
            Res(RECORDER, "r", {"roleArn": "arn"}),
            Res(CHANNEL, "c", {"s3BucketName": "b"}),
            Res(STATUS, "s", {"isEnabled": True}),
        ),
        None,
    ),
    (
        "config-recorder-enabled",
        "never-started",
        prod_stack(Res(RECORDER, "r", {"roleArn": "arn"}), Res(CHANNEL, "c", {"s3BucketName": "b"})),
        "never started",
    ),
    (
        "securityhub-enabled",
        "cis",
        prod_stack(Res(HUB, "h", {}), Res(STANDARD, "s", {"standardsArn": CIS_ARN})),
        None,
    ),
    (
        "securityhub-enabled",
        "no-cis",
        prod_stack(Res(HUB, "h", {}), environment="lab"),
        "no subscription to the CIS AWS Foundations Benchmark",
    ),
    ("securityhub-enabled", "organization", prod_stack(bucket()), None),
    # --- backup --------------------------------------------------------------------------------
    (
        "backup-vault-lock",
        "compliance",
        [
            Res(VAULT, "vault", {"name": "v", "tags": tags()}),
            Res(VLOCK, "lock", {"backupVaultName": "v", "changeableForDays": 3, "minRetentionDays": 35}),
        ],
        None,
    ),
    (
        "backup-vault-lock",
        "unlocked",
        [Res(VAULT, "vault", {"name": "v", "tags": tags()})],
        "has no Vault Lock",
    ),
    (
        "backup-vault-lock",
        "prod-governance",
        [
            Res(VAULT, "vault", {"name": "v", "tags": tags()}),
            Res(VLOCK, "lock", {"backupVaultName": "v", "minRetentionDays": 35}),
        ],
        "requires compliance mode",
    ),
    (
        "backup-vault-lock-settings",
        "bounds",
        [Res(VLOCK, "lock", {"backupVaultName": "v", "minRetentionDays": 30, "maxRetentionDays": 400})],
        None,
    ),
    (
        "backup-vault-lock-settings",
        "min-too-low",
        [Res(VLOCK, "lock", {"backupVaultName": "v", "minRetentionDays": 7})],
        "minRetentionDays is 7, under the smallest retention floor (30 days)",
    ),
    (
        "backup-vault-lock-settings",
        "max-too-low",
        [Res(VLOCK, "lock", {"backupVaultName": "v", "minRetentionDays": 30, "maxRetentionDays": 100})],
        "maxRetentionDays is 100, under the largest retention floor (365 days)",
    ),
    (
        "backup-vault-kms",
        "cmk",
        [Res(VAULT, "vault", {"name": "v", "kmsKeyArn": "arn:aws:kms:eu-south-2:0:key/1"})],
        None,
    ),
    ("backup-vault-kms", "aws-key", [Res(VAULT, "vault", {"name": "v"})], "AWS managed key"),
    ("backup-plan-retention-floor", "personal-400", [plan([rule()])], None),
    (
        "backup-plan-retention-floor",
        "personal-30",
        [plan([rule(delete_after=30)])],
        "Rule daily deletes recovery points after 30 days; personal requires 365",
    ),
    (
        "backup-plan-retention-floor",
        "copies-short",
        [plan([rule(copy_after=35)])],
        "deletes its copies after 35 days",
    ),
    ("backup-plan-retention-floor", "untagged", [plan([rule()], data_class=None)], "no data class tag"),
    ("backup-plan-cross-region-copy", "dr-copy", [plan([rule()])], None),
    (
        "backup-plan-cross-region-copy",
        "dr-copy-by-dependency",
        [
            Res(VAULT, "dr", {"name": "dr", "region": "eu-west-3"}),
            Res(
                PLAN,
                "plan",
                {"rules": [rule(copy_to=unknown())]},
                {"rules[0].copyActions[0].destinationVaultArn"},
                property_dependencies={"rules": [Res(VAULT, "dr", {}).urn]},
            ),
        ],
        None,
    ),
    (
        "backup-plan-cross-region-copy",
        "no-copy",
        [plan([rule(copy_to=None)])],
        "rule daily makes no cross-region copy",
    ),
    (
        "backup-plan-cross-region-copy",
        "same-region",
        [plan([rule(copy_to="arn:aws:backup:eu-south-2:0:backup-vault:v2")])],
        "copies to ['eu-south-2'], not to the DR region eu-west-3",
    ),
    (
        "backup-plan-cross-region-copy",
        "not-an-arn",
        [plan([rule(copy_to="dr-vault")])],
        "rule daily copies to ['dr-vault'], not backup vault ARNs",
    ),
    (
        "backup-stateful-resources-selected",
        "by-condition",
        [
            rds(),
            Res(
                SELECTION,
                "sel",
                {
                    "resources": ["*"],
                    "conditions": [
                        {"stringEquals": [{"key": "aws:ResourceTag/jamaa:data-class", "value": "personal"}]}
                    ],
                },
            ),
        ],
        None,
    ),
    (
        "backup-stateful-resources-selected",
        "by-tag",
        [
            rds(),
            Res(
                SELECTION,
                "sel",
                {"selectionTags": [{"type": "STRINGEQUALS", "key": "jamaa:data-class", "value": "personal"}]},
            ),
        ],
        None,
    ),
    (
        "backup-stateful-resources-selected",
        "other-class",
        [
            rds(),
            Res(
                SELECTION,
                "sel",
                {
                    "resources": ["*"],
                    "conditions": [
                        {"stringEquals": [{"key": "aws:ResourceTag/jamaa:data-class", "value": "public"}]}
                    ],
                },
            ),
        ],
        "Instance 'db' is not selected by any backup plan",
    ),
    # --- host backups (the servers' restic bucket) -----------------------------------------
    ("backup-host-bucket-object-lock", "locked-compliance", host_backups(), None),
    ("backup-host-bucket-object-lock", "no-host-backups-bucket", [bucket("docs")], None),
    (
        "backup-host-bucket-object-lock",
        "unlocked",
        host_backups(locked=False),
        "holds the servers' backups without objectLockEnabled",
    ),
    (
        "backup-host-bucket-object-lock",
        "not-versioned",
        host_backups(versioned=False),
        "without versioning enabled",
    ),
    (
        "backup-host-bucket-object-lock",
        "prod-governance",
        host_backups(mode="GOVERNANCE"),
        "must be COMPLIANCE",
    ),
    (
        "backup-host-bucket-object-lock",
        "under-the-floor",
        host_backups(days=30),
        "default retention 30 days is under the personal floor of 365 days",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "own-prefix-and-deny",
        [*host_backups(), server_policy(*HB_OWN_PREFIX, HB_DENY)],
        None,
    ),
    (
        "backup-host-bucket-no-version-removal",
        "other-bucket-only",
        [*host_backups(), Res(IAM_POLICY, "p", {"policy": doc(SCOPED)})],
        None,
    ),
    (
        "backup-host-bucket-no-version-removal",
        "allows-version-removal",
        [
            *host_backups(),
            server_policy(
                *HB_OWN_PREFIX,
                {
                    "Sid": "Oops",
                    "Effect": "Allow",
                    "Action": "s3:DeleteObjectVersion",
                    "Resource": f"{HB}/servers/srv-1/*",
                },
                HB_DENY,
            ),
        ],
        "statement Oops allows s3:DeleteObjectVersion on s3://host-backups-b",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "wildcards",
        [
            *host_backups(),
            Res(
                IAM_POLICY,
                "ops",
                {
                    "policy": doc(
                        {"Sid": "Ops", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::host-*"}
                    )
                },
            ),
        ],
        "statement Ops allows s3:DeleteObjectVersion, s3:BypassGovernanceRetention on s3://host-backups-b",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "no-explicit-deny",
        [*host_backups(), server_policy(*HB_OWN_PREFIX)],
        "grants access to s3://host-backups-b without an explicit Deny of "
        "s3:DeleteObjectVersion, s3:BypassGovernanceRetention",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "deny-on-own-prefix-only",
        [
            *host_backups(),
            server_policy(*HB_OWN_PREFIX, {**HB_DENY, "Resource": f"{HB}/servers/srv-1/*"}),
        ],
        "without an explicit Deny of s3:DeleteObjectVersion, s3:BypassGovernanceRetention on all its objects",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "bucket-policy-grant",
        [
            *host_backups(),
            Res(
                BPOLICY,
                "hb-policy",
                {
                    "bucket": "host-backups-b",
                    "policy": doc(
                        {
                            "Sid": "Restore",
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::0:role/srv"},
                            "Action": ["s3:BypassGovernanceRetention"],
                            "Resource": f"{HB}/*",
                        }
                    ),
                },
            ),
        ],
        "statement Restore allows s3:BypassGovernanceRetention on s3://host-backups-b",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "role-inline-not-action",
        [
            *host_backups(),
            Res(
                ROLE,
                "srv",
                {
                    "inlinePolicies": [
                        {
                            "name": "all-but-iam",
                            "policy": doc(
                                {"Sid": "Broad", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
                            ),
                        }
                    ]
                },
            ),
        ],
        "Role 'srv' inline policy all-but-iam: statement Broad allows s3:DeleteObjectVersion",
    ),
    (
        "backup-host-bucket-no-version-removal",
        "unnamed-bucket",
        [Res(BUCKET, "host-backups", {"objectLockEnabled": True, "tags": tags()})],
        "has no explicit name",
    ),
    # --- IAM -----------------------------------------------------------------------------------
    ("iam-no-wildcard-admin-policy", "scoped", [Res(IAM_POLICY, "p", {"policy": doc(SCOPED)})], None),
    (
        "iam-no-wildcard-admin-policy",
        "admin",
        [Res(IAM_POLICY, "p", {"policy": doc(ADMIN)})],
        "Statement Admin allows every action on every resource",
    ),
    ("iam-no-inline-admin", "scoped", [Res(ROLE_POLICY, "rp", {"role": "r", "policy": doc(SCOPED)})], None),
    (
        "iam-no-inline-admin",
        "role-policy-admin",
        [Res(ROLE_POLICY, "rp", {"role": "r", "name": "everything", "policy": doc(ADMIN)})],
        "Inline policy everything: statement Admin allows every action on every resource",
    ),
    (
        "iam-no-inline-admin",
        "role-inline-admin",
        [
            Res(
                ROLE,
                "role",
                {"assumeRolePolicy": "{}", "inlinePolicies": [{"name": "inline", "policy": doc(ADMIN)}]},
            )
        ],
        "Inline policy inline",
    ),
    (
        "iam-no-admin-managed-attachment",
        "read-only",
        [Res(ATTACH, "a", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})],
        None,
    ),
    (
        "iam-no-admin-managed-attachment",
        "admin",
        [Res(ATTACH, "a", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})],
        "Attaches arn:aws:iam::aws:policy/AdministratorAccess",
    ),
    (
        "iam-role-permissions-boundary",
        "all-bounded",
        [
            Res(ROLE, "a", {"permissionsBoundary": "arn:aws:iam::0:policy/b"}),
            Res(ROLE, "b", {"permissionsBoundary": "arn:aws:iam::0:policy/b"}),
        ],
        None,
    ),
    ("iam-role-permissions-boundary", "none-used", [Res(ROLE, "a", {}), Res(ROLE, "b", {})], None),
    (
        "iam-role-permissions-boundary",
        "one-escapes",
        [Res(ROLE, "a", {"permissionsBoundary": "arn:aws:iam::0:policy/b"}), Res(ROLE, "b", {})],
        "Role 'b' has no permissions boundary while others do",
    ),
    # --- tags ----------------------------------------------------------------------------------
    (
        "mandatory-tags",
        "from-provider-defaults",
        prod_stack(Res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"})),
        None,
    ),
    ("mandatory-tags", "not-taggable", [Res(ROLE_POLICY, "rp", {"role": "r", "policy": doc(SCOPED)})], None),
    (
        "mandatory-tags",
        "missing-cost-centre",
        [Res(VPC, "vpc", {"tags": {k: v for k, v in MT.items() if k != "jamaa:cost-centre"}})],
        "Missing mandatory tag(s): jamaa:cost-centre.",
    ),
    ("data-class-tag", "internal", [Res(VPC, "vpc", {"tags": tags()})], None),
    (
        "data-class-tag",
        "unknown-class",
        [Res(VPC, "vpc", {"tags": tags(data_class="secret")})],
        "Data class 'secret' is not one of",
    ),
    # --- residency -----------------------------------------------------------------------------
    (
        "residency-allowed-region",
        "primary",
        [provider("eu-south-2"), Res(BUCKET, "b", {"region": "eu-west-3"})],
        None,
    ),
    (
        "residency-allowed-region",
        "provider-us",
        [provider("us-east-1")],
        "Provider region us-east-1 is not in the allowed regions (eu-south-2, eu-west-3)",
    ),
    (
        "residency-allowed-region",
        "resource-ireland",
        [Res(BUCKET, "b", {"region": "eu-west-1"})],
        "Resource region eu-west-1 is not in the allowed regions",
    ),
    ("residency-backup-copy-region", "dr", [plan([rule()])], None),
    (
        "residency-backup-copy-region",
        "virginia",
        [plan([rule(copy_to="arn:aws:backup:us-east-1:0:backup-vault:x")])],
        "copies backups to us-east-1, outside the allowed regions",
    ),
    ("residency-sensitive-not-in-aws", "internal", [bucket()], None),
    (
        "residency-sensitive-not-in-aws",
        "sensitive",
        [Res(BUCKET, "b", {"tags": tags(data_class="sensitive")})],
        "Data class sensitive may not be hosted in AWS",
    ),
    (
        "residency-personal-data-cndp",
        "recorded-region",
        [Res(BUCKET, "b", {"tags": tags(data_class="personal")})],
        None,
    ),
    (
        "residency-personal-data-cndp",
        "tagged-recorded",
        [
            Res(
                BUCKET,
                "b",
                {"tags": {**tags(data_class="personal"), "jamaa:cndp-authorisation": "CNDP-AT-EXAMPLE-0001"}},
            )
        ],
        None,
    ),
    (
        "residency-personal-data-cndp",
        "tagged-unrecorded",
        [
            Res(
                BUCKET,
                "b",
                {"tags": {**tags(data_class="personal"), "jamaa:cndp-authorisation": "CNDP-FAKE-9"}},
            )
        ],
        "CNDP authorisation CNDP-FAKE-9 is not recorded in environments/",
    ),
    (
        "residency-personal-data-cndp",
        "uncovered-region",
        [Res(BUCKET, "b", {"region": "eu-north-1", "tags": tags(data_class="personal")})],
        "personal data in eu-north-1 (outside Morocco) without a valid recorded CNDP authorisation",
    ),
    # --- organization (the org stack's SCPs) ------------------------------------------------------
    ("scp-region-guard", "guarded", org_stack(REGION_GUARD), None),
    (
        "scp-region-guard",
        "denies-an-allowed-region",
        org_stack(region_guard(["eu-south-2"])),
        "would deny allowed region(s) eu-west-3",
    ),
    ("scp-region-guard", "unattached", org_stack(REGION_GUARD, attach=False), "is attached to no root"),
    ("scp-region-guard", "no-organization", [Res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"})], None),
    ("scp-stay-in-organization", "denied", org_stack(STAY), None),
    (
        "scp-stay-in-organization",
        "missing",
        org_stack(REGION_GUARD),
        "denying organizations:LeaveOrganization",
    ),
    ("scp-protect-detection", "denied", org_stack(DETECTION), None),
    (
        "scp-protect-detection",
        "partial",
        org_stack(scp_statement({"Effect": "Deny", "Action": ["cloudtrail:StopLogging"], "Resource": "*"})),
        "does not deny cloudtrail:DeleteTrail",
    ),
    ("scp-deny-root-user", "denied", org_stack(DENY_ROOT), None),
    ("scp-deny-root-user", "missing", org_stack(STAY), "No service control policy denying the root user"),
    ("scp-protect-roles", "protected", org_stack(PROTECT_ROLES), None),
    (
        "scp-protect-roles",
        "one-role-left-out",
        org_stack(
            scp_statement(
                {
                    "Effect": "Deny",
                    "Action": ["iam:DeleteRole"],
                    "Resource": ["arn:aws:iam::*:role/jamaa-deployment"],
                }
            )
        ),
        "does not cover role jamaa-break-glass",
    ),
    (
        "delegated-administrators",
        "registered",
        [
            Res(ORGANIZATION, "org", {"featureSet": "ALL"}),
            *[
                Res(DELEGATED_ADMIN, f"d{i}", {"accountId": "111111111111", "servicePrincipal": p})
                for i, p in enumerate(DELEGATED_PRINCIPALS)
            ],
            Res(GUARDDUTY_ADMIN, "gd-1", {"adminAccountId": "111111111111", "region": "eu-south-2"}),
            Res(GUARDDUTY_ADMIN, "gd-2", {"adminAccountId": "111111111111", "region": "eu-west-3"}),
            Res(SECURITYHUB_ADMIN, "sh", {"adminAccountId": "111111111111"}),
        ],
        None,
    ),
    (
        "delegated-administrators",
        "guardduty-in-one-region-only",
        [
            Res(ORGANIZATION, "org", {"featureSet": "ALL"}),
            *[
                Res(DELEGATED_ADMIN, f"d{i}", {"accountId": "111111111111", "servicePrincipal": p})
                for i, p in enumerate(DELEGATED_PRINCIPALS[1:])
            ],
            Res(GUARDDUTY_ADMIN, "gd-1", {"adminAccountId": "111111111111", "region": "eu-south-2"}),
        ],
        "No delegated administrator for access-analyzer.amazonaws.com",
    ),
]
