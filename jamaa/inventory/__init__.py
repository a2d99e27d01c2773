"""Production inventories from cloud tags: never hand-written.

`jamaa.inventory.ec2.discover(region_code, environment, aws_region, endpoint_url)` reads the EC2
instances a region stack tagged (`jamaa:region`, `jamaa:environment`, `jamaa:commune`,
`jamaa:data-class`, `jamaa:role`, `jamaa:host`) with boto3: a dedicated server is named by its
`jamaa:host` tag (its Name), a shared pool's instance `<Name>-<instance id>`.
`jamaa.inventory.render` turns them into Ansible's dynamic-inventory JSON (`--list`, `--host`) or a
YAML inventory file. The command is
`jamaa inventory --region MA-06 --env prod [--endpoint-url URL]`.
"""

from jamaa.inventory.ec2 import CloudHost, discover
from jamaa.inventory.render import host_vars, script_json, yaml_inventory

__all__ = ["CloudHost", "discover", "host_vars", "script_json", "yaml_inventory"]
