# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Threat detection and posture: GuardDuty, AWS Config and Security Hub are switched on (stack-level)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from jamaa_policies.families import CONFIG_DELIVERY_CHANNEL as DELIVERY_CHANNEL
from jamaa_policies.families import CONFIG_RECORDER as RECORDER
from jamaa_policies.families import CONFIG_RECORDER_STATUS as RECORDER_STATUS
from jamaa_policies.families import GUARDDUTY_DETECTOR as DETECTOR
from jamaa_policies.families import SECURITYHUB_ACCOUNT as HUB
from jamaa_policies.families import SECURITYHUB_STANDARD as STANDARD
from jamaa_policies.framework import StackIndex, environment_of, stack_policy, string_list, tag_knobs
from jamaa_policies.settings import Settings


def _knob(key: str, what: str) -> Callable[[Settings], dict[str, dict[str, Any]]]:
    def config(settings: Settings) -> dict[str, dict[str, Any]]:
        return {
            **tag_knobs(settings),
            "environments": string_list(
                settings.environments_where(key), f"Environments whose stacks must switch on {what}."
            ),
        }

    return config


def stack_environment(resources: list[PolicyResource], config: Mapping[str, Any]) -> str | None:
    """The environment most of the stack's resources are tagged with."""
    counts: Counter[str] = Counter()
    for resource in resources:
        try:
            environment = environment_of(resource, config)
        except UnknownValueError:  # an unknown tag value says nothing about the environment
            continue
        if environment:
            counts[environment] += 1
    return counts.most_common(1)[0][0] if counts else None


def _required(args: StackValidationArgs, config: Mapping[str, Any], what: str) -> str:
    environment = stack_environment(args.resources, config)
    if environment is None:
        args.not_applicable(f"no resource carries an environment tag; cannot tell whether {what} is required")
    if environment not in config["environments"]:
        args.not_applicable(
            f"environment {environment} does not require {what} in the stack "
            "(off, or provided by the organization stacks)"
        )
    return str(environment)


@stack_policy(
    name="guardduty-enabled",
    family="detection",
    description="Stacks of environments that require it enable a GuardDuty detector.",
    severity="high",
    controls=["CLD-DET-001"],
    remediation="Add an aws.guardduty.Detector with enable = true.",
    config=_knob("guardduty", "GuardDuty"),
)
def guardduty_enabled(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    environment = _required(args, config, "GuardDuty")
    detectors = StackIndex(args.resources).of_type(DETECTOR)
    if not detectors:
        report(f"No GuardDuty detector in this {environment} stack.")
    elif not any(d.props.get("enable") is not False for d in detectors):
        report("The GuardDuty detector is declared but disabled (enable = false).")


@stack_policy(
    name="config-recorder-enabled",
    family="detection",
    description="Stacks of environments that require it record configuration with AWS Config, switched on and delivering.",
    severity="high",
    controls=["CLD-DET-002"],
    remediation="Add an aws.cfg.Recorder, an aws.cfg.DeliveryChannel and an aws.cfg.RecorderStatus with isEnabled = true.",
    config=_knob("config", "AWS Config"),
)
def config_recorder(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    environment = _required(args, config, "AWS Config")
    index = StackIndex(args.resources)
    if not index.of_type(RECORDER):
        report(f"No AWS Config recorder in this {environment} stack.")
        return
    if not index.of_type(DELIVERY_CHANNEL):
        report("The AWS Config recorder has no delivery channel.")
    statuses = index.of_type(RECORDER_STATUS)
    if not any(s.props.get("isEnabled") is True for s in statuses):
        report("The AWS Config recorder is never started (no RecorderStatus with isEnabled = true).")


@stack_policy(
    name="securityhub-enabled",
    family="detection",
    description="Stacks of environments that require it enable Security Hub with the CIS AWS Foundations standard.",
    severity="medium",
    controls=["CLD-DET-003"],
    remediation="Add an aws.securityhub.Account and an aws.securityhub.StandardsSubscription to the CIS AWS Foundations Benchmark.",
    config=_knob("security_hub", "Security Hub"),
)
def securityhub_enabled(
    args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    environment = _required(args, config, "Security Hub")
    index = StackIndex(args.resources)
    if not index.of_type(HUB):
        report(f"Security Hub is not enabled in this {environment} stack.")
        return
    standards = [str(s.props.get("standardsArn")) for s in index.of_type(STANDARD)]
    if not any("cis-aws-foundations-benchmark" in arn for arn in standards):
        report("Security Hub has no subscription to the CIS AWS Foundations Benchmark standard.")
