# ruff: noqa: E501  (exemption reasons read better unwrapped)
"""Resource-type names, once, and their families: every pulumi-aws type that can do the same harm.

The policies and their tests (tests/policies) name a resource type through the constants here, never by
its token.

A rule about a thing must cover every type that can create or change that thing. Each family
names its members by a pattern over the installed pulumi-aws package's type tokens (so a type added
by a new SDK version lands in its family by itself) and lists, for the members no rule reads, why
(an explicit exemption). `tests/policies/test_families.py` enumerates the SDK and fails when a
member of a family is neither read by some policy (its `types`) nor exempt, or an exemption is stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
S3_POLICIES = ("aws:s3/bucketPolicy:BucketPolicy",)
S3_PUBLIC_ACCESS_BLOCKS = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
S3_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
S3_OBJECT_LOCK = (
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"

EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
EC2_SPOT_FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest"
EC2_FLEET = "aws:ec2/fleet:Fleet"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
INSTANCE_LIKE = (EC2_INSTANCE, EC2_SPOT_INSTANCE)
"""Types that take an instance's own arguments (metadata options, volumes, public IP, user data)."""
TEMPLATE_USERS = (EC2_INSTANCE, EC2_SPOT_INSTANCE, EC2_SPOT_FLEET, EC2_FLEET, AUTOSCALING_GROUP)
"""Types that can start instances from a launch template."""

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"

IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
IAM_INLINE = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
IAM_EXCLUSIVE_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
)

LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAMBDA_LAYER_PERMISSION = "aws:lambda/layerVersionPermission:LayerVersionPermission"
LAMBDA_RESOURCE_POLICY = "aws:lambda/resourcePolicy:ResourcePolicy"

KMS_KEYS = (
    "aws:kms/key:Key",
    "aws:kms/externalKey:ExternalKey",
    "aws:kms/replicaKey:ReplicaKey",
    "aws:kms/replicaExternalKey:ReplicaExternalKey",
)
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
KMS_GRANT = "aws:kms/grant:Grant"

SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"

SSM_PARAMETER = "aws:ssm/parameter:Parameter"
TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

EBS_VOLUME = "aws:ebs/volume:Volume"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
DEFAULT_VPC = "aws:ec2/defaultVpc:DefaultVpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"

RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"

BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"

GUARDDUTY_DETECTOR = "aws:guardduty/detector:Detector"
CONFIG_RECORDER = "aws:cfg/recorder:Recorder"
CONFIG_RECORDER_STATUS = "aws:cfg/recorderStatus:RecorderStatus"
CONFIG_DELIVERY_CHANNEL = "aws:cfg/deliveryChannel:DeliveryChannel"
SECURITYHUB_ACCOUNT = "aws:securityhub/account:Account"
SECURITYHUB_STANDARD = "aws:securityhub/standardsSubscription:StandardsSubscription"

ORGANIZATION = "aws:organizations/organization:Organization"
ORGANIZATION_POLICY = "aws:organizations/policy:Policy"
ORGANIZATION_POLICY_ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
DELEGATED_ADMIN = "aws:organizations/delegatedAdministrator:DelegatedAdministrator"
GUARDDUTY_ADMIN = "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount"
SECURITYHUB_ADMIN = "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount"


@dataclass(frozen=True)
class Family:
    """Every pulumi-aws type matching `pattern` (plus `also`) can do this family's harm."""

    name: str
    harm: str
    pattern: str
    exempt: Mapping[str, str] = field(default_factory=dict)
    also: tuple[str, ...] = ()

    def members(self, sdk_types: Iterable[str]) -> list[str]:
        regex = re.compile(self.pattern)
        return sorted({t for t in sdk_types if regex.search(t)} | set(self.also))


