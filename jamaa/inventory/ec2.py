"""Read a region's commune servers from EC2 by the tags the region stack puts on them.

An instance belongs to the inventory of (region, environment) when it carries
`jamaa:region=<MA-NN>` and `jamaa:environment=<env>` and is pending or running. Its other tags:
  Name                 the server's name: a dedicated server's inventory host name; all the
                       instances of a shared pool carry the same one (hostvar jamaa_name_tag)
  jamaa:host           the inventory host name of a dedicated server (= its Name), set by the
                       region stack on dedicated instances only; an instance without it (the pool)
                       is named <Name>-<instance id> (unique, stable for the instance's life), or
                       its instance id without a Name. The aws_ec2 plugin files
                       (environments/*/jamaa.aws_ec2.yml) use the same rule.
  jamaa:role           what it plays (default `commune_server`); the group is the role + "s"
  jamaa:commune        the commune(s) it serves, comma- or space-separated (dedicated servers);
                       absent on the region's shared pool
  jamaa:data-class     public | internal | personal | sensitive
A mis-tagged instance stops the run (`ec2:<instance id>: tag <key>: reason`): hardening a server
with another commune's settings is worse than not running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jamaa.config import DATA_CLASSES
from jamaa.errors import ConfigError, JamaaError

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$")
COMMUNE_ID = re.compile(r"^c\d{7}$")
ROLE = re.compile(r"^[a-z][a-z0-9_-]*$")
REGION_CODE = re.compile(r"^MA-\d{2}$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]*$")
STATES = ("pending", "running")
HOST_TAG = "jamaa:host"


@dataclass(frozen=True)
class CloudHost:
    """One commune server as EC2 describes it."""

    name: str  # the inventory host name
    name_tag: str  # the Name tag (else the instance id): a shared pool's instances share it
    instance_id: str
    private_ip: str | None
    availability_zone: str
    region_code: str
    environment: str
    role: str
    communes: tuple[str, ...]
    data_class: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def dedicated(self) -> bool:
        return bool(self.communes)


def _tags(instance: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in instance.get("Tags", [])}


def host_from_instance(instance: dict[str, Any], problems: list[str]) -> CloudHost | None:
    """One instance record (describe_instances) → a CloudHost, or None with its problems recorded."""
    iid = str(instance.get("InstanceId", "?"))
    where = f"ec2:{iid}"
    tags = _tags(instance)
    before = len(problems)

    name_tag = tags.get("Name") or iid
    if not HOST_NAME.match(name_tag):
        problems.append(f"{where}: tag Name: {name_tag!r} is not a usable host name")
    host_tag = tags.get(HOST_TAG, "")
    if host_tag:
        name = host_tag
        if host_tag != name_tag:
            problems.append(f"{where}: tag {HOST_TAG}: {host_tag!r} differs from tag Name {name_tag!r}")
        if not tags.get("jamaa:commune"):
            problems.append(
                f"{where}: tag {HOST_TAG}: only a dedicated server (tag jamaa:commune) carries it; "
                "a shared pool's instances would share one host name"
            )
    else:
        name = f"{tags['Name']}-{iid}" if tags.get("Name") else iid
        if tags.get("jamaa:commune"):
            problems.append(
                f"{where}: tag {HOST_TAG}: missing on a dedicated server (tag jamaa:commune); "
                "the region stack sets it to the Name tag"
            )
        elif HOST_NAME.match(name_tag) and not HOST_NAME.match(name):
            problems.append(f"{where}: tag Name: {name!r} (<Name>-<instance id>) is not a usable host name")
    role = tags.get("jamaa:role", "commune_server").replace("-", "_")
    if not ROLE.match(role):
        problems.append(f"{where}: tag jamaa:role: {role!r} is not a role name")
    communes = tuple(c for c in re.split(r"[,\s]+", tags.get("jamaa:commune", "")) if c)
    for commune in communes:
        if not COMMUNE_ID.match(commune):
            problems.append(f"{where}: tag jamaa:commune: {commune!r} is not a commune id (c + 7 digits)")
    data_class = tags.get("jamaa:data-class", "")
    if data_class not in DATA_CLASSES:
        problems.append(
            f"{where}: tag jamaa:data-class: {data_class or '(missing)'!r} "
            f"is not one of {', '.join(DATA_CLASSES)}"
        )
    if len(problems) > before:
        return None
    return CloudHost(
        name=name,
        name_tag=name_tag,
        instance_id=iid,
        private_ip=instance.get("PrivateIpAddress"),
        availability_zone=str(instance.get("Placement", {}).get("AvailabilityZone", "")),
        region_code=tags.get("jamaa:region", ""),
        environment=tags.get("jamaa:environment", ""),
        role=role,
        communes=communes,
        data_class=data_class,
        tags=tags,
    )


def hosts_from_reservations(reservations: list[dict[str, Any]]) -> list[CloudHost]:
    """All instances of describe_instances pages → hosts, sorted by name; every problem at once."""
    problems: list[str] = []
    hosts: dict[str, CloudHost] = {}
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            host = host_from_instance(instance, problems)
            if host is None:
                continue
            if host.name in hosts:
                problems.append(
                    f"ec2:{host.instance_id}: tag Name: {host.name!r} is also the name of "
                    f"{hosts[host.name].instance_id}"
                )
                continue
            hosts[host.name] = host
    if problems:
        raise ConfigError(problems)
    return [hosts[name] for name in sorted(hosts)]


def discover(
    region_code: str, environment: str, aws_region: str, endpoint_url: str | None = None
) -> list[CloudHost]:
    """The pending/running instances tagged for (region, environment) in `aws_region`."""
    problems = []
    if not REGION_CODE.match(region_code):
        problems.append(f"--region: {region_code!r}: expected a region code MA-01 … MA-12")
    if not ENVIRONMENT.match(environment):
        problems.append(f"--env: {environment!r}: expected an environment name (prod, staging, …)")
    if problems:
        raise ConfigError(problems)

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    where = f"EC2 {aws_region}" + (f" at {endpoint_url}" if endpoint_url else "")
    try:
        client = boto3.session.Session().client("ec2", region_name=aws_region, endpoint_url=endpoint_url)
        paginator = client.get_paginator("describe_instances")
        pages = paginator.paginate(
            Filters=[
                {"Name": "tag:jamaa:region", "Values": [region_code]},
                {"Name": "tag:jamaa:environment", "Values": [environment]},
                {"Name": "instance-state-name", "Values": list(STATES)},
            ]
        )
        reservations = [r for page in pages for r in page.get("Reservations", [])]
    except (BotoCoreError, ClientError) as error:
        raise JamaaError(f"{where}: cannot list instances: {error}") from None
    return hosts_from_reservations(reservations)
