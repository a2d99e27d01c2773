# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""S3: public access, TLS-only access, SSE-KMS, versioning, Object Lock, access logging.

In pulumi-aws v7 most bucket settings are separate resources (BucketPublicAccessBlock,
BucketServerSideEncryptionConfiguration, ...), so "every bucket has X" rules are stack policies:
a bucket is compliant when a companion resource targeting it carries the right setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.documents import exposure, parsed
from jamaa_policies.families import (
    S3_ACLS,
    S3_BUCKETS,
    S3_LOGGING,
    S3_OBJECT_LOCK,
    S3_POLICIES,
    S3_PUBLIC_ACCESS_BLOCKS,
    S3_SSE,
    S3_VERSIONING,
    TRAIL,
)
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    bucket_identifiers,
    covered,
    each,
    environment_of,
    get_path,
    integer,
    is_set,
    label,
    number,
    policy_document,
    resource_policy,
    stack_policy,
    statements,
    string_list,
    tag_knobs,
    tags_of,
    truthy,
)
from jamaa_policies.iam import trusted
from jamaa_policies.settings import Settings

# Every form pulumi-aws 7 still ships (the V2 names are deprecated aliases that still create buckets
# and their settings): a rule about buckets reads them all (jamaa_policies.families).
BUCKETS = S3_BUCKETS
PAB = S3_PUBLIC_ACCESS_BLOCKS[0]
SSE = S3_SSE
VERSIONING = S3_VERSIONING
LOGGING = S3_LOGGING
OBJECT_LOCK = S3_OBJECT_LOCK
BUCKET_POLICY = S3_POLICIES[0]

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def _buckets(args: StackValidationArgs) -> tuple[StackIndex, list[PolicyResource]]:
    index = StackIndex(args.resources)
    return index, index.of_type(*BUCKETS)


# --- public access -----------------------------------------------------------------------------


