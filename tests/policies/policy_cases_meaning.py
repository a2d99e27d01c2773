# ruff: noqa: E501  (fixtures read better unwrapped)
"""Fixtures written the way a careless engineer or an attacker would: split ranges, `NotAction`,
the other resource type, a typo in a tag. Same shape as `policy_cases.CASES`; a case id starting
with `evasive-` is one that a string-matching rule would have let through.
"""

from __future__ import annotations

import base64
import importlib
import json
from typing import Any

from policy_cases import BUCKET, DSG, MT, PAB, SG, SG_IN, SG_RULE, TRAIL, bucket, doc, tags, trail
from policy_kit import Res

from jamaa.policy.pack import policies_module

policies_module()  # puts policies/ on sys.path
T = importlib.import_module("jamaa_policies.families")  # the resource-type names, once

OWN = "000000000000"
OUTSIDER = "123456789012"
BUCKET_V2 = T.S3_BUCKETS[1]
ACL_V2 = T.S3_ACLS[1]
BPOLICY = T.S3_POLICIES[0]
NACL = T.NACL
NACL_RULE = T.NACL_RULE
IAM_POLICY = T.IAM_POLICY
ROLE = T.IAM_ROLE
ROLE_POLICY = T.IAM_INLINE[0]
ATTACH_EXCLUSIVE = T.IAM_EXCLUSIVE_ATTACHMENTS[0]
POLICY_ATTACHMENT = T.IAM_ATTACHMENTS[3]
TOPIC_POLICY = T.SNS_TOPIC_POLICY
QUEUE = T.SQS_QUEUE
QUEUE_POLICY = T.SQS_QUEUE_POLICY
LAMBDA_PERMISSION = T.LAMBDA_PERMISSION
LAMBDA_URL = T.LAMBDA_URL
LAMBDA = T.LAMBDA_FUNCTION
LAYER_PERMISSION = T.LAMBDA_LAYER_PERMISSION
KEY = T.KMS_KEYS[0]
KEY_POLICY = T.KMS_KEY_POLICY
GRANT = T.KMS_GRANT
REPLICA_KEY = T.KMS_KEYS[2]
RDS = T.RDS_INSTANCE
CLUSTER = T.RDS_CLUSTER
CLUSTER_INSTANCE = T.RDS_CLUSTER_INSTANCE
EC2 = T.EC2_INSTANCE
SPOT = T.EC2_SPOT_INSTANCE
SPOT_FLEET = T.EC2_SPOT_FLEET
LT = T.EC2_LAUNCH_TEMPLATE
LC = T.EC2_LAUNCH_CONFIGURATION
ASG = T.AUTOSCALING_GROUP
SSM = T.SSM_PARAMETER


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::fixture::{type_}::{name}"


def ssh(*cidrs: str, port: int = 22, protocol: str = "tcp") -> dict[str, Any]:
    return {"fromPort": port, "toPort": port, "protocol": protocol, "cidrBlocks": list(cidrs)}


def ingress(name: str, cidr: str, port: int = 22, group: str = "sg") -> Res:
    return Res(
        SG_IN,
        name,
        {"cidrIpv4": cidr, "fromPort": port, "toPort": port, "ipProtocol": "tcp", "securityGroupId": "x"},
        property_dependencies={"securityGroupId": [urn(SG, group)]},
    )


def allow(action: Any, resource: Any = "*", sid: str = "S", **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Resource": resource, **extra}
    if action is not None:
        statement["Action"] = action
    return statement


def trust(principal: Any, **extra: Any) -> Res:
    statement = {"Sid": "T", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal, **extra}
    return Res(ROLE, "role", {"assumeRolePolicy": doc(statement)})


def publish(principal: Any, **extra: Any) -> str:
    return doc(
        {
            "Sid": "P",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": "*",
            "Principal": principal,
            **extra,
        }
    )


# Fake secrets, assembled here so that the repository's own secret scan does not take them for real ones.
FAKE_ACCESS_KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"
FAKE_KEY_HEADER = "-----BEGIN OPENSSH " + "PRIVATE KEY-----"
PASSPHRASE = "-".join(("correct", "horse", "battery"))

ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}


