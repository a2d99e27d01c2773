# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""AWS Backup: locked, encrypted vaults; retention floors per data class; a copy in the DR region;
every stateful resource selected."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.framework import (
    Deferred,
    StackIndex,
    as_list,
    covered,
    data_class_of,
    environment_of,
    get_path,
    known_or_none,
    label,
    number,
    resource_policy,
    stack_policy,
    string_list,
    tag_knobs,
    tags_of,
)
from jamaa_policies.settings import Settings

VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"


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
            s.environments_where("backup_vault_lock_mode", "compliance"),
            "Environments whose vault locks must be in compliance mode (changeableForDays set).",
        ),
    },
)
def vault_lock(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    index = StackIndex(args.resources)
    locks = index.of_type(VAULT_LOCK)
    later = Deferred()
    for vault in index.of_type(VAULT):

        def check(vault: PolicyResource = vault) -> None:
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

        later.attempt(check)
    later.finish()


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
    if not args.props.get("kmsKeyArn"):
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
    later = Deferred()
    for plan in index.of_type(PLAN):

        def check(plan: PolicyResource = plan) -> None:
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

        later.attempt(check)
    later.finish()


def _stateful(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        **tag_knobs(settings),
        "stateful_types": string_list(
            [
                "aws:rds/instance:Instance",
                "aws:rds/cluster:Cluster",
                "aws:ebs/volume:Volume",
                "aws:efs/fileSystem:FileSystem",
                "aws:dynamodb/table:Table",
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
    later = Deferred()
    for resource in index.of_type(*config["stateful_types"]):

        def check(resource: PolicyResource = resource) -> None:
            if not any(_selected(resource, selection) for selection in selections):
                report(f"{label(resource)} is not selected by any backup plan.", resource.urn)

        later.attempt(check)
    later.finish()
