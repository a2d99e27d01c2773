"""`jamaa inventory`: an Ansible dynamic inventory of a region's servers, from their EC2 tags.

As a dynamic inventory script, Ansible calls it with `--list` (or `--host NAME`) only, so the region
and environment also come from the environment (`JAMAA_REGION`, `JAMAA_ENV`); a two-line wrapper
(`exec jamaa inventory --region MA-06 --env prod "$@"`) works as well. boto3's own settings apply
(credentials, `AWS_ENDPOINT_URL_EC2`); `--endpoint-url` points it at a test endpoint (moto).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from jamaa.clikit import fails_cleanly
from jamaa.config import load_environments
from jamaa.errors import ConfigError
from jamaa.inventory.ec2 import discover
from jamaa.inventory.render import Connection, script_json, yaml_inventory


def inventory(
    region: Annotated[str, typer.Option("--region", envvar="JAMAA_REGION", help="region code, MA-06")],
    env: Annotated[str, typer.Option("--env", envvar="JAMAA_ENV", help="environment: prod, staging, …")],
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", envvar="JAMAA_EC2_ENDPOINT_URL", help="EC2 endpoint")
    ] = None,
    aws_region: Annotated[
        str | None, typer.Option("--aws-region", help="AWS region (default: the environment's primary)")
    ] = None,
    environments: Annotated[Path, typer.Option(help="environments directory")] = Path("environments"),
    connection: Annotated[
        str, typer.Option(help="ssh (private address) or ssm (instance id, aws_ssm connection)")
    ] = "ssh",
    output_format: Annotated[
        str, typer.Option("--format", help="json (dynamic inventory) or yaml (inventory file)")
    ] = "json",
    list_: Annotated[bool, typer.Option("--list", help="all groups and hosts (the default)")] = False,
    host: Annotated[str | None, typer.Option("--host", help="one host's variables")] = None,
) -> None:
    """Print the inventory of REGION × ENV's instances, read from their jamaa:* tags."""
    problems = []
    if connection not in ("ssh", "ssm"):
        problems.append(f"--connection: {connection!r}: expected ssh or ssm")
    if output_format not in ("json", "yaml"):
        problems.append(f"--format: {output_format!r}: expected json or yaml")
    if problems:
        raise ConfigError(problems)
    region = region.upper()
    if aws_region is None:
        envs = load_environments(environments)
        if env not in envs.environments:
            known = ", ".join(sorted(envs.environments))
            raise ConfigError([f"--env: {env!r}: no {environments}/{env}/environment.yaml (known: {known})"])
        aws_region = envs.primary_region(env)
    conn: Connection = "ssm" if connection == "ssm" else "ssh"
    hosts = discover(region, env, aws_region, endpoint_url)
    if output_format == "yaml":
        typer.echo(yaml.safe_dump(yaml_inventory(hosts, aws_region, conn), sort_keys=False), nl=False)
        return
    answer = script_json(hosts, aws_region, conn)
    if host is not None:
        typer.echo(json.dumps(answer["_meta"]["hostvars"].get(host, {}), indent=2))
        return
    typer.echo(json.dumps(answer, indent=2))


def register(app: typer.Typer) -> None:
    app.command("inventory")(fails_cleanly(inventory))
