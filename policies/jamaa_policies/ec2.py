# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""EC2 and launch templates: IMDSv2, no public IPs, encrypted volumes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from jamaa_policies.framework import as_list, get_path, resource_policy, truthy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
SUBNET = "aws:ec2/subnet:Subnet"


def _uses_launch_template(args: ResourceValidationArgs) -> bool:
    return args.resource_type == INSTANCE and args.props.get("launchTemplate") is not None


@resource_policy(
    name="ec2-launch-template-imdsv2",
    family="ec2",
    types=[LAUNCH_TEMPLATE],
    description="Launch templates require IMDSv2 (session tokens) for the instance metadata service.",
    severity="high",
    controls=["CLD-EC2-001"],
    remediation='Set metadataOptions = {httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1}.',
)
def launch_template_imdsv2(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    tokens = get_path(args.props, "metadataOptions", "httpTokens")
    if tokens != "required":
        report(f"Launch template metadataOptions.httpTokens is {tokens!r}, not 'required' (IMDSv1 allowed).")


@resource_policy(
    name="ec2-instance-imdsv2",
    family="ec2",
    types=[INSTANCE],
    description="EC2 instances require IMDSv2 (unless their launch template sets it).",
    severity="high",
    controls=["CLD-EC2-001"],
    remediation='Set metadataOptions.httpTokens = "required" on the instance or its launch template.',
)
def instance_imdsv2(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    tokens = get_path(args.props, "metadataOptions", "httpTokens")
    if tokens is None and _uses_launch_template(args):
        return
    if tokens != "required":
        report(f"Instance metadataOptions.httpTokens is {tokens!r}, not 'required' (IMDSv1 allowed).")


@resource_policy(
    name="ec2-launch-template-no-public-ip",
    family="ec2",
    types=[LAUNCH_TEMPLATE],
    description="Launch templates never give network interfaces a public IP address.",
    severity="high",
    controls=["CLD-EC2-002"],
    remediation="Set networkInterfaces[].associatePublicIpAddress to false; reach servers through SSM and the internal ALB.",
)
def launch_template_no_public_ip(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    for position, interface in enumerate(as_list(args.props.get("networkInterfaces"))):
        if truthy(get_path(interface, "associatePublicIpAddress")):
            report(f"networkInterfaces[{position}] associates a public IP address.")


@resource_policy(
    name="ec2-instance-no-public-ip",
    family="ec2",
    types=[INSTANCE],
    description="EC2 instances have no public IP address.",
    severity="high",
    controls=["CLD-EC2-002"],
    remediation="Set associatePublicIpAddress to false and place the instance in an app-tier subnet.",
)
def instance_no_public_ip(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if truthy(args.props.get("associatePublicIpAddress")):
        report("Instance associates a public IP address.")


@resource_policy(
    name="subnet-no-auto-public-ip",
    family="ec2",
    types=[SUBNET],
    description="Subnets do not assign public IP addresses automatically at launch.",
    severity="medium",
    controls=["CLD-EC2-002"],
    remediation="Set mapPublicIpOnLaunch to false (public-tier load balancers and NAT gateways do not need it).",
)
def subnet_no_auto_public_ip(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if truthy(args.props.get("mapPublicIpOnLaunch")):
        report("Subnet sets mapPublicIpOnLaunch: every instance launched in it gets a public IP.")


@resource_policy(
    name="ec2-launch-template-encrypted-volumes",
    family="ec2",
    types=[LAUNCH_TEMPLATE],
    description="Launch templates declare their EBS volumes encrypted.",
    severity="high",
    controls=["CLD-EC2-003"],
    remediation='Declare blockDeviceMappings with ebs.encrypted "true" (and kmsKeyId = the tenancy key).',
)
def launch_template_encrypted_volumes(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    mappings = as_list(args.props.get("blockDeviceMappings"))
    ebs_mappings = [m for m in mappings if get_path(m, "ebs") is not None]
    if not ebs_mappings:
        report(
            "Launch template declares no EBS block device mapping: the root volume's encryption is left to the AMI."
        )
        return
    for mapping in ebs_mappings:
        if not truthy(get_path(mapping, "ebs", "encrypted")):
            report(f"Block device {get_path(mapping, 'deviceName')} is not encrypted.")


@resource_policy(
    name="ec2-instance-encrypted-volumes",
    family="ec2",
    types=[INSTANCE],
    description="EC2 instances' root and EBS block devices are encrypted.",
    severity="high",
    controls=["CLD-EC2-003"],
    remediation="Set rootBlockDevice.encrypted and every ebsBlockDevices[].encrypted to true, with the tenancy key.",
)
def instance_encrypted_volumes(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    root = args.props.get("rootBlockDevice")
    if root is None:
        if not _uses_launch_template(args):
            report("Instance declares no rootBlockDevice: its root volume is not encrypted.")
    elif not truthy(get_path(root, "encrypted")):
        report("Instance root volume is not encrypted.")
    for device in as_list(args.props.get("ebsBlockDevices")):
        if not truthy(get_path(device, "encrypted")):
            report(f"EBS block device {get_path(device, 'deviceName')} is not encrypted.")


@resource_policy(
    name="ebs-volume-encrypted",
    family="ec2",
    types=[VOLUME],
    description="EBS volumes are encrypted.",
    severity="high",
    controls=["CLD-EC2-003"],
    remediation="Set encrypted = true and kmsKeyId = the tenancy key.",
)
def ebs_volume_encrypted(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if not truthy(args.props.get("encrypted")):
        report("EBS volume is not encrypted.")
