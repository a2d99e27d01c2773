# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""EC2 compute in every form: IMDSv2, no public IPs, encrypted volumes.

Instances are started by instances, spot instance requests, spot fleets, EC2 fleets, auto scaling
groups, launch templates and launch configurations (the `ec2-compute` family of
`jamaa_policies.families`); each rule reads every form that carries its setting, and an instance
started from a launch template must use one this stack defines, so the template's own rules apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from jamaa_policies.families import (
    AUTOSCALING_GROUP,
    EC2_FLEET,
    EC2_INSTANCE,
    EC2_LAUNCH_CONFIGURATION,
    EC2_LAUNCH_TEMPLATE,
    EC2_SPOT_FLEET,
    EC2_SPOT_INSTANCE,
    INSTANCE_LIKE,
    SUBNET,
)
from jamaa_policies.families import EBS_VOLUME as VOLUME
from jamaa_policies.framework import (
    StackIndex,
    as_list,
    each,
    get_path,
    known_or_none,
    label,
    resource_policy,
    stack_policy,
    truthy,
)

LAUNCH_TEMPLATE = EC2_LAUNCH_TEMPLATE
INSTANCE = EC2_INSTANCE
TEMPLATES = (EC2_LAUNCH_TEMPLATE, EC2_LAUNCH_CONFIGURATION)


def _uses_launch_template(args: ResourceValidationArgs) -> bool:
    return args.resource_type in INSTANCE_LIKE and args.props.get("launchTemplate") is not None


def _what(args: ResourceValidationArgs) -> str:
    return {
        EC2_LAUNCH_TEMPLATE: "Launch template",
        EC2_LAUNCH_CONFIGURATION: "Launch configuration",
        EC2_SPOT_INSTANCE: "Spot instance request",
        EC2_SPOT_FLEET: "Spot fleet request",
    }.get(args.resource_type, "Instance")


