# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""KMS: customer managed keys rotate, cannot be deleted on a whim, and only the organization may use them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from jamaa_policies.documents import account_of, exposure, is_anyone, parsed
from jamaa_policies.families import KMS_GRANT, KMS_KEY_POLICY, KMS_KEYS
from jamaa_policies.framework import environment_of, resource_policy, tag_knobs, truthy
from jamaa_policies.iam import trusted
from jamaa_policies.settings import Settings

KEY = KMS_KEYS[0]


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
    by_environment = {name: env["kms_deletion_window_days"] for name, env in settings.environments.items()}
    return {
        **tag_knobs(settings),
        "min_deletion_window_days": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 7, "maximum": 30},
            "default": by_environment,
            "description": "Shortest pending-deletion window per environment, in days (environments/<env>).",
        },
    }


@resource_policy(
    name="kms-deletion-window",
    family="kms",
    types=[KEY],
    description="KMS keys keep at least their environment's pending-deletion window (30 days in prod).",
    severity="medium",
    controls=["CLD-KMS-002"],
    remediation="Set deletionWindowInDays to at least the environment's kms_deletion_window_days.",
    config=_window,
)
def deletion_window(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    minimums: Mapping[str, int] = config["min_deletion_window_days"]
    environment = environment_of(args, config)
    # An untagged key, or an environment without a setting, gets the strictest window.
    required = int(
        minimums.get(environment, max(minimums.values(), default=30))
        if environment
        else max(minimums.values(), default=30)
    )
    window = args.props.get("deletionWindowInDays")
    days = int(window) if window is not None else 30  # AWS's default is 30 days
    if days < required:
        report(f"deletionWindowInDays is {days}, under the {environment or 'default'} minimum of {required}.")


@resource_policy(
    name="kms-key-policy-no-public-access",
    family="kms",
    types=[*KMS_KEYS, KMS_KEY_POLICY, KMS_GRANT],
    description="No KMS key policy or grant lets anyone, or an account outside the organization, use the key without a condition pinning the organization.",
    severity="critical",
    controls=["CLD-KMS-003"],
    remediation="Name the accounts and roles that may use the key; pin a wildcard principal with aws:PrincipalOrgID or kms:CallerAccount; grant to principals of the organization only.",
    config=trusted,
)
def key_policy_no_public_access(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    accounts = [str(a) for a in config["trusted_accounts"]]
    if args.resource_type == KMS_GRANT:
        for key in ("granteePrincipal", "retiringPrincipal"):
            value = args.props.get(key)
            if value is None:
                continue
            kind, text = ("*", "*") if str(value).strip() == "*" else ("AWS", str(value))
            account = account_of(kind, text)
            if is_anyone(kind, text) or (account is not None and account not in accounts):
                report(f"Grant {key} {value} is outside the organization.")
        return
    if args.props.get("policy") is None:
        return  # AWS's default key policy: the key's own account only
    found = parsed(args.props.get("policy"))
    if found is None:
        report("Key policy is not a readable JSON policy document.")
        return
    for problem in exposure(found, accounts):
        report(f"Key policy {problem}.")
