"""Cloud hosts → Ansible inventory: dynamic-inventory JSON (`--list` / `--host`) or a YAML file.

Groups match the lab's and the static inventories' (`commune_servers`, …) so the same playbooks
and the same baseline run on all three, plus groups to target a slice of the fleet:
`region_ma_06`, `env_prod`, `data_class_personal`, `dedicated_servers` / `shared_pool`,
`commune_c1410101`, `az_eu_south_2a`.
"""

from __future__ import annotations

from typing import Any, Literal

from jamaa.errors import ConfigError
from jamaa.inventory.ec2 import CloudHost

Connection = Literal["ssh", "ssm"]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower())


def groups_of(host: CloudHost) -> list[str]:
    groups = [
        f"{host.role}s",
        f"region_{_slug(host.region_code)}",
        f"env_{_slug(host.environment)}",
        f"data_class_{host.data_class}",
        "dedicated_servers" if host.dedicated else "shared_pool",
    ]
    groups += [f"commune_{commune}" for commune in host.communes]
    if host.availability_zone:
        groups.append(f"az_{_slug(host.availability_zone)}")
    return groups


def host_vars(host: CloudHost, aws_region: str, connection: Connection = "ssh") -> dict[str, Any]:
    """What a play needs to know about the host; the connection's own settings live in group_vars."""
    if connection == "ssm":
        address: dict[str, Any] = {
            "ansible_host": host.instance_id,
            "ansible_connection": "community.aws.aws_ssm",
            "ansible_aws_ssm_region": aws_region,
        }
    else:
        if not host.private_ip:
            raise ConfigError([f"ec2:{host.instance_id}: PrivateIpAddress: none yet; use --connection ssm"])
        address = {"ansible_host": host.private_ip}
    return {
        **address,
        "jamaa_host_kind": "ec2",
        "jamaa_host_role": host.role,
        "jamaa_communes": list(host.communes),
        "jamaa_region": host.region_code,
        "jamaa_environment": host.environment,
        "jamaa_data_class": host.data_class,
        "jamaa_instance_id": host.instance_id,
        "jamaa_name_tag": host.name_tag,
        "jamaa_availability_zone": host.availability_zone,
        "jamaa_aws_region": aws_region,
    }


def _group_members(hosts: list[CloudHost]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for host in hosts:
        for group in groups_of(host):
            members.setdefault(group, []).append(host.name)
    return dict(sorted(members.items()))


def script_json(hosts: list[CloudHost], aws_region: str, connection: Connection = "ssh") -> dict[str, Any]:
    """Ansible's dynamic-inventory answer to `--list` (with `_meta.hostvars`, so no `--host` calls)."""
    members = _group_members(hosts)
    inventory: dict[str, Any] = {
        "_meta": {"hostvars": {h.name: host_vars(h, aws_region, connection) for h in hosts}},
        "all": {"children": ["ungrouped", *members]},
        "ungrouped": {"hosts": []},
    }
    for group, names in members.items():
        inventory[group] = {"hosts": names}
    return inventory


def yaml_inventory(hosts: list[CloudHost], aws_region: str, connection: Connection = "ssh") -> dict[str, Any]:
    """The same as a YAML inventory file (Ansible's `yaml` plugin): for CI artefacts and audits."""
    members = _group_members(hosts)
    return {
        "all": {
            "hosts": {h.name: host_vars(h, aws_region, connection) for h in hosts},
            "children": {group: {"hosts": dict.fromkeys(names)} for group, names in members.items()},
        }
    }
