# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""RDS: private, encrypted, backed up, protected and highly available in prod, TLS enforced."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.families import RDS_CLUSTER, RDS_CLUSTER_INSTANCE, RDS_INSTANCE
from jamaa_policies.families import RDS_PARAMETER_GROUP as PARAMETER_GROUP
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    data_class_of,
    each,
    environment_of,
    get_path,
    integer,
    is_set,
    known_or_none,
    label,
    resource_policy,
    stack_policy,
    string_list,
    tag_knobs,
    truthy,
)
from jamaa_policies.settings import Settings

DB_INSTANCE = RDS_INSTANCE

# engine family prefix -> the parameter that refuses clear-text connections, and its required value
TLS_PARAMETERS = {"postgres": ("rds.force_ssl", "1"), "mysql": ("require_secure_transport", "1")}


def _engine_tls(engine_or_family: Any) -> tuple[str, str] | None:
    text = str(engine_or_family or "")
    for prefix, parameter in TLS_PARAMETERS.items():
        if text.startswith(prefix):
            return parameter
    return None


@resource_policy(
    name="rds-not-publicly-accessible",
    family="rds",
    types=[DB_INSTANCE, RDS_CLUSTER_INSTANCE],
    description="RDS instances are not publicly accessible.",
    severity="critical",
    controls=["CLD-RDS-001"],
    remediation="Set publiclyAccessible = false and place the instance in the data-tier subnet group.",
)
def not_publicly_accessible(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if truthy(args.props.get("publiclyAccessible")):
        report("Database is publicly accessible.")


@resource_policy(
    name="rds-storage-encrypted",
    family="rds",
    types=[DB_INSTANCE, RDS_CLUSTER],
    description="RDS instances encrypt their storage with a customer managed KMS key.",
    severity="critical",
    controls=["CLD-RDS-002"],
    remediation="Set storageEncrypted = true and kmsKeyId = the tenancy key ARN.",
)
def storage_encrypted(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if not truthy(args.props.get("storageEncrypted")):
        report("Database storage is not encrypted.")
    elif not is_set(args.props, "kmsKeyId"):
        report("Database storage uses the AWS managed key, not the tenancy key (kmsKeyId unset).")


def _backup_config(settings: Settings) -> dict[str, dict[str, Any]]:
    floors = {c: settings.retention_floor_days[c] for c in settings.aws_data_classes}
    return {
        **tag_knobs(settings),
        "retention_floor_days": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
            "default": floors,
            "description": "Retention floor per data class, in days (national.yaml).",
        },
        "max_native_days": integer(
            35, "Longest automated-backup retention RDS allows; AWS Backup keeps the rest.", 1
        ),
    }


@resource_policy(
    name="rds-backup-retention",
    family="rds",
    types=[DB_INSTANCE, RDS_CLUSTER],
    description="RDS automated backups are kept at least the data class's retention floor (up to RDS's maximum).",
    severity="high",
    controls=["CLD-RDS-003"],
    remediation="Set backupRetentionPeriod to min(retention floor of the data class, 35); AWS Backup keeps longer copies.",
    config=_backup_config,
)
def backup_retention(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    floors: Mapping[str, int] = config["retention_floor_days"]
    data_class = data_class_of(args, config)
    floor = floors.get(data_class, max(floors.values())) if data_class else max(floors.values())
    required = min(int(floor), int(config["max_native_days"]))
    period = args.props.get("backupRetentionPeriod")
    days = int(period) if period is not None else 0
    if days < required:
        report(
            f"backupRetentionPeriod is {days} days; data class {data_class or '(untagged)'} requires {required}."
        )


def _environment_knob(key: str, what: str) -> Any:
    def config(settings: Settings) -> dict[str, dict[str, Any]]:
        return {
            **tag_knobs(settings),
            "environments": string_list(
                settings.environments_where(key) or ["prod"], f"Environments where {what} is required."
            ),
            "known_environments": string_list(
                sorted(settings.environments), "Every environment; a value outside it is judged strictly."
            ),
        }

    return config


def required_in(environment: str | None, config: Mapping[str, Any]) -> bool:
    """A prod-only setting applies in the environments that require it, and wherever the tag names
    no known environment (a typo, or no tag) so a misspelt tag cannot switch the rule off."""
    return environment in config["environments"] or environment not in config["known_environments"]


@resource_policy(
    name="rds-deletion-protection",
    family="rds",
    types=[DB_INSTANCE, RDS_CLUSTER],
    description="RDS instances have deletion protection in production.",
    severity="high",
    controls=["CLD-RDS-004"],
    remediation="Set deletionProtection = true (and skipFinalSnapshot = false).",
    config=_environment_knob("deletion_protection", "deletion protection"),
)
def deletion_protection(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    environment = environment_of(args, config)
    if not required_in(environment, config):
        args.not_applicable(f"environment {environment!r} does not require deletion protection")
    if not truthy(args.props.get("deletionProtection")):
        report(f"Database in environment {environment} has no deletion protection.")


@resource_policy(
    name="rds-multi-az",
    family="rds",
    types=[DB_INSTANCE],
    description="RDS instances are Multi-AZ in production.",
    severity="high",
    controls=["CLD-RDS-005"],
    remediation="Set multiAz = true.",
    config=_environment_knob("multi_az", "Multi-AZ"),
)
def multi_az(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    environment = environment_of(args, config)
    if not required_in(environment, config):
        args.not_applicable(f"environment {environment!r} does not require Multi-AZ")
    if not truthy(args.props.get("multiAz")):
        report(f"Database in environment {environment} is not Multi-AZ.")


@resource_policy(
    name="rds-parameter-group-force-ssl",
    family="rds",
    types=[PARAMETER_GROUP],
    description="PostgreSQL/MySQL parameter groups refuse clear-text connections.",
    severity="high",
    controls=["CLD-RDS-006"],
    remediation='Add the parameter {name: "rds.force_ssl", value: "1"} (PostgreSQL) or require_secure_transport=1 (MySQL).',
)
def parameter_group_force_ssl(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    needed = _engine_tls(args.props.get("family"))
    if needed is None:
        args.not_applicable(f"family {args.props.get('family')!r} has no TLS parameter rule")
        return
    name, value = needed
    values = {get_path(p, "name"): str(get_path(p, "value")) for p in as_list(args.props.get("parameters"))}
    if values.get(name) != value:
        report(f"Parameter group does not set {name}={value} (found {values.get(name)!r}).")


def _group_identifiers(group: PolicyResource) -> Iterator[Any]:
    for key in ("name", "id"):
        value = known_or_none(group.props, key)
        if value:
            yield value


@stack_policy(
    name="rds-instance-tls-parameter-group",
    family="rds",
    description="Every PostgreSQL/MySQL RDS instance uses a parameter group of the stack that forces TLS.",
    severity="high",
    controls=["CLD-RDS-006"],
    remediation="Create an aws.rds.ParameterGroup forcing TLS and set parameterGroupName = <group>.name.",
)
def instance_tls_parameter_group(
    args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    groups = index.of_type(PARAMETER_GROUP)

    def check(instance: PolicyResource) -> None:
        needed = _engine_tls(instance.props.get("engine"))
        if needed is None:
            return
        if instance.props.get("parameterGroupName") is None:
            report(
                f"{label(instance)} uses the default parameter group, which does not force TLS.",
                instance.urn,
            )
            return
        linked = index.targets(instance, "parameterGroupName", groups, _group_identifiers)
        if not linked:
            report(
                f"{label(instance)} uses a parameter group outside this stack; TLS cannot be shown.",
                instance.urn,
            )
            return
        name, value = needed
        for group in linked:
            values = {
                get_path(p, "name"): str(get_path(p, "value")) for p in as_list(group.props.get("parameters"))
            }
            if values.get(name) != value:
                report(f"{label(instance)}: its parameter group does not set {name}={value}.", instance.urn)

    each(index.of_type(DB_INSTANCE), check)


@resource_policy(
    name="rds-iam-authentication",
    family="rds",
    types=[DB_INSTANCE, RDS_CLUSTER],
    description="RDS instances accept IAM database authentication (no long-lived shared passwords).",
    severity="medium",
    controls=["CLD-RDS-007"],
    remediation="Set iamDatabaseAuthenticationEnabled = true and manageMasterUserPassword = true.",
)
def iam_authentication(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if not truthy(args.props.get("iamDatabaseAuthenticationEnabled")):
        report("IAM database authentication is off.")
    if args.props.get("password") is not None or args.props.get("masterPassword") is not None:
        report("A master password is set in the program; use manageMasterUserPassword (Secrets Manager).")


@resource_policy(
    name="rds-auto-minor-version-upgrade",
    family="rds",
    types=[DB_INSTANCE, RDS_CLUSTER_INSTANCE],
    description="RDS instances take automatic minor version upgrades (security fixes).",
    severity="medium",
    controls=["CLD-RDS-008"],
    remediation="Leave autoMinorVersionUpgrade at true (its default).",
)
def auto_minor_version_upgrade(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.props.get("autoMinorVersionUpgrade") is False:
        report("autoMinorVersionUpgrade is false.")