@resource_policy(
    name="ec2-launch-template-imdsv2",
    family="ec2",
    types=list(TEMPLATES),
    description="Launch templates and launch configurations require IMDSv2 (session tokens) for the instance metadata service.",
    severity="high",
    controls=["CLD-EC2-001"],
    remediation='Set metadataOptions = {httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1}.',
)
def launch_template_imdsv2(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    tokens = get_path(args.props, "metadataOptions", "httpTokens")
    if tokens != "required":
        report(f"{_what(args)} metadataOptions.httpTokens is {tokens!r}, not 'required' (IMDSv1 allowed).")


@resource_policy(
    name="ec2-instance-imdsv2",
    family="ec2",
    types=[*INSTANCE_LIKE, EC2_SPOT_FLEET],
    description="EC2 instances and spot requests require IMDSv2 (unless their launch template sets it).",
    severity="high",
    controls=["CLD-EC2-001"],
    remediation='Set metadataOptions.httpTokens = "required" on the instance or its launch template (spot fleets: use launchTemplateConfigs).',
)
def instance_imdsv2(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.resource_type == EC2_SPOT_FLEET:
        if as_list(args.props.get("launchSpecifications")):
            report(
                "Spot fleet launchSpecifications cannot require IMDSv2: instances start with IMDSv1 allowed."
            )
        return
    tokens = get_path(args.props, "metadataOptions", "httpTokens")
    if tokens is None and _uses_launch_template(args):
        return  # judged through its template (ec2-launch-template-in-stack)
    if tokens != "required":
        report(f"{_what(args)} metadataOptions.httpTokens is {tokens!r}, not 'required' (IMDSv1 allowed).")


@resource_policy(
    name="ec2-launch-template-no-public-ip",
    family="ec2",
    types=list(TEMPLATES),
    description="Launch templates and launch configurations never give instances a public IP address.",
    severity="high",
    controls=["CLD-EC2-002"],
    remediation="Set networkInterfaces[].associatePublicIpAddress (launch configurations: associatePublicIpAddress) to false; reach servers through SSM and the internal ALB.",
)
def launch_template_no_public_ip(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.resource_type == EC2_LAUNCH_CONFIGURATION:
        if truthy(args.props.get("associatePublicIpAddress")):
            report("Launch configuration associates a public IP address.")
        return
    for position, interface in enumerate(as_list(args.props.get("networkInterfaces"))):
        if truthy(get_path(interface, "associatePublicIpAddress")):
            report(f"networkInterfaces[{position}] associates a public IP address.")


@resource_policy(
    name="ec2-instance-no-public-ip",
    family="ec2",
    types=[*INSTANCE_LIKE, EC2_SPOT_FLEET],
    description="EC2 instances, spot instance requests and spot fleets have no public IP address.",
    severity="high",
    controls=["CLD-EC2-002"],
    remediation="Set associatePublicIpAddress to false and place the instance in an app-tier subnet.",
)
def instance_no_public_ip(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.resource_type == EC2_SPOT_FLEET:
        for position, spec in enumerate(as_list(args.props.get("launchSpecifications"))):
            if truthy(get_path(spec, "associatePublicIpAddress")):
                report(f"launchSpecifications[{position}] associates a public IP address.")
        return
    if truthy(args.props.get("associatePublicIpAddress")):
        report(f"{_what(args)} associates a public IP address.")
    for position, interface in enumerate(as_list(args.props.get("networkInterfaces"))):
        if truthy(get_path(interface, "associatePublicIpAddress")):
            report(f"networkInterfaces[{position}] associates a public IP address.")


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
    types=list(TEMPLATES),
    description="Launch templates and launch configurations declare their EBS volumes encrypted.",
    severity="high",
    controls=["CLD-EC2-003"],
    remediation='Declare blockDeviceMappings with ebs.encrypted "true" (and kmsKeyId = the tenancy key); launch configurations: rootBlockDevice/ebsBlockDevices encrypted.',
)
def launch_template_encrypted_volumes(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.resource_type == EC2_LAUNCH_CONFIGURATION:
        root = args.props.get("rootBlockDevice")
        if root is None or not truthy(get_path(root, "encrypted")):
            report("Launch configuration root volume is not encrypted.")
        for device in as_list(args.props.get("ebsBlockDevices")):
            if not truthy(get_path(device, "encrypted")):
                report(f"EBS block device {get_path(device, 'deviceName')} is not encrypted.")
        return
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
    types=[*INSTANCE_LIKE, EC2_SPOT_FLEET],
    description="EC2 instances', spot requests' and spot fleets' root and EBS block devices are encrypted.",
    severity="high",
    controls=["CLD-EC2-003"],
    remediation="Set rootBlockDevice.encrypted and every ebsBlockDevices[].encrypted to true, with the tenancy key.",
)
def instance_encrypted_volumes(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    if args.resource_type == EC2_SPOT_FLEET:
        for position, spec in enumerate(as_list(args.props.get("launchSpecifications"))):
            roots = as_list(get_path(spec, "rootBlockDevices"))
            if not roots or not all(truthy(get_path(r, "encrypted")) for r in roots):
                report(f"launchSpecifications[{position}] root volume is not encrypted.")
            for device in as_list(get_path(spec, "ebsBlockDevices")):
                if not truthy(get_path(device, "encrypted")):
                    report(
                        f"launchSpecifications[{position}] EBS device {get_path(device, 'deviceName')} is not encrypted."
                    )
        return
    root = args.props.get("rootBlockDevice")
    if root is None:
        if not _uses_launch_template(args):
            report(f"{_what(args)} declares no rootBlockDevice: its root volume is not encrypted.")
    elif not truthy(get_path(root, "encrypted")):
        report(f"{_what(args)} root volume is not encrypted.")
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


# --- instances started from a launch template ------------------------------------------------------


def _first(spec: Any, *keys: str) -> Any:
    for key in keys:
        value = get_path(spec, key)
        if value:
            return value
    return None


def _template_references(resource: PolicyResource) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(input key, how to read the template id or name it names) for each launch template or
    configuration used; the name is read only when the engine's dependencies do not decide."""
    props = resource.props
    kind = resource.resource_type
    if (kind in INSTANCE_LIKE or kind == AUTOSCALING_GROUP) and props.get("launchTemplate") is not None:
        yield "launchTemplate", lambda: _first(props["launchTemplate"], "id", "name")
    if kind == AUTOSCALING_GROUP:
        if props.get("launchConfiguration") is not None:
            yield "launchConfiguration", lambda: props["launchConfiguration"]
        if props.get("mixedInstancesPolicy") is not None:
            yield (
                "mixedInstancesPolicy",
                lambda: _first(
                    get_path(props["mixedInstancesPolicy"], "launchTemplate", "launchTemplateSpecification"),
                    "launchTemplateId",
                    "launchTemplateName",
                ),
            )
    if kind in (EC2_FLEET, EC2_SPOT_FLEET):
        for config in as_list(props.get("launchTemplateConfigs")):
            yield (
                "launchTemplateConfigs",
                lambda config=config: _first(
                    get_path(config, "launchTemplateSpecification"),
                    "launchTemplateId",
                    "launchTemplateName",
                    "id",
                    "name",
                ),
            )


def _template_identifiers(template: PolicyResource) -> Iterator[Any]:
    for key in ("id", "name"):
        value = known_or_none(template.props, key)
        if value:
            yield value


@stack_policy(
    name="ec2-launch-template-in-stack",
    family="ec2",
    types=[EC2_INSTANCE, EC2_SPOT_INSTANCE, EC2_FLEET, EC2_SPOT_FLEET, AUTOSCALING_GROUP, *TEMPLATES],
    description="Instances, spot requests, fleets and auto scaling groups started from a launch template (or configuration) use one this stack defines, so its IMDSv2, public-IP and encryption rules apply.",
    severity="high",
    controls=["CLD-EC2-001", "CLD-EC2-002", "CLD-EC2-003"],
    remediation="Define the launch template in the stack (aws.ec2.LaunchTemplate) and pass its id; or set metadataOptions, volumes and networking on the instance itself.",
)
def launch_template_in_stack(
    args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    index = StackIndex(args.resources)
    templates = index.of_type(*TEMPLATES)

    def check(resource: PolicyResource) -> None:
        for key, read in _template_references(resource):
            deps = resource.property_dependencies.get(key) or []
            if any(d.resource_type in TEMPLATES for d in deps):
                continue
            named = read()  # raises when only known after deployment: cannot evaluate offline
            linked = [
                t
                for t in templates
                if named is not None and str(named) in {str(i) for i in _template_identifiers(t)}
            ]
            if not linked:
                report(
                    f"{label(resource)} starts instances from launch template {named!r}, which this stack does not define: its metadata, public-IP and encryption settings cannot be shown.",
                    resource.urn,
                )

    each(index.of_type(EC2_INSTANCE, EC2_SPOT_INSTANCE, EC2_FLEET, EC2_SPOT_FLEET, AUTOSCALING_GROUP), check)
