# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""AWS Backup: locked, encrypted vaults; retention floors per data class; a copy in the DR region;
every stateful resource selected. Host backups: the servers' restic bucket is locked and no grant lets
anyone remove a stored version."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.families import BACKUP_PLAN as PLAN
from jamaa_policies.families import BACKUP_SELECTION as SELECTION
from jamaa_policies.families import BACKUP_VAULT as VAULT
from jamaa_policies.families import BACKUP_VAULT_LOCK as VAULT_LOCK
from jamaa_policies.families import (
    DYNAMODB_TABLE,
    EBS_VOLUME,
    EFS_FILE_SYSTEM,
    IAM_POLICY,
    RDS_CLUSTER,
    RDS_INSTANCE,
    S3_BUCKETS,
    S3_OBJECT_LOCK,
    S3_POLICIES,
    S3_VERSIONING,
)
from jamaa_policies.families import IAM_INLINE as INLINE_POLICIES
from jamaa_policies.families import IAM_ROLE as ROLE
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    covered,
    data_class_of,
    each,
    environment_of,
    get_path,
    is_set,
    known_or_none,
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
from jamaa_policies.s3 import has_versioning, lock_problem, retention_days
from jamaa_policies.settings import Settings

BUCKET_POLICY = S3_POLICIES[0]
WILDCARDS = re.compile(r"[*?]")


def _vault_identifiers(vault: PolicyResource) -> Iterator[Any]:
    for key in ("name", "id"):
        value = known_or_none(vault.props, key)
        if value:
            yield value


def region_of(resource: Any) -> str | None:
    """The AWS region a resource lands in: its own `region` input, else its provider's."""
    region = known_or_none(resource.props, "region")
    if region:
        return str(region)
    provider = getattr(resource, "provider", None)
    if provider is not None:
        value = known_or_none(provider.props, "region")
        if value:
            return str(value)
    return None


def arn_region(arn: Any) -> str | None:
    parts = str(arn).split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


@stack_policy(
    name="backup-vault-lock",
    family="backup",
    description="Every backup vault has a Vault Lock (compliance mode where the environment requires it).",
    severity="critical",
    controls=["CLD-BKP-001"],
    remediation=(
        "Add an aws.backup.VaultLockConfiguration with backupVaultName = <vault>.name, minRetentionDays, "
        "and changeableForDays (compliance mode) in prod."
    ),
    config=lambda s: {
        **tag_knobs(s),
        "compliance_mode_environments": string_list(
            s.environments_where("backup_vault_lock_mode", "COMPLIANCE"),
            "Environments whose vault locks must be in compliance mode (changeableForDays set).",
        ),
    },
)
def vault_lock(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    index = StackIndex(args.resources)
    locks = index.of_type(VAULT_LOCK)

    def check(vault: PolicyResource) -> None:
        found = covered(index, vault, locks, "backupVaultName", _vault_identifiers)
        if not found:
            report(
                f"{label(vault)} has no Vault Lock: backups can be deleted before their retention.",
                vault.urn,
            )
            return
        if environment_of(vault, config) in config["compliance_mode_environments"] and not any(
            lock.props.get("changeableForDays") is not None for lock in found
        ):
            report(
                f"{label(vault)}: Vault Lock is in governance mode; this environment requires compliance mode.",
                vault.urn,
            )

    each(index.of_type(VAULT), check)


def _floors(settings: Settings) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 1},
        "default": {c: settings.retention_floor_days[c] for c in settings.aws_data_classes},
        "description": "Retention floor per data class, in days (national.yaml).",
    }