FAMILIES = (
    Family(
        "s3-public-exposure",
        "an S3 bucket readable or writable by anyone (the bucket, its ACLs, policies, public access blocks)",
        r"^aws:s3/bucket(V\d+)?:|^aws:s3/bucket(Acl|Policy|PublicAccessBlock)(V\d+)?:",
    ),
    Family(
        "rds-databases",
        "a database reachable from the internet, unencrypted, unprotected or kept too briefly",
        r"^aws:rds/(instance|cluster)\w*:",
        exempt={
            "aws:rds/clusterActivityStream:ClusterActivityStream": "streams database activity to Kinesis; holds no data store setting",
            "aws:rds/clusterEndpoint:ClusterEndpoint": "a DNS endpoint over existing cluster instances; their publiclyAccessible decides exposure",
            "aws:rds/clusterParameterGroup:ClusterParameterGroup": "engine parameters of an Aurora cluster; TLS enforcement is judged on instance parameter groups only (not done for clusters)",
            "aws:rds/clusterRoleAssociation:ClusterRoleAssociation": "lets the cluster assume an IAM role (the role's policies are judged by the IAM rules)",
            "aws:rds/clusterSnapshot:ClusterSnapshot": "a manual snapshot inherits the cluster's encryption",
            "aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy": "a copy of a snapshot; judged by the residency rules through its region",
            "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": "replicates an instance's backups; judged by the residency rules through its region",
            "aws:rds/instanceDesiredState:InstanceDesiredState": "starts or stops an existing instance; changes no setting",
        },
    ),
    Family(
        "ec2-compute",
        "an instance with IMDSv1, a public IP, unencrypted volumes or secrets in its user data",
        r"^aws:ec2/(instance|launch|spot|fleet)\w*:|^aws:autoscaling/group:",
        exempt={
            "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults": "an account-wide default for new instances; each instance and template is judged on its own settings",
            "aws:ec2/spotDatafeedSubscription:SpotDatafeedSubscription": "a billing data feed; launches nothing",
        },
    ),
    Family(
        "iam-grants",
        "administrator rights or privilege escalation granted to a role, user or group",
        r"^aws:iam/\w*(Polic(y|ies)|Attachments?)\w*:|^aws:iam/role:",
        exempt={
            "aws:iam/accountPasswordPolicy:AccountPasswordPolicy": "the account's password rules; grants nothing",
            "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive": "names which inline policies a role keeps; their documents are RolePolicy resources, judged as such",
            "aws:iam/userPoliciesExclusive:UserPoliciesExclusive": "names which inline policies a user keeps; their documents are UserPolicy resources, judged as such",
            "aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive": "names which inline policies a group keeps; their documents are GroupPolicy resources, judged as such",
        },
    ),
    Family(
        "security-groups",
        "an administrative or database port open to the internet",
        r"(?i)^aws:(ec2|vpc)/(default)?securityGroup\w*:",
        exempt={
            "aws:ec2/securityGroupAssociation:SecurityGroupAssociation": "attaches an existing group to a VPC endpoint; opens nothing itself",
            "aws:vpc/securityGroupVpcAssociation:SecurityGroupVpcAssociation": "shares an existing group with another VPC; opens nothing itself",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "outbound only: cannot open a port to inbound traffic (egress is bounded by the tiers' NACLs and VPC endpoints)",
        },
    ),
    Family(
        "lambda-exposure",
        "a function anyone on the internet (or another organization) may invoke or read",
        r"(?i)^aws:lambda/\w*(url|permission|policy)\w*:",
    ),
    Family(
        "kms-key-access",
        "a KMS key anyone (or another organization) may use",
        r"^aws:kms/\w*:",
        exempt={
            "aws:kms/alias:Alias": "a name for a key; grants nothing",
            "aws:kms/ciphertext:Ciphertext": "encrypts a value with an existing key; grants nothing",
            "aws:kms/customKeyStore:CustomKeyStore": "a CloudHSM or external key store; keys in it carry their own policies",
        },
    ),
    Family(
        "messaging-resource-policies",
        "an SNS topic or SQS queue anyone (or another organization) may use",
        r"^aws:(sns|sqs)/\w*[pP]olicy:|^aws:sns/topic:|^aws:sqs/queue:",
        exempt={
            "aws:sns/dataProtectionPolicy:DataProtectionPolicy": "masks sensitive data in messages; grants nothing",
            "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "which queues may use this one as a dead-letter queue (same account only)",
            "aws:sqs/redrivePolicy:RedrivePolicy": "the dead-letter queue of a queue; grants nothing",
        },
    ),
    Family(
        "plaintext-secrets",
        "a password, key or token stored where anyone who can read the configuration can read it",
        r"^aws:ssm/parameter:|^aws:lambda/function:|^aws:ec2/(instance|launchTemplate|launchConfiguration|spotInstanceRequest):",
    ),
    Family(
        "cloudtrail",
        "API activity that is never recorded",
        r"^aws:cloudtrail/\w*:",
        exempt={
            "aws:cloudtrail/eventDataStore:EventDataStore": "CloudTrail Lake storage; recording is the trails' job",
            "aws:cloudtrail/organizationDelegatedAdminAccount:OrganizationDelegatedAdminAccount": "delegates trail administration inside the organization; records nothing",
        },
    ),
)


TYPE_TOKEN = re.compile(r'@pulumi\.type_token\("(aws:[^"]+)"\)\nclass \w+\(pulumi\.CustomResource\)')


@cache
def sdk_resource_types() -> frozenset[str]:
    """Every resource type token of the installed pulumi-aws package (read from its sources)."""
    import pulumi_aws

    found: set[str] = set()
    for path in Path(pulumi_aws.__file__).parent.rglob("*.py"):
        if path.name.startswith("_"):
            continue
        found.update(TYPE_TOKEN.findall(path.read_text(encoding="utf-8")))
    return frozenset(found)
