# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Residency: AWS regions from the allowed list only; sensitive data never in AWS (Decree 2-24-921);
personal data abroad only under a CNDP authorisation recorded in environments/ (Law 09-08)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from jamaa_policies.backup import arn_region, region_of
from jamaa_policies.families import BACKUP_PLAN as PLAN
from jamaa_policies.framework import (
    as_list,
    data_class_of,
    get_path,
    resource_policy,
    string_list,
    tag_knobs,
    tags_of,
)
from jamaa_policies.settings import CNDP_TAG, Settings

AWS_PROVIDER = "pulumi:providers:aws"


def _regions(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "allowed_regions": string_list(list(settings.allowed_regions), "AWS regions a tenancy may use."),
        "default_region": {
            "type": "string",
            "default": settings.primary_region,
            "description": "Region of resources that name none (the stack's aws:region).",
        },
    }


def _is_aws(resource_type: str) -> bool:
    return resource_type.startswith("aws:") or resource_type == AWS_PROVIDER


@resource_policy(
    name="residency-allowed-region",
    family="residency",
    types=[],
    description="AWS providers and resources only use the national list of allowed regions.",
    severity="critical",
    controls=["CLD-RES-001"],
    remediation="Use hosting.primary_region or hosting.dr_region from national.yaml (never a literal region).",
    config=_regions,
)
def allowed_region(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if not _is_aws(args.resource_type):
        return
    region = args.props.get("region")
    if region is not None and region not in config["allowed_regions"]:
        what = "Provider" if args.resource_type == AWS_PROVIDER else "Resource"
        report(
            f"{what} region {region} is not in the allowed regions ({', '.join(config['allowed_regions'])})."
        )


@resource_policy(
    name="residency-backup-copy-region",
    family="residency",
    types=[PLAN],
    description="Backup copies only go to vaults in allowed regions.",
    severity="critical",
    controls=["CLD-RES-001"],
    remediation="Point copyActions[].destinationVaultArn at the DR vault in hosting.dr_region.",
    config=_regions,
)
def backup_copy_region(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    for rule in as_list(args.props.get("rules")):
        for copy in as_list(get_path(rule, "copyActions")):
            region = arn_region(copy["destinationVaultArn"])
            if region is not None and region not in config["allowed_regions"]:
                report(
                    f"Rule {get_path(rule, 'ruleName')} copies backups to {region}, outside the allowed regions."
                )


@resource_policy(
    name="residency-sensitive-not-in-aws",
    family="residency",
    types=[],
    description="Sensitive data (Decree 2-24-921) is never placed in AWS: only on qualified sovereign hosts.",
    severity="critical",
    controls=["CLD-RES-002"],
    remediation="Move the workload to a sovereign location (national.yaml hosting.sovereign_locations), managed by Ansible.",
    config=lambda s: {
        **tag_knobs(s),
        "sovereign_only_classes": string_list(
            list(s.sovereign_only_classes), "Data classes that may only live on sovereign hosts."
        ),
    },
)
def sensitive_not_in_aws(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    if not args.resource_type.startswith("aws:"):
        return
    data_class = data_class_of(args, config)
    if data_class in config["sovereign_only_classes"]:
        report(f"Data class {data_class} may not be hosted in AWS; use a sovereign location.")


def _cndp(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        **tag_knobs(settings),
        **_regions(settings),
        "abroad_classes": string_list(["personal"], "Data classes that need a CNDP authorisation abroad."),
        "authorisation_tag": {
            "type": "string",
            "default": CNDP_TAG,
            "description": "Tag naming the CNDP authorisation a resource relies on.",
        },
        "authorisations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["reference", "regions", "expires"],
                "properties": {
                    "reference": {"type": "string"},
                    "regions": {"type": "array", "items": {"type": "string"}},
                    "expires": {"type": "string", "format": "date"},
                },
            },
            "default": [dict(a) for a in settings.cndp_authorisations],
            "description": "CNDP authorisations recorded in national.yaml.",
        },
    }


@resource_policy(
    name="residency-personal-data-cndp",
    family="residency",
    types=[],
    description="Personal data (Law 09-08) goes abroad only under a valid CNDP authorisation recorded in environments/.",
    severity="critical",
    controls=["CLD-RES-003"],
    remediation=(
        "Record the CNDP authorisation (reference, regions, expiry) in national.yaml cndp_authorisations, "
        "and tag the resource with its reference."
    ),
    config=_cndp,
)
def personal_data_cndp(
    args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]
) -> None:
    if not args.resource_type.startswith("aws:"):
        return
    data_class = data_class_of(args, config)
    if data_class not in config["abroad_classes"]:
        return
    region = region_of(args) or config["default_region"]
    today = date.today().isoformat()
    valid = [
        a
        for a in config["authorisations"]
        if region in a.get("regions", []) and str(a.get("expires", "")) >= today
    ]
    reference = tags_of(args).get(config["authorisation_tag"])
    if reference is not None:
        recorded = {a.get("reference"): a for a in config["authorisations"]}
        if reference not in recorded:
            report(f"CNDP authorisation {reference} is not recorded in environments/ (national.yaml).")
        elif recorded[reference] not in valid:
            report(f"CNDP authorisation {reference} does not cover {region} or has expired.")
        return
    if not valid:
        report(
            f"{data_class} data in {region} (outside Morocco) without a valid recorded CNDP authorisation."
        )
