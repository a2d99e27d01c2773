"""`jamaa inventory`: EC2 instances by their jamaa:* tags → Ansible inventory, against moto on loopback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.errors import ConfigError
from jamaa.inventory.ec2 import hosts_from_reservations
from jamaa.inventory.render import host_vars, script_json
from jamaa.paths import REPO

POOL = "ma-06-prod-shared-server"  # the Name tag all the pool's instances carry
ANFA = "ma-06-prod-server-c1410101"
runner = CliRunner()


def launch(ec2: Any, subnet: str, name: str | None, **tags: str) -> str:
    all_tags = dict(tags)
    if name:
        all_tags["Name"] = name
    result = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        SubnetId=subnet,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}
        ],
    )
    return str(result["Instances"][0]["InstanceId"])


@pytest.fixture
def fleet(ec2: Any) -> dict[str, str]:
    """Casablanca-Settat prod: two shared-pool instances (one Name, as the pool's launch gives them), a
    dedicated server (Anfa, with its jamaa:host tag), and neighbours to leave out."""
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24", AvailabilityZone="eu-south-2a")
    sid = subnet["Subnet"]["SubnetId"]
    base = {"jamaa:region": "MA-06", "jamaa:environment": "prod"}
    ids = {
        "pool": launch(ec2, sid, POOL, **base, **{"jamaa:data-class": "internal"}),
        "pool_2": launch(ec2, sid, POOL, **base, **{"jamaa:data-class": "internal"}),
        "anfa": launch(
            ec2,
            sid,
            ANFA,
            **base,
            **{"jamaa:data-class": "personal", "jamaa:commune": "c1410101", "jamaa:host": ANFA},
        ),
        "staging": launch(
            ec2,
            sid,
            "ma-06-staging-pool-1",
            **{**base, "jamaa:environment": "staging"},
            **{"jamaa:data-class": "internal"},
        ),
        "other_region": launch(
            ec2,
            sid,
            "ma-07-prod-pool-1",
            **{**base, "jamaa:region": "MA-07"},
            **{"jamaa:data-class": "internal"},
        ),
        "untagged": launch(ec2, sid, "someone-elses"),
        "gone": launch(ec2, sid, "ma-06-prod-old", **base, **{"jamaa:data-class": "internal"}),
    }
    ec2.terminate_instances(InstanceIds=[ids["gone"]])
    return ids


def inventory(endpoint: str, *args: str) -> Any:
    result = runner.invoke(
        app, ["inventory", "--region", "MA-06", "--env", "prod", "--endpoint-url", endpoint, *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def pool_hosts(fleet: dict[str, str]) -> list[str]:
    """The pool's inventory host names: <Name>-<instance id>, one per instance."""
    return sorted(f"{POOL}-{fleet[key]}" for key in ("pool", "pool_2"))


def test_region_environment_selected_by_tags(moto_endpoint: str, fleet: dict[str, str]) -> None:
    answer = json.loads(inventory(moto_endpoint, "--list"))
    pool = pool_hosts(fleet)
    assert set(answer["_meta"]["hostvars"]) == {ANFA, *pool}
    assert sorted(answer["commune_servers"]["hosts"]) == sorted([ANFA, *pool])
    assert answer["dedicated_servers"]["hosts"] == [ANFA]
    assert sorted(answer["shared_pool"]["hosts"]) == pool
    assert answer["commune_c1410101"]["hosts"] == [ANFA]
    assert answer["data_class_personal"]["hosts"] == [ANFA]
    assert answer["region_ma_06"]["hosts"] == answer["env_prod"]["hosts"]
    anfa = answer["_meta"]["hostvars"][ANFA]
    assert anfa["jamaa_instance_id"] == fleet["anfa"]
    assert anfa["jamaa_name_tag"] == ANFA
    for key in ("pool", "pool_2"):
        one = answer["_meta"]["hostvars"][f"{POOL}-{fleet[key]}"]
        assert (one["jamaa_instance_id"], one["jamaa_name_tag"]) == (fleet[key], POOL)
    assert anfa["jamaa_communes"] == ["c1410101"]
    assert anfa["ansible_host"].startswith("10.6.1.")
    assert anfa["jamaa_availability_zone"] == "eu-south-2a"
    assert set(answer["all"]["children"]) >= {"commune_servers", "region_ma_06", "ungrouped"}


def test_ssm_connection_and_host_query(moto_endpoint: str, fleet: dict[str, str]) -> None:
    one = json.loads(inventory(moto_endpoint, "--connection", "ssm", "--host", f"{POOL}-{fleet['pool']}"))
    assert one["ansible_host"] == fleet["pool"]
    assert one["ansible_connection"] == "community.aws.aws_ssm"
    assert one["ansible_aws_ssm_region"] == "eu-south-2"
    assert json.loads(inventory(moto_endpoint, "--host", "not-a-host")) == {}


def test_yaml_inventory_file_is_what_ansible_reads(
    moto_endpoint: str, fleet: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "ma-06-prod.yml"
    path.write_text(inventory(moto_endpoint, "--format", "yaml"))
    assert f"{POOL}-{fleet['pool']}" in yaml.safe_load(path.read_text())["all"]["hosts"]
    graph = ansible_inventory(["-i", str(path), "--list"])
    assert sorted(graph["commune_servers"]["hosts"]) == sorted([ANFA, *pool_hosts(fleet)])
    assert graph["_meta"]["hostvars"][ANFA]["jamaa_data_class"] == "personal"


def ansible_inventory(args: list[str], **env: str) -> Any:
    proc = subprocess.run(
        [str(REPO / ".venv/bin/ansible-inventory"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "ANSIBLE_LOCALHOST_WARNING": "False", **env},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return plain(json.loads(proc.stdout))


def plain(value: Any) -> Any:
    """ansible-inventory marks values from plugins as unsafe (`{"__ansible_unsafe": v}`): unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def test_usable_as_ansible_dynamic_inventory_script(
    moto_endpoint: str, fleet: dict[str, str], tmp_path: Path
) -> None:
    """Ansible's script plugin calls the executable with --list; region and env come from the environment."""
    script = tmp_path / "ma-06-prod.sh"
    script.write_text(f'#!/bin/sh\nexec {REPO / ".venv/bin/jamaa"} inventory "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    graph = ansible_inventory(
        ["-i", str(script), "--list"],
        ANSIBLE_INVENTORY_ENABLED="script",
        JAMAA_REGION="MA-06",
        JAMAA_ENV="prod",
        JAMAA_EC2_ENDPOINT_URL=moto_endpoint,
    )
    assert sorted(graph["commune_servers"]["hosts"]) == sorted([ANFA, *pool_hosts(fleet)])
    assert graph["_meta"]["hostvars"][f"{POOL}-{fleet['pool']}"]["jamaa_region"] == "MA-06"


def test_mis_tagged_instance_stops_the_run(moto_endpoint: str, ec2: Any) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    base = {"jamaa:region": "MA-06", "jamaa:environment": "prod"}
    bad = launch(ec2, sid, "ma-06-prod-x", **base, **{"jamaa:data-class": "secret", "jamaa:commune": "anfa"})
    result = runner.invoke(
        app, ["inventory", "--region", "MA-06", "--env", "prod", "--endpoint-url", moto_endpoint]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert f"ec2:{bad}: tag jamaa:commune: 'anfa' is not a commune id (c + 7 digits)" in lines
    assert any(line.startswith(f"ec2:{bad}: tag jamaa:data-class: 'secret' is not one of") for line in lines)


def record(iid: str, **tags: str) -> dict[str, Any]:
    """One describe_instances record with its tags."""
    return {"InstanceId": iid, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


POOL_TAGS = {
    "Name": POOL,
    "jamaa:data-class": "internal",
    "aws:autoscaling:groupName": "ma-06-prod-shared-pool",
}
ANFA_TAGS = {"Name": ANFA, "jamaa:host": ANFA, "jamaa:commune": "c1410101", "jamaa:data-class": "personal"}


def test_pool_instances_sharing_a_name_are_hosts_of_their_own() -> None:
    """The pool launches every instance with one Name: each becomes <Name>-<instance id>."""
    reservations = [
        {"Instances": [record("i-0aaa", **POOL_TAGS), record("i-0bbb", **POOL_TAGS)]},
        {"Instances": [record("i-0ccc", **ANFA_TAGS)]},
    ]
    hosts = {h.name: h for h in hosts_from_reservations(reservations)}
    assert set(hosts) == {f"{POOL}-i-0aaa", f"{POOL}-i-0bbb", ANFA}
    answer = script_json(list(hosts.values()), "eu-south-2", "ssm")  # no private address offline
    assert answer["shared_pool"]["hosts"] == [f"{POOL}-i-0aaa", f"{POOL}-i-0bbb"]
    assert answer["dedicated_servers"]["hosts"] == [ANFA]
    hostvars = answer["_meta"]["hostvars"]
    assert {name: v["jamaa_name_tag"] for name, v in hostvars.items()} == {
        f"{POOL}-i-0aaa": POOL,
        f"{POOL}-i-0bbb": POOL,
        ANFA: ANFA,
    }
    assert hostvars[f"{POOL}-i-0bbb"]["jamaa_instance_id"] == "i-0bbb"


def test_instance_without_a_name_is_its_instance_id() -> None:
    (host,) = hosts_from_reservations([{"Instances": [record("i-0ddd", **{"jamaa:data-class": "internal"})]}])
    assert (host.name, host.name_tag, host.dedicated) == ("i-0ddd", "i-0ddd", False)


def test_duplicate_names_are_refused() -> None:
    """Two dedicated servers with one name is a true collision: one of them would not be managed."""
    tags = {**ANFA_TAGS, "Name": "srv", "jamaa:host": "srv"}
    reservations = [{"Instances": [record("i-1", **tags)]}, {"Instances": [record("i-2", **tags)]}]
    with pytest.raises(ConfigError) as error:
        hosts_from_reservations(reservations)
    assert str(error.value).strip() == "ec2:i-2: tag Name: 'srv' is also the name of i-1"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            {**ANFA_TAGS, "jamaa:host": "ma-06-prod-server-c1410102"},
            f"ec2:i-9: tag jamaa:host: 'ma-06-prod-server-c1410102' differs from tag Name '{ANFA}'",
        ),
        (
            {**POOL_TAGS, "jamaa:host": POOL},
            "ec2:i-9: tag jamaa:host: only a dedicated server (tag jamaa:commune) carries it; "
            "a shared pool's instances would share one host name",
        ),
        (
            {k: v for k, v in ANFA_TAGS.items() if k != "jamaa:host"},
            "ec2:i-9: tag jamaa:host: missing on a dedicated server (tag jamaa:commune); "
            "the region stack sets it to the Name tag",
        ),
        (
            {**POOL_TAGS, "Name": "p" * 60},
            f"ec2:i-9: tag Name: '{'p' * 60}-i-9' (<Name>-<instance id>) is not a usable host name",
        ),
    ],
    ids=["host-tag-differs", "host-tag-on-pool", "dedicated-without-host-tag", "pool-name-too-long"],
)
def test_host_tag_mistakes_are_one_line(tags: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        hosts_from_reservations([{"Instances": [record("i-9", **tags)]}])
    assert str(error.value).strip() == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "Casablanca"], "--region: 'CASABLANCA': expected a region code MA-01 … MA-12"),
        (["--connection", "telnet"], "--connection: 'telnet': expected ssh or ssm"),
        (["--env", "dev"], "--env: 'dev': no environments/dev/environment.yaml (known: lab, prod, staging)"),
    ],
)
def test_bad_arguments_one_line_exit_2(args: list[str], message: str, aws_env: None) -> None:
    base = {"--region": "MA-06", "--env": "prod", "--aws-region": "eu-south-2"}
    if args[0] == "--env":
        base.pop("--aws-region")
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = runner.invoke(app, ["inventory", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_unreachable_endpoint_is_one_line(aws_env: None) -> None:
    result = runner.invoke(
        app,
        [
            "inventory",
            "--region",
            "MA-06",
            "--env",
            "prod",
            "--aws-region",
            "eu-south-2",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2
    assert result.output.startswith("EC2 eu-south-2 at http://127.0.0.1:9: cannot list instances:")
    assert len(result.output.strip().splitlines()) == 1


def test_aws_ec2_plugin_config_agrees_with_jamaa_inventory(
    moto_endpoint: str, fleet: dict[str, str], tmp_path: Path
) -> None:
    """environments/prod/jamaa.aws_ec2.yml (amazon.aws.aws_ec2) and `jamaa inventory` see the same fleet."""
    from jamaa.config import load_environments

    source = REPO / "environments/prod/jamaa.aws_ec2.yml"
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    assert config["plugin"] == "amazon.aws.aws_ec2"
    assert config["regions"] == [load_environments(REPO / "environments").primary_region("prod")]
    assert config["filters"]["tag:jamaa:environment"] == "prod"
    copy = tmp_path / "prod.aws_ec2.yml"
    copy.write_text(source.read_text(encoding="utf-8"))
    graph = ansible_inventory(["-i", str(copy), "--list"], AWS_URL=moto_endpoint)
    ours = json.loads(inventory(moto_endpoint, "--list"))
    region = set(graph["region_ma_06"]["hosts"])
    assert region == set(ours["_meta"]["hostvars"])
    assert graph["region_ma_07"]["hosts"] == [f"ma-07-prod-pool-1-{fleet['other_region']}"]
    # The plugin names hosts as `jamaa inventory` does: the dedicated server by its Name, each pool
    # instance <Name>-<instance id> (no more one host for the whole pool).
    assert region == {ANFA, *pool_hosts(fleet)}
    assert sorted(graph["shared_pool"]["hosts"]) == sorted(
        [*pool_hosts(fleet), *graph["region_ma_07"]["hosts"]]
    )
    for group in (
        "commune_servers",
        "dedicated_servers",
        "shared_pool",
        "commune_c1410101",
        "data_class_personal",
    ):
        assert set(graph[group]["hosts"]) & region == set(ours[group]["hosts"]), group
    for name, expected in ours["_meta"]["hostvars"].items():
        got = graph["_meta"]["hostvars"][name]
        assert {key: got.get(key) for key in expected} == expected, name
        # The plugin composes exactly the jamaa_* variables `jamaa inventory` gives, no more, no fewer.
        assert {k for k in got if k.startswith("jamaa_")} == {k for k in expected if k.startswith("jamaa_")}


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_aws_ec2_plugin_files_name_hosts_as_jamaa_inventory(env: str) -> None:
    """Both environments' plugin files: a dedicated server by its jamaa:host tag, every other instance
    <Name>-<instance id> (prefix + separator of the hostnames dict form), and the same variables as
    `jamaa inventory` composes (jamaa_name_tag among them)."""
    config = yaml.safe_load((REPO / "environments" / env / "jamaa.aws_ec2.yml").read_text(encoding="utf-8"))
    assert config["hostnames"] == [
        "tag:jamaa:host",
        {"name": "instance-id", "prefix": "tag:Name", "separator": "-"},
    ]
    assert config["compose"]["jamaa_name_tag"] == "tags['Name'] | default(instance_id, true)"
    assert config["compose"]["jamaa_instance_id"] == "instance_id"
    assert config["strict"] is True
    (host,) = hosts_from_reservations(
        [{"Instances": [{**record("i-0aaa", **POOL_TAGS), "PrivateIpAddress": "10.6.1.5"}]}]
    )
    assert set(config["compose"]) == set(host_vars(host, "eu-south-2"))
