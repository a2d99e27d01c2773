"""KMS: customer managed keys rotate, and cannot be deleted on a whim."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from jamaa_policies.framework import integer, resource_policy, truthy
from jamaa_policies.settings import Settings

KEY = "aws:kms/key:Key"


@resource_policy(
    name="kms-key-rotation",
    family="kms",
    types=[KEY],
    description="Symmetric customer managed KMS keys have automatic rotation on.",
    severity="high",
    controls=["CLD-KMS-001"],
    remediation="Set enableKeyRotation = true (rotationPeriodInDays 365 or less).",
)
def key_rotation(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    spec = args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT" or args.props.get("customKeyStoreId"):
        args.not_applicable(f"rotation does not apply to {spec} keys or keys in a custom key store")
    if not truthy(args.props.get("enableKeyRotation")):
        report("KMS key rotation is off.")


def _window(settings: Settings) -> dict[str, dict[str, Any]]:
    windows = [env["kms_deletion_window_days"] for env in settings.environments.values()]
    return {
        "min_deletion_window_days": integer(
            min(windows) if windows else 30,
            "Shortest pending-deletion window, in days (the smallest set for any environment).",
            7,
        )
    }


@resource_policy(
    name="kms-deletion-window",
    family="kms",
    types=[KEY],
    description="KMS keys keep a pending-deletion window of at least the national minimum.",
    severity="medium",
    controls=["CLD-KMS-002"],
    remediation="Set deletionWindowInDays to at least the configured minimum (30 in prod).",
    config=_window,
)
def deletion_window(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    window = args.props.get("deletionWindowInDays")
    days = int(window) if window is not None else 30  # AWS's default is 30 days
    if days < int(config["min_deletion_window_days"]):
        report(f"deletionWindowInDays is {days}, under the minimum of {config['min_deletion_window_days']}.")