def ec2(kind: str = EC2, **inputs: Any) -> Res:
    base = {
        "ami": "ami-1",
        "instanceType": "t3.micro",
        "metadataOptions": {"httpTokens": "required"},
        "rootBlockDevice": {"encrypted": True},
        "tags": tags(),
    }
    base.update(inputs)
    return Res(kind, "srv", base)


def advanced(*selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": f"s{i}", "fieldSelectors": fields} for i, fields in enumerate(selectors)]


MEANING_CASES: list[tuple[str, str, list[Res], str | None]] = [
    # --- network: address sets, every admin and database port, all-port rules --------------------
    ("sg-no-world-admin-ports", "office-ssh", [Res(SG, "sg", {"ingress": [ssh("196.200.1.0/24")]})], None),
    (
        "sg-no-world-admin-ports",
        "evasive-split-halves",
        [Res(SG, "sg", {"ingress": [ssh("0.0.0.0/1", "128.0.0.0/1")]})],
        "ingress[0] opens port 22 from the internet (0.0.0.0/0)",
    ),
    (
        "sg-no-world-admin-ports",
        "evasive-split-across-rules",
        [Res(SG, "sg", {"ingress": [ssh("41.0.0.0/16"), ssh("41.1.0.0/16")]})],
        "Ingress rules together open port 22 from the internet (41.0.0.0/15)",
    ),
    (
        "sg-no-world-admin-ports",
        "evasive-database-port",
        [Res(SG, "sg", {"ingress": [ssh("0.0.0.0/0", port=5432)]})],
        "opens port 5432 from the internet",
    ),
    (
        "sg-no-world-admin-ports",
        "evasive-all-tcp-ports",
        [
            Res(
                SG,
                "sg",
                {
                    "ingress": [
                        {"fromPort": 0, "toPort": 65535, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}
                    ]
                },
            )
        ],
        "opens every port",
    ),
    (
        "sg-no-world-admin-ports",
        "evasive-default-group-ipv6-global",
        [
            Res(
                DSG,
                "d",
                {
                    "ingress": [
                        {"fromPort": 3389, "toPort": 3389, "protocol": "6", "ipv6CidrBlocks": ["2000::/3"]}
                    ]
                },
            )
        ],
        "opens port 3389 from the internet (2000::/3)",
    ),
    (
        "sg-rule-no-world-admin-ports",
        "evasive-slash-8s",
        [
            Res(
                SG_RULE,
                "r",
                {
                    "type": "ingress",
                    **ssh(*[f"{n}.0.0.0/8" for n in range(1, 10)], port=3306),
                    "securityGroupId": "x",
                },
            )
        ],
        "opens port 3306 from the internet",
    ),
    (
        "sg-ingress-rule-no-world-admin-ports",
        "evasive-half-internet-mongodb",
        [ingress("r", "128.0.0.0/1", port=27017)],
        "opens port 27017 from the internet (128.0.0.0/1)",
    ),
    (
        "sg-ingress-rule-no-world-admin-ports",
        "private-postgres",
        [ingress("r", "10.71.32.0/19", port=5432)],
        None,
    ),
    (
        "sg-union-no-world-admin-ports",
        "two-offices",
        [Res(SG, "sg", {}), ingress("a", "196.200.1.0/24"), ingress("b", "196.200.2.0/24")],
        None,
    ),
    (
        "sg-union-no-world-admin-ports",
        "evasive-split-across-resources",
        [Res(SG, "sg", {}), ingress("a", "41.0.0.0/16"), ingress("b", "41.1.0.0/16")],
        "SecurityGroup 'sg': its ingress rules together open port 22 from the internet (41.0.0.0/15)",
    ),
    (
        "sg-union-no-world-admin-ports",
        "evasive-inline-plus-rule",
        [Res(SG, "sg", {"ingress": [ssh("105.0.0.0/16")]}), ingress("b", "105.1.0.0/16")],
        "together open port 22",
    ),
    (
        "nacl-no-world-admin-ports",
        "evasive-split",
        [
            Res(
                NACL,
                "n",
                {
                    "ingress": [
                        {
                            "action": "allow",
                            "cidrBlock": c,
                            "fromPort": 22,
                            "toPort": 22,
                            "protocol": "tcp",
                            "ruleNo": n,
                        }
                        for n, c in ((100, "0.0.0.0/1"), (110, "128.0.0.0/1"))
                    ]
                },
            )
        ],
        "opens port 22 from the internet (0.0.0.0/1)",
    ),
    (
        "nacl-rule-no-world-admin-ports",
        "evasive-all-protocols-ipv6",
        [
            Res(
                NACL_RULE,
                "r",
                {
                    "egress": False,
                    "ruleAction": "allow",
                    "ipv6CidrBlock": "2000::/3",
                    "protocol": "-1",
                    "ruleNumber": 5,
                },
            )
        ],
        "NACL rule 5 opens every port",
    ),
    # --- IAM: meaning of documents ---------------------------------------------------------------
    (
        "iam-no-wildcard-admin-policy",
        "evasive-not-action",
        [Res(IAM_POLICY, "p", {"policy": doc(allow(None, NotAction="iam:DeleteAccountPasswordPolicy"))})],
        "Statement S allows every action on every resource",
    ),
    (
        "iam-no-wildcard-admin-policy",
        "evasive-not-resource",
        [
            Res(
                IAM_POLICY,
                "p",
                {
                    "policy": doc(
                        {"Sid": "S", "Effect": "Allow", "Action": "*:*", "NotResource": "arn:aws:s3:::x"}
                    )
                },
            )
        ],
        "allows every action on every resource",
    ),
    (
        "iam-no-inline-admin",
        "evasive-not-action-role",
        [
            Res(
                ROLE,
                "r",
                {"inlinePolicies": [{"name": "ops", "policy": doc(allow(None, NotAction=["s3:*"]))}]},
            )
        ],
        "Inline policy ops: statement S allows every action on every resource",
    ),
    (
        "iam-no-admin-managed-attachment",
        "evasive-exclusive-attachments",
        [
            Res(
                ATTACH_EXCLUSIVE,
                "x",
                {"roleName": "r", "policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
            )
        ],
        "(AdministratorAccess)",
    ),
    (
        "iam-no-admin-managed-attachment",
        "evasive-policy-attachment-other-partition",
        [
            Res(
                POLICY_ATTACHMENT,
                "x",
                {"roles": ["r"], "policyArn": "arn:aws-cn:iam::aws:policy/IAMFullAccess"},
            )
        ],
        "(IAMFullAccess)",
    ),
    (
        "iam-no-admin-managed-attachment",
        "evasive-role-managed-arns",
        [Res(ROLE, "r", {"managedPolicyArns": ["arn:aws:iam::aws:policy/PowerUserAccess"]})],
        "(PowerUserAccess)",
    ),
    (
        "iam-no-service-wildcard",
        "scoped",
        [Res(IAM_POLICY, "p", {"policy": doc(allow("s3:*", "arn:aws:s3:::docs-b/*"))})],
        None,
    ),
    (
        "iam-no-service-wildcard",
        "iam-star",
        [Res(IAM_POLICY, "p", {"policy": doc(allow(["iam:*"]))})],
        "Policy: statement S allows iam:* on every resource",
    ),
    (
        "iam-no-service-wildcard",
        "evasive-not-resource-inline",
        [
            Res(
                ROLE_POLICY,
                "rp",
                {
                    "name": "data",
                    "policy": doc(
                        {"Sid": "S", "Effect": "Allow", "Action": "S3:*", "NotResource": "arn:aws:s3:::x"}
                    ),
                },
            )
        ],
        "Inline policy data: statement S allows S3:* on every resource",
    ),
    (
        "iam-no-privilege-escalation",
        "named-role",
        [Res(IAM_POLICY, "p", {"policy": doc(allow("iam:PassRole", f"arn:aws:iam::{OWN}:role/app"))})],
        None,
    ),
    (
        "iam-no-privilege-escalation",
        "pass-any-role",
        [Res(IAM_POLICY, "p", {"policy": doc(allow("iam:PassRole"))})],
        "grants iam:PassRole on a wildcard resource",
    ),
    (
        "iam-no-privilege-escalation",
        "evasive-action-pattern-on-every-role",
        [
            Res(
                ROLE_POLICY,
                "rp",
                {"name": "x", "policy": doc(allow("iam:Put*", f"arn:aws:iam::{OWN}:role/*"))},
            )
        ],
        "iam:PutGroupPolicy",
    ),
    (
        "iam-no-privilege-escalation",
        "evasive-not-action",
        [
            Res(
                IAM_POLICY,
                "p",
                {
                    "policy": doc(
                        {
                            "Sid": "S",
                            "Effect": "Allow",
                            "NotAction": "s3:*",
                            "Resource": "arn:aws:iam::*:role/*",
                        }
                    )
                },
            )
        ],
        "iam:AddUserToGroup",
    ),
    (
        "iam-trust-policy-no-outside-principal",
        "service-and-own-account",
        [trust({"Service": "ec2.amazonaws.com", "AWS": f"arn:aws:iam::{OWN}:root"})],
        None,
    ),
    (
        "iam-trust-policy-no-outside-principal",
        "anyone",
        [trust({"AWS": "*"})],
        "Trust policy: statement T allows anyone (AWS: *)",
    ),
    (
        "iam-trust-policy-no-outside-principal",
        "evasive-wildcard-account-arn",
        [trust({"AWS": ["arn:aws:iam::*:root"]})],
        "allows anyone (AWS: arn:aws:iam::*:root)",
    ),
    (
        "iam-trust-policy-no-outside-principal",
        "evasive-unpinned-condition",
        [trust("*", Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})],
        "allows anyone (*: *)",
    ),
    (
        "iam-trust-policy-no-outside-principal",
        "outside-account",
        [trust({"AWS": f"arn:aws:iam::{OUTSIDER}:role/x"})],
        f"allows account {OUTSIDER}, outside the organization",
    ),
    (
        "iam-trust-policy-no-outside-principal",
        "evasive-federated-without-condition",
        [trust({"Federated": f"arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"})],
        "without any condition on the identity",
    ),
    (
        "resource-policy-no-outside-principal",
        "pinned-to-org",
        [Res(QUEUE_POLICY, "qp", {"queueUrl": "q", "policy": publish("*", Condition=ORG)})],
        None,
    ),
    (
        "resource-policy-no-outside-principal",
        "topic-anyone",
        [Res(TOPIC_POLICY, "tp", {"arn": "t", "policy": publish("*")})],
        "TopicPolicy 'tp': statement P allows anyone",
    ),
    (
        "resource-policy-no-outside-principal",
        "evasive-queue-inline-policy",
        [Res(QUEUE, "q", {"policy": publish({"AWS": f"arn:aws:iam::{OUTSIDER}:root"})})],
        f"allows account {OUTSIDER}",
    ),
    (
        "resource-policy-no-outside-principal",
        "evasive-lambda-permission-anyone",
        [
            Res(
                LAMBDA_PERMISSION,
                "perm",
                {"action": "lambda:InvokeFunction", "function": "f", "principal": "*"},
            )
        ],
        "allows anyone",
    ),
    (
        "resource-policy-no-outside-principal",
        "lambda-permission-service-pinned",
        [
            Res(
                LAMBDA_PERMISSION,
                "perm",
                {
                    "action": "lambda:InvokeFunction",
                    "function": "f",
                    "principal": "s3.amazonaws.com",
                    "sourceAccount": OWN,
                },
            )
        ],
        None,
    ),
    (
        "resource-policy-no-outside-principal",
        "evasive-function-url",
        [Res(LAMBDA_URL, "url", {"functionName": "f", "authorizationType": "NONE"})],
        "authorizationType NONE",
    ),
    (
        "resource-policy-no-outside-principal",
        "evasive-layer-permission",
        [
            Res(
                LAYER_PERMISSION,
                "lp",
                {"layerName": "l", "versionNumber": 1, "action": "lambda:GetLayerVersion", "principal": "*"},
            )
        ],
        "allows anyone",
    ),
    # --- S3: every bucket type ----------------------------------------------------------------------
    (
        "s3-no-public-acl",
        "evasive-acl-v2",
        [Res(ACL_V2, "acl", {"bucket": "docs-b", "acl": "public-read"})],
        "Bucket ACL 'public-read' makes objects public",
    ),
    (
        "s3-no-public-acl",
        "evasive-bucket-inline-grant",
        [
            bucket(
                grants=[
                    {
                        "type": "Group",
                        "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                        "permissions": ["READ"],
                    }
                ]
            )
        ],
        "Bucket grants READ to http://acs.amazonaws.com/groups/global/AllUsers",
    ),
    ("s3-no-public-acl", "private-bucket", [bucket(acl="private")], None),
    (
        "s3-policy-no-public-principal",
        "evasive-bucket-v2-inline-policy",
        [
            Res(
                BUCKET_V2,
                "b",
                {
                    "bucket": "b",
                    "policy": doc(
                        {
                            "Sid": "R",
                            "Effect": "Allow",
                            "Principal": {"AWS": ["*"]},
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::b/*",
                        }
                    ),
                },
            )
        ],
        "statement R allows anyone",
    ),
    (
        "s3-policy-no-public-principal",
        "evasive-outside-account",
        [Res(BPOLICY, "bp", {"bucket": "b", "policy": publish({"AWS": OUTSIDER})})],
        f"allows account {OUTSIDER}",
    ),
    (
        "s3-bucket-public-access-block",
        "evasive-bucket-v2",
        [Res(BUCKET_V2, "docs", {"bucket": "docs-b", "tags": tags()})],
        "BucketV2 'docs' has no BucketPublicAccessBlock",
    ),
    (
        "s3-bucket-public-access-block",
        "bucket-v2-blocked",
        [Res(BUCKET_V2, "docs", {"bucket": "docs-b", "tags": tags()}), Res(PAB, "pab", {"bucket": "docs-b"})],
        None,
    ),
    # --- KMS ------------------------------------------------------------------------------------------
    (
        "kms-key-policy-no-public-access",
        "own-account",
        [
            Res(
                KEY,
                "k",
                {
                    "policy": doc(
                        {
                            "Sid": "Root",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    )
                },
            )
        ],
        None,
    ),
    (
        "kms-key-policy-no-public-access",
        "anyone-decrypts",
        [
            Res(
                KEY,
                "k",
                {
                    "policy": doc(
                        {
                            "Sid": "Use",
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                        }
                    )
                },
            )
        ],
        "Key policy statement Use allows anyone",
    ),
    (
        "kms-key-policy-no-public-access",
        "evasive-key-policy-resource-negated-condition",
        [
            Res(
                KEY_POLICY,
                "kp",
                {
                    "keyId": "k",
                    "policy": doc(
                        {
                            "Sid": "Use",
                            "Effect": "Allow",
                            "Principal": {"AWS": "*"},
                            "Action": "kms:*",
                            "Resource": "*",
                            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-x"}},
                        }
                    ),
                },
            )
        ],
        "allows anyone",
    ),
    (
        "kms-key-policy-no-public-access",
        "evasive-grant-outside",
        [
            Res(
                GRANT,
                "g",
                {
                    "keyId": "k",
                    "granteePrincipal": f"arn:aws:iam::{OUTSIDER}:role/x",
                    "operations": ["Decrypt"],
                },
            )
        ],
        "is outside the organization",
    ),
    (
        "kms-key-policy-no-public-access",
        "evasive-replica-key",
        [
            Res(
                REPLICA_KEY,
                "rk",
                {
                    "primaryKeyArn": "arn",
                    "policy": doc(
                        {
                            "Sid": "Use",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                        }
                    ),
                },
            )
        ],
        f"allows account {OUTSIDER}",
    ),
    # --- CloudTrail management events -----------------------------------------------------------------
    ("cloudtrail-management-events", "default", [trail()], None),
    (
        "cloudtrail-management-events",
        "write-and-read",
        [trail(eventSelectors=[{"readWriteType": "All", "includeManagementEvents": True}])],
        None,
    ),
    (
        "cloudtrail-management-events",
        "off",
        [
            trail(
                eventSelectors=[
                    {
                        "readWriteType": "All",
                        "includeManagementEvents": False,
                        "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}],
                    }
                ]
            )
        ],
        "includeManagementEvents false",
    ),
    (
        "cloudtrail-management-events",
        "evasive-read-only",
        [trail(eventSelectors=[{"readWriteType": "ReadOnly"}])],
        "record only ReadOnly management events",
    ),
    (
        "cloudtrail-management-events",
        "evasive-advanced-data-only",
        [
            trail(
                advancedEventSelectors=advanced(
                    [
                        {"field": "eventCategory", "equals": ["Data"]},
                        {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                    ]
                )
            )
        ],
        "advanced event selectors do not select every management event",
    ),
    (
        "cloudtrail-management-events",
        "advanced-management",
        [trail(advancedEventSelectors=advanced([{"field": "eventCategory", "equals": ["Management"]}]))],
        None,
    ),
    (
        "cloudtrail-present",
        "evasive-trail-without-management-events",
        [
            trail(
                advancedEventSelectors=advanced(
                    [
                        {"field": "eventCategory", "equals": ["Management"]},
                        {"field": "readOnly", "equals": ["true"]},
                    ]
                )
            )
        ],
        "No CloudTrail trail of the stack that is logging records every management event",
    ),
    # --- tags: the environment value ------------------------------------------------------------------
    ("environment-tag", "prod", [bucket()], None),
    (
        "environment-tag",
        "typo",
        [Res(BUCKET, "b", {"bucket": "b", "tags": {**MT, "jamaa:environment": "production"}})],
        "Environment 'production' is not one of",
    ),
    (
        "environment-tag",
        "evasive-trailing-space",
        [Res(KEY, "k", {"tags": {**MT, "jamaa:environment": "prod "}})],
        "Environment 'prod ' is not one of",
    ),
    (
        "rds-deletion-protection",
        "evasive-environment-typo",
        [Res(RDS, "db", {"deletionProtection": False, "tags": {**MT, "jamaa:environment": "Prod"}})],
        "Database in environment Prod has no deletion protection",
    ),
    # --- RDS: clusters and cluster instances ----------------------------------------------------------
    (
        "rds-storage-encrypted",
        "evasive-aurora-cluster",
        [Res(CLUSTER, "c", {"engine": "aurora-postgresql", "tags": tags()})],
        "Database storage is not encrypted",
    ),
    (
        "rds-not-publicly-accessible",
        "evasive-cluster-instance",
        [Res(CLUSTER_INSTANCE, "ci", {"clusterIdentifier": "c", "publiclyAccessible": True, "tags": tags()})],
        "Database is publicly accessible",
    ),
    (
        "rds-deletion-protection",
        "evasive-aurora-cluster",
        [Res(CLUSTER, "c", {"engine": "aurora-postgresql", "storageEncrypted": True, "tags": tags()})],
        "has no deletion protection",
    ),
    # --- EC2: every way to start an instance ----------------------------------------------------------
    (
        "ec2-instance-imdsv2",
        "evasive-spot-instance",
        [ec2(SPOT, metadataOptions={"httpTokens": "optional"})],
        "Spot instance request metadataOptions.httpTokens is 'optional'",
    ),
    (
        "ec2-instance-imdsv2",
        "evasive-spot-fleet-specifications",
        [
            Res(
                SPOT_FLEET,
                "f",
                {
                    "iamFleetRole": "r",
                    "targetCapacity": 1,
                    "launchSpecifications": [{"ami": "a", "instanceType": "t3.micro"}],
                },
            )
        ],
        "cannot require IMDSv2",
    ),
    (
        "ec2-launch-template-imdsv2",
        "evasive-launch-configuration",
        [Res(LC, "lc", {"imageId": "a", "instanceType": "t3.micro"})],
        "Launch configuration metadataOptions.httpTokens is None",
    ),
    (
        "ec2-instance-no-public-ip",
        "evasive-spot-fleet",
        [Res(SPOT_FLEET, "f", {"launchSpecifications": [{"ami": "a", "associatePublicIpAddress": True}]})],
        "launchSpecifications[0] associates a public IP address",
    ),
    (
        "ec2-instance-no-public-ip",
        "evasive-network-interface",
        [ec2(networkInterfaces=[{"deviceIndex": 0, "associatePublicIpAddress": "true"}])],
        "networkInterfaces[0] associates a public IP address",
    ),
    (
        "ec2-instance-encrypted-volumes",
        "evasive-spot-fleet",
        [
            Res(
                SPOT_FLEET,
                "f",
                {"launchSpecifications": [{"ami": "a", "rootBlockDevices": [{"encrypted": False}]}]},
            )
        ],
        "launchSpecifications[0] root volume is not encrypted",
    ),
    (
        "ec2-launch-template-in-stack",
        "template-of-the-stack",
        [
            Res(LT, "lt", {"metadataOptions": {"httpTokens": "required"}}),
            Res(
                EC2,
                "srv",
                {"launchTemplate": {"id": "x", "version": "$Latest"}},
                property_dependencies={"launchTemplate": [urn(LT, "lt")]},
            ),
        ],
        None,
    ),
    (
        "ec2-launch-template-in-stack",
        "template-elsewhere",
        [ec2(metadataOptions=None, launchTemplate={"id": "lt-0123456789abcdef0"})],
        "starts instances from launch template 'lt-0123456789abcdef0', which this stack does not define",
    ),
    (
        "ec2-launch-template-in-stack",
        "evasive-asg-mixed-instances",
        [
            Res(
                ASG,
                "asg",
                {
                    "maxSize": 1,
                    "minSize": 1,
                    "mixedInstancesPolicy": {
                        "launchTemplate": {"launchTemplateSpecification": {"launchTemplateName": "golden"}}
                    },
                },
            )
        ],
        "launch template 'golden'",
    ),
    # --- plaintext secrets -------------------------------------------------------------------------------
    (
        "no-plaintext-secrets",
        "secure-string",
        [Res(SSM, "p", {"name": "/app/db/password", "type": "SecureString", "value": "s3cr3t-value!"})],
        None,
    ),
    (
        "no-plaintext-secrets",
        "references-only",
        [
            Res(
                LAMBDA,
                "f",
                {
                    "environment": {
                        "variables": {
                            "DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:eu-south-2:0:secret:db",  # pragma: allowlist secret
                            "DB_PASSWORD": "/app/db/password",
                            "LOG_LEVEL": "info",
                        }
                    }
                },
            ),
            ec2(userData="#!/bin/sh\napt-get update\n"),
        ],
        None,
    ),
    (
        "no-plaintext-secrets",
        "ssm-string-password",
        [Res(SSM, "p", {"name": "/app/db/password", "type": "String", "value": "hunter2-but-longer"})],
        "SSM parameter /app/db/password of type String holds a secret (by its name) in plain text",
    ),
    (
        "no-plaintext-secrets",
        "evasive-ssm-access-key-neutral-name",
        [
            Res(
                SSM,
                "p",
                {
                    "name": "/app/config",
                    "type": "StringList",
                    "value": "region=eu-south-2," + FAKE_ACCESS_KEY_ID,
                },
            )
        ],
        "holds an AWS access key id in plain text",
    ),
    (
        "no-plaintext-secrets",
        "evasive-lambda-environment",
        [Res(LAMBDA, "f", {"environment": {"variables": {"Db_Pass": PASSPHRASE}}})],
        "Environment variable Db_Pass holds a secret (by its name) in plain text",
    ),
    (
        "no-plaintext-secrets",
        "evasive-base64-launch-template-user-data",
        [
            Res(
                LT,
                "lt",
                {
                    "userData": base64.b64encode(
                        b"#!/bin/sh\nexport PGPASSWORD=Tr0ub4dor-and-3\npsql\n"
                    ).decode()
                },
            )
        ],
        "userData holds a credential assignment in plain text",
    ),
    (
        "no-plaintext-secrets",
        "evasive-private-key-in-spot-user-data",
        [
            ec2(
                SPOT,
                userData=f"#!/bin/sh\ncat > /root/.ssh/id_rsa <<EOF\n{FAKE_KEY_HEADER}\nb3Blbn\nEOF\n",
            )
        ],
        "userData holds a private key in plain text",
    ),
]


def evasive_policies() -> set[str]:
    return {policy for policy, case, _, expected in MEANING_CASES if case.startswith("evasive-") and expected}


__all__ = ["MEANING_CASES", "PAB", "TRAIL", "evasive_policies", "json"]
