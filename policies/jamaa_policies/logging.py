# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Audit logging: CloudTrail everywhere, tamper-evident, encrypted, and log groups kept long enough."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.families import LOG_GROUP, TRAIL
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    get_path,
    integer,
    is_set,
    number,
    resource_policy,
    stack_policy,
    string_list,
    tag_knobs,
    truthy,
)
from jamaa_policies.settings import Settings


@stack_policy(
    name="cloudtrail-present",
    family="logging",
    types=[TRAIL],
    description="The stack declares at least one CloudTrail trail with logging on.",
    severity="high",
    controls=["CLD-LOG-001"],
    remediation="Add an aws.cloudtrail.Trail (multi-region, log file validation, KMS) to the audit-logging component.",
    config=lambda s: {
        **tag_knobs(s),
        "environments": string_list(
            s.environments_where("trail"),
            "Environments whose stacks declare their own trail (the others are covered by the organization trail of the log-archive stack).",
        ),
    },
)
def cloudtrail_present(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    trails = StackIndex(args.resources).of_type(TRAIL)
    if not trails:
        from jamaa_policies.detection import stack_environment

        environment = stack_environment(args.resources, config)
        if environment not in config["environments"]:
            args.not_applicable(
                f"environment {environment}: the organization trail (log-archive stack) records this account"
            )
        report("The stack has no CloudTrail trail.")
        return
    if not any(trail.props.get("enableLogging") is not False for trail in trails):
        report("Every CloudTrail trail of the stack has logging turned off.")
    elif not any(
        trail.props.get("enableLogging") is not False and _management_gaps(trail.props) is None
        for trail in trails
    ):
        report("No CloudTrail trail of the stack that is logging records every management event.")


@resource_policy(
    name="cloudtrail-multi-region",
    family="logging",
    types=[TRAIL],
    description="CloudTrail trails are multi-region and include global service events.",
    severity="high",
    controls=["CLD-LOG-001"],
    remediation="Set isMultiRegionTrail = true and includeGlobalServiceEvents = true.",
)
def multi_region(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if not truthy(args.props.get("isMultiRegionTrail")):
        report("Trail is not multi-region.")
    if args.props.get("includeGlobalServiceEvents") is False:
        report("Trail leaves out global service events (IAM, STS).")


@resource_policy(
    name="cloudtrail-log-file-validation",
    family="logging",
    types=[TRAIL],
    description="CloudTrail log file integrity validation is on.",
    severity="high",
    controls=["CLD-LOG-002"],
    remediation="Set enableLogFileValidation = true.",
)
def log_file_validation(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if not truthy(args.props.get("enableLogFileValidation")):
        report("Trail log file validation is off: tampering with logs would go unnoticed.")


@resource_policy(
    name="cloudtrail-kms-encryption",
    family="logging",
    types=[TRAIL],
    description="CloudTrail logs are encrypted with a customer managed KMS key.",
    severity="high",
    controls=["CLD-LOG-003"],
    remediation="Set kmsKeyId = the tenancy key ARN (its key policy must allow CloudTrail).",
)
def kms_encryption(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if not is_set(args.props, "kmsKeyId"):
        report("Trail logs are not encrypted with a KMS key (kmsKeyId unset).")


@resource_policy(
    name="cloudtrail-cloudwatch-logs",
    family="logging",
    types=[TRAIL],
    description="CloudTrail trails deliver to CloudWatch Logs for alerting.",
    severity="medium",
    controls=["CLD-LOG-004"],
    remediation="Set cloudWatchLogsGroupArn (with ':*') and cloudWatchLogsRoleArn.",
)
def cloudwatch_logs(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if not args.props.get("cloudWatchLogsGroupArn"):
        report("Trail does not deliver to CloudWatch Logs.")


def _management_gaps(props: Mapping[str, Any]) -> str | None:
    """Why a trail does not record every management event (reads and writes), or None."""
    basic = as_list(props.get("eventSelectors"))
    advanced = as_list(props.get("advancedEventSelectors"))
    if advanced:
        reads, writes = False, False
        for selector in advanced:
            fields = {str(get_path(f, "field")): f for f in as_list(get_path(selector, "fieldSelectors"))}
            category = fields.get("eventCategory")
            if category is None or "Management" not in [
                str(v) for v in as_list(get_path(category, "equals"))
            ]:
                continue
            if any(k not in ("eventCategory", "readOnly") for k in fields):
                continue  # narrowed to some sources or events: not every management event
            read_only = [str(v).lower() for v in as_list(get_path(fields.get("readOnly"), "equals"))]
            reads = reads or not read_only or "true" in read_only
            writes = writes or not read_only or "false" in read_only
        if not (reads and writes):
            return "its advanced event selectors do not select every management event (eventCategory Management, reads and writes)"
        return None
    if not basic:
        return None  # no selector: CloudTrail records every management event
    kinds = set()
    for selector in basic:
        if (
            get_path(selector, "includeManagementEvents") is False
            or str(get_path(selector, "includeManagementEvents")).lower() == "false"
        ):
            continue
        kind = get_path(selector, "readWriteType") or "All"
        kinds.update(("ReadOnly", "WriteOnly") if kind == "All" else (str(kind),))
    if {"ReadOnly", "WriteOnly"} <= kinds:
        return None
    if not kinds:
        return "every event selector sets includeManagementEvents false: no management event is recorded"
    return f"its event selectors record only {', '.join(sorted(kinds))} management events"


@resource_policy(
    name="cloudtrail-management-events",
    family="logging",
    types=[TRAIL],
    description="CloudTrail trails record every management event, reads and writes (no selector turns them off).",
    severity="high",
    controls=["CLD-LOG-001"],
    remediation="Leave event selectors out, or keep includeManagementEvents true with readWriteType All (advanced selectors: eventCategory = Management with no readOnly filter).",
)
def management_events(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    gap = _management_gaps(args.props)
    if gap:
        report(f"Trail records no full management events: {gap}.")


def _retention(settings: Settings) -> dict[str, dict[str, Any]]:
    floors = [settings.retention_floor_days[c] for c in settings.aws_data_classes]
    return {
        "min_retention_days": integer(
            min(floors) if floors else 90, "Shortest log retention, in days (smallest data-class floor).", 1
        )
    }


@resource_policy(
    name="log-group-retention",
    family="logging",
    types=[LOG_GROUP],
    description="CloudWatch log groups keep logs at least the national minimum and are KMS-encrypted.",
    severity="medium",
    controls=["CLD-LOG-005"],
    remediation="Set retentionInDays (from the environment's log_retention_days) and kmsKeyId = the tenancy key.",
    config=_retention,
)
def log_group_retention(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    days = args.props.get("retentionInDays")
    if days is not None and 0 < int(days) < int(config["min_retention_days"]):
        report(
            f"Log group keeps logs {number(days)} days, under the minimum of {number(config['min_retention_days'])}."
        )
    if days is None or int(days) == 0:
        report("Log group has no retention set (logs kept forever, at unbounded cost and exposure).")
    if not is_set(args.props, "kmsKeyId"):
        report("Log group is not encrypted with the tenancy KMS key.")