@resource_policy(
    name="backup-vault-lock-settings",
    family="backup",
    types=[VAULT_LOCK],
    description="Vault Lock retention bounds admit every data class's retention floor.",
    severity="high",
    controls=["CLD-BKP-001", "CLD-BKP-003"],
    remediation="Set minRetentionDays to at least the smallest floor and maxRetentionDays (if set) to at least the largest.",
    config=lambda s: {"retention_floor_days": _floors(s)},
)
def vault_lock_settings(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    floors: Mapping[str, int] = config["retention_floor_days"]
    minimum = args.props.get("minRetentionDays")
    maximum = args.props.get("maxRetentionDays")
    if minimum is None or int(minimum) < min(floors.values()):
        report(
            f"minRetentionDays is {number(minimum)}, under the smallest retention floor ({min(floors.values())} days)."
        )
    if maximum is not None and int(maximum) < max(floors.values()):
        report(
            f"maxRetentionDays is {number(maximum)}, under the largest retention floor ({max(floors.values())} days)."
        )


@resource_policy(
    name="backup-vault-kms",
    family="backup",
    types=[VAULT],
    description="Backup vaults encrypt recovery points with a customer managed KMS key.",
    severity="high",
    controls=["CLD-BKP-002"],
    remediation="Set kmsKeyArn = the tenancy key ARN (the DR vault: a key in the DR region).",
)
def vault_kms(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if not is_set(args.props, "kmsKeyArn"):
        report("Backup vault uses the AWS managed key (kmsKeyArn unset).")


@resource_policy(
    name="backup-plan-retention-floor",
    family="backup",
    types=[PLAN],
    description="Backup plans keep recovery points (and their copies) at least the data class's retention floor.",
    severity="high",
    controls=["CLD-BKP-003"],
    remediation="Tag the plan with its data class and set rules[].lifecycle.deleteAfter (and copy lifecycles) to at least the floor.",
    config=lambda s: {**tag_knobs(s), "retention_floor_days": _floors(s)},
)
def plan_retention_floor(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    floors: Mapping[str, int] = config["retention_floor_days"]
    data_class = data_class_of(args, config)
    if data_class is None:
        report("Backup plan has no data class tag: its retention floor is unknown.")
        return
    if data_class not in floors:
        report(f"Backup plan's data class {data_class!r} has no retention floor in AWS (sovereign only?).")
        return
    floor = int(floors[data_class])
    for position, rule in enumerate(as_list(args.props.get("rules"))):
        name = get_path(rule, "ruleName") or f"rules[{position}]"
        delete_after = get_path(rule, "lifecycle", "deleteAfter")
        if delete_after is not None and int(delete_after) < floor:
            report(
                f"Rule {name} deletes recovery points after {number(delete_after)} days; {data_class} requires {floor}."
            )
        for copy in as_list(get_path(rule, "copyActions")):
            copy_after = get_path(copy, "lifecycle", "deleteAfter")
            if copy_after is not None and int(copy_after) < floor:
                report(
                    f"Rule {name} deletes its copies after {number(copy_after)} days; {data_class} requires {floor}."
                )


@stack_policy(
    name="backup-plan-cross-region-copy",
    family="backup",
    description="Every backup plan rule copies its recovery points to a vault in the DR region.",
    severity="high",
    controls=["CLD-BKP-004"],
    remediation="Add rules[].copyActions with destinationVaultArn = the DR vault (in the national DR region).",
    config=lambda s: {
        "dr_region": {"type": "string", "default": s.dr_region, "description": "The national DR region."}
    },
)
def plan_cross_region_copy(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    vaults = index.of_type(VAULT)

    def check(plan: PolicyResource) -> None:
        # Vaults the plan's rules depend on (the engine's property dependencies): their regions
        # decide even when the destination ARN is only known after deployment.
        dep_urns = {d.urn for d in plan.property_dependencies.get("rules", [])}
        dep_regions = {region_of(v) for v in vaults if v.urn in dep_urns} - {None}
        for position, rule in enumerate(as_list(plan.props.get("rules"))):
            name = get_path(rule, "ruleName") or f"rules[{position}]"
            copies = as_list(get_path(rule, "copyActions"))
            if not copies:
                report(f"{label(plan)}: rule {name} makes no cross-region copy.", plan.urn)
                continue
            if config["dr_region"] in dep_regions:
                continue
            destinations = [copy["destinationVaultArn"] for copy in copies]  # raises if only known later
            regions = [arn_region(arn) for arn in destinations]
            if None in regions:
                report(
                    f"{label(plan)}: rule {name} copies to {destinations}, not backup vault ARNs.",
                    plan.urn,
                )
                continue
            if config["dr_region"] not in regions:
                report(
                    f"{label(plan)}: rule {name} copies to {regions}, not to the DR region {config['dr_region']}.",
                    plan.urn,
                )

    each(index.of_type(PLAN), check)


def _stateful(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        **tag_knobs(settings),
        "stateful_types": string_list(
            [
                RDS_INSTANCE,
                RDS_CLUSTER,
                EBS_VOLUME,
                EFS_FILE_SYSTEM,
                DYNAMODB_TABLE,
            ],
            "Resource types that hold data and must be selected by a backup plan.",
        ),
    }


def _selected(resource: PolicyResource, selection: PolicyResource) -> bool:
    tags = tags_of(resource)
    for tag in as_list(selection.props.get("selectionTags")):
        if str(get_path(tag, "type")).upper() == "STRINGEQUALS" and tags.get(
            str(get_path(tag, "key"))
        ) == get_path(tag, "value"):
            return True
    patterns = [str(p) for p in as_list(selection.props.get("resources"))]
    arn = known_or_none(resource.props, "arn")
    if not any(p == "*" or (arn and fnmatch.fnmatchcase(str(arn), p)) for p in patterns):
        return False
    for condition in as_list(selection.props.get("conditions")):
        for match in as_list(get_path(condition, "stringEquals")):
            key = str(get_path(match, "key")).removeprefix("aws:ResourceTag/")
            if tags.get(key) != get_path(match, "value"):
                return False
    return True


@stack_policy(
    name="backup-stateful-resources-selected",
    family="backup",
    description="Every stateful resource (database, volume, file system, table) is selected by a backup plan.",
    severity="high",
    controls=["CLD-BKP-005"],
    remediation="Select by the data-class tag (aws.backup.Selection with selectionTags or conditions) and tag every stateful resource.",
    config=_stateful,
)
def stateful_selected(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    index = StackIndex(args.resources)
    selections = index.of_type(SELECTION)

    def check(resource: PolicyResource) -> None:
        if not any(_selected(resource, selection) for selection in selections):
            report(f"{label(resource)} is not selected by any backup plan.", resource.urn)

    each(index.of_type(*config["stateful_types"]), check)


# --- host backups: the servers' restic bucket is immutable against the servers --------------------
# The bucket holding the commune servers' restic repositories has Object Lock with a default retention of
# at least its data class's floor (compliance mode where the environment's backup vaults are
# compliance-locked), and no policy of the stack lets anyone remove a stored version or bypass governance
# retention on it, while every identity policy that grants access to it denies both explicitly (a Deny,
# which no later Allow can lift).


def _which(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "name_patterns": string_list(
            ["host-backups"],
            "A bucket whose logical or physical name contains one of these holds the servers' backups.",
        ),
        "purpose_tag": {"type": "string", "default": "jamaa:purpose", "description": "Purpose tag key."},
        "purposes": string_list(["host-backups"], "Purpose tag values of host-backups buckets."),
    }


def _is_host_backups(bucket: PolicyResource, config: Mapping[str, Any]) -> bool:
    if tags_of(bucket).get(config["purpose_tag"]) in config["purposes"]:
        return True
    names = [bucket.name.lower(), str(known_or_none(bucket.props, "bucket") or "").lower()]
    return any(p.lower() in n for p in config["name_patterns"] for n in names)


def _host_backups(index: StackIndex, config: Mapping[str, Any]) -> list[PolicyResource]:
    return [b for b in index.of_type(*S3_BUCKETS) if _is_host_backups(b, config)]


# --- Object Lock -------------------------------------------------------------------------------


@stack_policy(
    name="backup-host-bucket-object-lock",
    family="backup",
    description="The servers' host-backups bucket is versioned and has Object Lock with a default retention of at least its data class's floor (compliance mode where backup vaults are compliance-locked).",
    severity="critical",
    controls=["CLD-BKP-006"],
    remediation=(
        "Create the bucket with objectLockEnabled=true, an aws.s3.BucketVersioning (Enabled) and an "
        "aws.s3.BucketObjectLockConfiguration whose defaultRetention is COMPLIANCE in prod and at least the "
        "data class's retention floor (stacks/tenancy/host_backups.py does)."
    ),
    config=lambda s: {
        **tag_knobs(s),
        **_which(s),
        "compliance_mode_environments": string_list(
            s.environments_where("backup_vault_lock_mode", "COMPLIANCE"),
            "Environments where the host-backups bucket's default retention must be in COMPLIANCE mode.",
        ),
        "retention_floor_days": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
            "default": {c: s.retention_floor_days[c] for c in s.aws_data_classes},
            "description": "Retention floor per data class, in days (national.yaml).",
        },
    },
)
def host_bucket_object_lock(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    locks = index.of_type(*S3_OBJECT_LOCK)
    versionings = index.of_type(*S3_VERSIONING)
    floors: Mapping[str, int] = config["retention_floor_days"]
    buckets = _host_backups(index, config)
    if not buckets:
        args.not_applicable("the stack has no host-backups bucket")

    def check(bucket: PolicyResource) -> None:
        if truthy(bucket.props.get("objectLockEnabled")) and not has_versioning(index, bucket, versionings):
            report(f"{label(bucket)} holds the servers' backups without versioning enabled.", bucket.urn)
        problem, retentions = lock_problem(
            bucket,
            index,
            locks,
            config,
            "holds the servers' backups without objectLockEnabled: a compromised server can destroy them.",
        )
        if problem is not None:
            report(problem, bucket.urn)
        if not retentions:
            return
        data_class = data_class_of(bucket, config)
        if data_class not in floors:
            report(f"{label(bucket)}: data class {data_class!r} has no retention floor in AWS.", bucket.urn)
            return
        days = max(retention_days(r) for r in retentions)
        if days < int(floors[data_class]):
            report(
                f"{label(bucket)}: default retention {number(days)} days is under the {data_class} floor of {floors[data_class]} days.",
                bucket.urn,
            )

    each(buckets, check)


# --- no version removal, by anyone's grant -----------------------------------------------------


def _action_matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _grants(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _action_matches([str(a) for a in as_list(statement.get("NotAction"))], action)
    return _action_matches([str(a) for a in as_list(statement.get("Action"))], action)


def _may_match_objects(pattern: str, bucket: str) -> bool:
    """Whether a Resource pattern can match some object of the bucket (IAM's `*` crosses `/`)."""
    objects = f"arn:aws:s3:::{bucket}/"
    literal = WILDCARDS.split(pattern, 1)[0]
    if literal == pattern:  # no wildcard: one object (or the bucket)
        return pattern.startswith(objects) and len(pattern) > len(objects)
    return literal.startswith(objects) or objects.startswith(literal)


def _reaches(statement: Mapping[str, Any], bucket: str, also_bucket: bool = False) -> bool:
    """Whether the statement applies to some object of the bucket (or, with also_bucket, the bucket)."""
    if "NotResource" in statement:
        excluded = [str(r) for r in as_list(statement.get("NotResource"))]
        return not any(_covers_objects(p, bucket) for p in excluded)
    for pattern in (str(r) for r in as_list(statement.get("Resource"))):
        if _may_match_objects(pattern, bucket):
            return True
        if also_bucket and fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket}", pattern):
            return True
    return False


def _covers_objects(pattern: str, bucket: str) -> bool:
    """Whether a Resource pattern surely matches every object of the bucket (`*`, `…:::bucket/*`, `…:::buck*`)."""
    if pattern == "*":
        return True
    head = pattern[:-1] if pattern.endswith("*") else None
    return head is not None and not WILDCARDS.search(head) and f"arn:aws:s3:::{bucket}/".startswith(head)


def _denies_everywhere(document: Mapping[str, Any], bucket: str, action: str) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Deny" or statement.get("Condition") or "NotResource" in statement:
            continue
        if _grants(statement, action) and any(
            _covers_objects(str(r), bucket) for r in as_list(statement.get("Resource"))
        ):
            return True
    return False


@stack_policy(
    name="backup-host-bucket-no-version-removal",
    family="backup",
    description="No policy of the stack allows removing a stored version of the host-backups bucket or bypassing its governance retention, and every identity policy granting access to the bucket denies both explicitly.",
    severity="critical",
    controls=["CLD-BKP-006"],
    remediation=(
        "Grant the servers s3:GetObject/PutObject/DeleteObject on their own prefix only, and add a Deny of "
        "s3:DeleteObjectVersion and s3:BypassGovernanceRetention on arn:aws:s3:::<bucket> and <bucket>/* "
        "(stacks/tenancy/host_backups.py does)."
    ),
    config=lambda s: {
        **_which(s),
        "forbidden_actions": string_list(
            ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
            "Actions no grant may give on the host-backups bucket, and every granting policy must deny.",
        ),
    },
)
def host_bucket_no_version_removal(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    buckets = _host_backups(index, config)
    if not buckets:
        args.not_applicable("the stack has no host-backups bucket")
    names: list[str] = []
    for bucket in buckets:
        name = known_or_none(bucket.props, "bucket")
        if name:
            names.append(str(name))
        elif "bucket" not in bucket.props:
            report(
                f"{label(bucket)} has no explicit name: the servers' roles cannot derive it and its grants cannot be checked.",
                bucket.urn,
            )
    forbidden = [str(a) for a in config["forbidden_actions"]]

    def check(resource: PolicyResource) -> None:
        for owner, what, document in _documents_of(resource):
            if document is None:
                continue
            identity = owner.resource_type != BUCKET_POLICY
            for name in names:
                allows = [s for s in statements(document) if s.get("Effect") == "Allow"]
                for statement in allows:
                    granted = [a for a in forbidden if _grants(statement, a) and _reaches(statement, name)]
                    if granted:
                        report(
                            f"{what}: statement {statement.get('Sid', '(no Sid)')} allows {', '.join(granted)} on s3://{name}: stored backups could be removed.",
                            owner.urn,
                        )
                if identity and any(_reaches(s, name, also_bucket=True) for s in allows):
                    missing = [a for a in forbidden if not _denies_everywhere(document, name, a)]
                    if missing:
                        report(
                            f"{what} grants access to s3://{name} without an explicit Deny of {', '.join(missing)} on all its objects.",
                            owner.urn,
                        )

    each(index.of_type(IAM_POLICY, *INLINE_POLICIES, BUCKET_POLICY, ROLE), check)


def _documents_of(resource: PolicyResource) -> Iterator[tuple[PolicyResource, str, Mapping[str, Any] | None]]:
    """The policy documents a resource carries: (owner, what, document); reading one known only after
    deployment raises (the policy then cannot be evaluated offline)."""
    if resource.resource_type == ROLE:
        for position, inline in enumerate(as_list(resource.props.get("inlinePolicies"))):
            name = get_path(inline, "name") or f"inlinePolicies[{position}]"
            yield (
                resource,
                f"{label(resource)} inline policy {name}",
                policy_document(get_path(inline, "policy")),
            )
        return
    yield resource, label(resource), policy_document(resource.props.get("policy"))