@stack_policy(
    name="s3-bucket-public-access-block",
    family="s3",
    description="Every S3 bucket has a public access block resource.",
    severity="critical",
    controls=["CLD-S3-001"],
    remediation="Add an aws.s3.BucketPublicAccessBlock with bucket=<bucket>.id and all four flags true.",
)
def bucket_public_access_block(
    args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    index, buckets = _buckets(args)
    blocks = index.of_type(*S3_PUBLIC_ACCESS_BLOCKS)

    def check(bucket: PolicyResource) -> None:
        if not covered(index, bucket, blocks, "bucket", bucket_identifiers):
            report(f"{label(bucket)} has no BucketPublicAccessBlock.", bucket.urn)

    each(buckets, check)


@resource_policy(
    name="s3-public-access-block-settings",
    family="s3",
    types=list(S3_PUBLIC_ACCESS_BLOCKS),
    description="A bucket public access block turns on all four protections.",
    severity="critical",
    controls=["CLD-S3-001"],
    remediation="Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true.",
)
def public_access_block_settings(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    off = [flag for flag in PAB_FLAGS if not truthy(args.props.get(flag))]
    if off:
        report(f"Public access block leaves {', '.join(off)} off.")


@resource_policy(
    name="s3-no-public-acl",
    family="s3",
    types=[*S3_ACLS, *BUCKETS],
    description="No bucket ACL (a BucketAcl in any form, or a bucket's own acl/grants) grants access to everyone or to any authenticated AWS user.",
    severity="critical",
    controls=["CLD-S3-002"],
    remediation="Use the private canned ACL (or, better, BucketOwnerEnforced ownership and no ACL).",
    config=lambda _s: {
        "forbidden_acls": string_list(
            ["public-read", "public-read-write", "authenticated-read"], "Canned ACLs refused."
        )
    },
)
def no_public_acl(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    acl = args.props.get("acl")
    if acl in config["forbidden_acls"]:
        report(f"Bucket ACL '{acl}' makes objects public.")
    if args.resource_type in BUCKETS:
        for grant in as_list(args.props.get("grants")):
            uri = get_path(grant, "uri")
            if uri in PUBLIC_GRANTEES:
                report(
                    f"Bucket grants {', '.join(map(str, as_list(get_path(grant, 'permissions'))))} to {uri}."
                )
        return
    grants = as_list(get_path(args.props, "accessControlPolicy", "grants"))
    for grant in grants:
        uri = get_path(grant, "grantee", "uri")
        if uri in PUBLIC_GRANTEES:
            report(f"Bucket ACL grants {get_path(grant, 'permission')} to {uri}.")


@resource_policy(
    name="s3-policy-no-public-principal",
    family="s3",
    types=[BUCKET_POLICY, *BUCKETS],
    description="No bucket policy (a BucketPolicy, or a bucket's own policy) allows anyone, or an account outside the organization, without a condition pinning the organization.",
    severity="critical",
    controls=["CLD-S3-002"],
    remediation="Name the principals (account roles, services) or add a condition (aws:PrincipalOrgID, aws:SourceVpce).",
    config=trusted,
)
def policy_no_public_principal(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    if args.resource_type in BUCKETS and args.props.get("policy") is None:
        return
    found = parsed(args.props.get("policy"))
    if found is None:
        report("Bucket policy is not a readable JSON policy document.")
        return
    for problem in exposure(found, config["trusted_accounts"]):
        report(f"Bucket policy {problem}.")


# --- TLS only ----------------------------------------------------------------------------------


def _denies_insecure_transport(document: Mapping[str, Any]) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Deny":
            continue
        condition = statement.get("Condition") or {}
        for operator in ("Bool", "BoolIfExists"):
            value = get_path(condition, operator, "aws:SecureTransport")
            if str(value).lower() == "false":
                return True
    return False


@stack_policy(
    name="s3-tls-only-policy",
    family="s3",
    description="Every S3 bucket has a bucket policy denying requests not made over TLS.",
    severity="high",
    controls=["CLD-S3-003"],
    remediation=(
        "Attach a BucketPolicy with a Deny statement on s3:* for the bucket and its objects, "
        'Condition {"Bool": {"aws:SecureTransport": "false"}}.'
    ),
)
def tls_only_policy(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    index, buckets = _buckets(args)
    policies = index.of_type(*S3_POLICIES)

    def check(bucket: PolicyResource) -> None:
        attached = covered(index, bucket, policies, "bucket", bucket_identifiers)
        documents = [policy_document(p.props["policy"]) for p in attached]
        if bucket.props.get("policy") is not None:  # the bucket's own (deprecated) policy input
            documents.append(policy_document(bucket.props["policy"]))
        if not documents:
            report(f"{label(bucket)} has no bucket policy, so plain HTTP requests are allowed.", bucket.urn)
            return
        if not any(d is not None and _denies_insecure_transport(d) for d in documents):
            report(f"{label(bucket)}: its bucket policy does not deny aws:SecureTransport=false.", bucket.urn)

    each(buckets, check)


# --- encryption --------------------------------------------------------------------------------


def _sse_rules(resource_props: Mapping[str, Any]) -> list[Any]:
    return [
        get_path(rule, "applyServerSideEncryptionByDefault") for rule in as_list(resource_props.get("rules"))
    ]


@resource_policy(
    name="s3-encryption-configuration",
    family="s3",
    types=list(SSE),
    description="Bucket default-encryption configurations declare a default rule, and SSE-KMS rules name the tenancy key.",
    severity="high",
    controls=["CLD-S3-004"],
    remediation="Set rules[].applyServerSideEncryptionByDefault to sseAlgorithm aws:kms and kmsMasterKeyId <tenancy key ARN>.",
)
def encryption_configuration(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    defaults = _sse_rules(args.props)
    if not defaults or all(d is None for d in defaults):
        report("Encryption configuration has no default encryption rule.")
        return
    for default in defaults:
        if default is None:
            continue
        algorithm = default.get("sseAlgorithm")
        if algorithm in KMS_ALGORITHMS and not is_set(default, "kmsMasterKeyId"):
            report("SSE-KMS without kmsMasterKeyId uses the AWS managed key, not the tenancy key.")
        elif algorithm not in (*KMS_ALGORITHMS, "AES256"):
            report(f"Unknown default encryption algorithm {algorithm!r}.")


def _log_targets(index: StackIndex, buckets: list[PolicyResource]) -> set[str]:
    """URNs of the buckets that receive server access logs (raises if that cannot be decided)."""
    targets: set[str] = set()

    def mark(logging: PolicyResource) -> None:
        for bucket in index.targets(logging, "targetBucket", buckets, bucket_identifiers):
            targets.add(bucket.urn)

    each(index.of_type(*LOGGING), mark)
    return targets


@stack_policy(
    name="s3-bucket-encryption-kms",
    family="s3",
    description="Every S3 bucket encrypts by default with SSE-KMS (access-log target buckets: SSE-S3, the only kind S3 log delivery supports).",
    severity="high",
    controls=["CLD-S3-004"],
    remediation="Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with aws:kms and the tenancy key.",
)
def bucket_encryption_kms(
    args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    index, buckets = _buckets(args)
    configs = index.of_type(*SSE)
    log_targets = _log_targets(index, buckets)

    def check(bucket: PolicyResource) -> None:
        found = covered(index, bucket, configs, "bucket", bucket_identifiers)
        if not found:
            report(f"{label(bucket)} has no default encryption configuration.", bucket.urn)
            return
        algorithms = [d.get("sseAlgorithm") for c in found for d in _sse_rules(c.props) if d is not None]
        accepted = (*KMS_ALGORITHMS, "AES256") if bucket.urn in log_targets else KMS_ALGORITHMS
        if not any(a in accepted for a in algorithms):
            report(f"{label(bucket)} is encrypted with {algorithms or 'nothing'}, not SSE-KMS.", bucket.urn)

    each(buckets, check)


# --- versioning --------------------------------------------------------------------------------


@resource_policy(
    name="s3-versioning-enabled",
    family="s3",
    types=list(VERSIONING),
    description="A bucket versioning resource enables versioning (not Suspended or Disabled).",
    severity="medium",
    controls=["CLD-S3-005"],
    remediation="Set versioningConfiguration.status to Enabled.",
)
def versioning_enabled(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    status = get_path(args.props, "versioningConfiguration", "status")
    if status != "Enabled":
        report(f"Versioning status is {status!r}, not 'Enabled'.")


@stack_policy(
    name="s3-bucket-versioning",
    family="s3",
    description="Every S3 bucket has versioning enabled.",
    severity="medium",
    controls=["CLD-S3-005"],
    remediation="Add an aws.s3.BucketVersioning for the bucket with status Enabled.",
)
def bucket_versioning(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    index, buckets = _buckets(args)
    versionings = index.of_type(*VERSIONING)

    def check(bucket: PolicyResource) -> None:
        if not has_versioning(index, bucket, versionings):
            report(f"{label(bucket)} does not have versioning enabled.", bucket.urn)

    each(buckets, check)


# --- Object Lock -------------------------------------------------------------------------------


def _lock_config(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        **tag_knobs(settings),
        "name_patterns": string_list(
            ["archive", "audit", "trail"],
            "A bucket whose logical name contains one of these is an archive or audit-log bucket.",
        ),
        "purpose_tag": {"type": "string", "default": "jamaa:purpose", "description": "Purpose tag key."},
        "purposes": string_list(["archive", "audit-log"], "Purpose tag values that require Object Lock."),
        "compliance_mode_environments": string_list(
            settings.environments_where("object_lock_mode", "COMPLIANCE"),
            "Environments where the default retention must be in COMPLIANCE mode.",
        ),
    }


def default_retentions(index: StackIndex, bucket: PolicyResource, locks: list[PolicyResource]) -> list[Any]:
    """The default retentions (`rule.defaultRetention`) of the Object Lock configurations of `bucket`."""
    found = covered(index, bucket, locks, "bucket", bucket_identifiers)
    retentions = [get_path(lock.props, "rule", "defaultRetention") for lock in found]
    return [r for r in retentions if r is not None]


def retention_days(retention: Mapping[str, Any]) -> int:
    """A default retention in days (given in days, or in years of 365 days)."""
    days = retention.get("days")
    return int(days) if days is not None else int(retention.get("years") or 0) * 365


def has_versioning(index: StackIndex, bucket: PolicyResource, versionings: list[PolicyResource]) -> bool:
    found = covered(index, bucket, versionings, "bucket", bucket_identifiers)
    return "Enabled" in [get_path(v.props, "versioningConfiguration", "status") for v in found]


def lock_problem(
    bucket: PolicyResource,
    index: StackIndex,
    locks: list[PolicyResource],
    config: Mapping[str, Any],
    without_lock: str,
) -> tuple[str | None, list[Any]]:
    """What is wrong with the Object Lock of a bucket that must have one (None: nothing), and its default
    retentions: `without_lock` when objectLockEnabled is off, then no default retention, then a mode other
    than COMPLIANCE in an environment of `config["compliance_mode_environments"]`."""
    if not truthy(bucket.props.get("objectLockEnabled")):
        return f"{label(bucket)} {without_lock}", []
    retentions = default_retentions(index, bucket, locks)
    if not retentions:
        return f"{label(bucket)} has Object Lock but no default retention rule.", []
    modes = {r.get("mode") for r in retentions}
    if environment_of(bucket, config) in config["compliance_mode_environments"] and "COMPLIANCE" not in modes:
        return (
            f"{label(bucket)}: default retention mode {sorted(map(str, modes))} "
            "must be COMPLIANCE in this environment."
        ), retentions
    return None, retentions


def _needs_lock(bucket: PolicyResource, trail_buckets: set[str], config: Mapping[str, Any]) -> bool:
    tags = tags_of(bucket)
    if tags.get(config["purpose_tag"]) in config["purposes"]:
        return True
    if bucket.urn in trail_buckets:
        return True
    name = bucket.name.lower()
    return any(re.search(re.escape(p), name) for p in config["name_patterns"])


@stack_policy(
    name="s3-object-lock-archive-logs",
    family="s3",
    description="Archive and audit-log buckets (CloudTrail targets included) have Object Lock with a default retention.",
    severity="high",
    controls=["CLD-S3-006"],
    remediation=(
        "Create the bucket with objectLockEnabled=true and add an aws.s3.BucketObjectLockConfiguration "
        "with a default retention (COMPLIANCE mode in prod)."
    ),
    config=_lock_config,
)
def object_lock_archive_logs(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    index, buckets = _buckets(args)
    locks = index.of_type(*OBJECT_LOCK)
    trail_buckets: set[str] = set()

    def mark(trail: PolicyResource) -> None:
        for bucket in index.targets(trail, "s3BucketName", buckets, bucket_identifiers):
            trail_buckets.add(bucket.urn)

    each(index.of_type(TRAIL), mark)

    # which buckets are CloudTrail targets must be known before judging any
    def check(bucket: PolicyResource) -> None:
        problem, _ = lock_problem(
            bucket, index, locks, config, "is an archive/audit-log bucket without objectLockEnabled."
        )
        if problem is not None:
            report(problem, bucket.urn)

    each([b for b in buckets if _needs_lock(b, trail_buckets, config)], check)


@resource_policy(
    name="s3-object-lock-retention",
    family="s3",
    types=list(OBJECT_LOCK),
    description="An Object Lock configuration keeps objects at least the national minimum retention.",
    severity="medium",
    controls=["CLD-S3-006"],
    remediation="Set rule.defaultRetention.days (or years) to at least the configured minimum.",
    config=lambda s: {
        "min_retention_days": integer(
            min(s.retention_floor_days[c] for c in s.aws_data_classes),
            "Minimum default retention, in days (the smallest data-class retention floor).",
            1,
        )
    },
)
def object_lock_retention(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    retention = get_path(args.props, "rule", "defaultRetention")
    if retention is None:
        report("Object Lock configuration has no default retention rule.")
        return
    total = retention_days(retention)
    if total < int(config["min_retention_days"]):
        report(
            f"Default retention is {total} days, under the minimum of {number(config['min_retention_days'])}."
        )


# --- access logging ----------------------------------------------------------------------------


@stack_policy(
    name="s3-access-logging",
    family="s3",
    description="Every S3 bucket, except the access-log buckets themselves, has server access logging.",
    severity="medium",
    controls=["CLD-S3-007"],
    remediation="Add an aws.s3.BucketLogging for the bucket with targetBucket = the region's access-log bucket.",
)
def access_logging(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    index, buckets = _buckets(args)
    loggings = index.of_type(*LOGGING)
    log_targets = _log_targets(index, buckets)  # exempt: a log bucket does not log into itself

    def check(bucket: PolicyResource) -> None:
        if not covered(index, bucket, loggings, "bucket", bucket_identifiers):
            report(f"{label(bucket)} has no server access logging.", bucket.urn)

    each([b for b in buckets if b.urn not in log_targets], check)
