"""The offline plan runner: isolation between runs, unknowns, errors as one line (exit 2), the CLI."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pulumi_aws as aws
import pytest
import yaml
from tenancy_plans import ROOT, plan_strictly, token
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.errors import ConfigError, JamaaError
from jamaa.plan import UNKNOWN, PlanError, run_program

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning:pulumi_aws")


def program(tmp_path: Path, name: str, source: str, **modules: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "__main__.py").write_text(textwrap.dedent(source))
    for module, text in modules.items():
        (directory / f"{module}.py").write_text(textwrap.dedent(text))
    return directory


KEY_AND_BUCKET = """
    import pulumi
    import pulumi_aws as aws

    region = pulumi.Config().require("region")
    provider = aws.Provider("p", region=region)
    opts = pulumi.ResourceOptions(provider=provider)
    key = aws.kms.Key("key", enable_key_rotation=True, opts=opts)
    bucket = aws.s3.Bucket("bucket", bucket="known-name", opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        "sse",
        bucket=bucket.bucket,
        rules=[{"apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms", "kms_master_key_id": key.arn,
        }}],
        opts=opts,
    )
"""


def test_unknowns_are_marked_and_known_values_kept(tmp_path: Path) -> None:
    plan = plan_strictly("dev", {"region": "eu-south-2"}, program(tmp_path, "p", KEY_AND_BUCKET))
    assert plan.project == "p" and plan.stack == "dev"
    sse = plan.of_type(token(aws.s3.BucketServerSideEncryptionConfiguration))[0]
    assert sse.inputs["bucket"] == "known-name"  # an output echoing a known input stays known
    assert sse.unknown_keys == {"rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"}
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == UNKNOWN
    assert sse.is_unknown("rules") and not sse.is_unknown("bucket")
    key = plan.of_type(token(aws.kms.Key))[0]
    assert key.inputs == {"enableKeyRotation": True} and key.unknown_keys == set()
    assert plan.region_of(key) == "eu-south-2"
    assert sse.property_dependencies["bucket"] == [plan.of_type(token(aws.s3.Bucket))[0].urn]
    assert all(r.parent_urn == "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev" for r in plan.resources)


def test_programs_are_isolated_from_each_other(tmp_path: Path) -> None:
    main = (
        "import pulumi\nimport helpers\n"
        "pulumi.CustomResource('test:index:Thing', helpers.NAME, {'v': helpers.NAME})\n"
    )
    first = program(tmp_path, "one", main, helpers="NAME = 'first'\n")
    second = program(tmp_path, "two", main, helpers="NAME = 'second'\n")
    a = run_program(first, "s1")
    b = run_program(second, "s2")
    again = run_program(first, "s1")
    assert [r.name for r in a.resources] == ["first"] and [r.name for r in b.resources] == ["second"]
    assert b.resources[0].urn == "urn:pulumi:s2::two::pulumi:pulumi:Stack$test:index:Thing::second"
    assert [r.urn for r in again.resources] == [r.urn for r in a.resources]


def test_bad_argument_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = program(tmp_path, "bad", "import pulumi_aws as aws\n\naws.s3.Bucket('b', bucket_name='x')\n")
    with pytest.raises(PlanError) as caught:
        run_program(bad, "dev")
    message = str(caught.value)
    assert message.startswith("plan dev: __main__.py:3: TypeError: ")
    assert "bucket_name" in message and "\n" not in message
    assert caught.value.exit_code == 2


def test_missing_config_and_exceptions(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"Missing required configuration variable 'p:region'$"):
        run_program(program(tmp_path, "p", KEY_AND_BUCKET), "dev")
    failing = program(
        tmp_path, "f", "import helper\n", helper="def go():\n    raise ValueError('no region MA-13')\ngo()\n"
    )
    with pytest.raises(PlanError, match=r"^plan dev: helper.py:2: ValueError: no region MA-13$"):
        run_program(failing, "dev")
    with pytest.raises(PlanError, match="not a Pulumi Python program"):
        run_program(tmp_path, "dev")


def test_deprecations_fail_the_strict_plan(tmp_path: Path) -> None:
    old_resource = program(
        tmp_path,
        "old",
        "import pulumi_aws as aws\n"
        "aws.s3.BucketVersioningV2('v', bucket='b', versioning_configuration={'status': 'Enabled'})\n",
    )
    assert any("BucketVersioningV2 is deprecated" in w for w in run_program(old_resource, "dev").warnings)
    with pytest.raises(PlanError, match=r"BucketVersioningV2 is deprecated"):
        plan_strictly("dev", None, old_resource)
    old_argument = program(
        tmp_path, "arg", "import pulumi_aws as aws\naws.s3.Bucket('b', aws.s3.BucketArgs(acl='private'))\n"
    )
    with pytest.raises(PlanError, match=r"__main__.py:2: DeprecationWarning: acl is deprecated"):
        plan_strictly("dev", None, old_argument)


def test_stack_errors(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"ValueError: jamaa:region: unknown region 'MA-13'"):
        run_program(ROOT, "scratch", {"jamaa:region": "MA-13", "jamaa:environment": "prod"})
    with pytest.raises(PlanError, match=r"Missing required configuration variable 'jamaa:environment'"):
        run_program(ROOT, "scratch", {"jamaa:region": "MA-07"})
    # A broken environments/ stops the program with the model's own `FILE: FIELD: reason` lines.
    envs = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", envs)
    national = yaml.safe_load((envs / "national.yaml").read_text())
    national["hosting"]["primary_region"] = "us-east-1"
    (envs / "national.yaml").write_text(yaml.safe_dump(national))
    with pytest.raises(ConfigError) as caught:
        run_program(ROOT, "ma-07-prod", {"jamaa:environments": str(envs)})
    assert (
        f"{envs / 'national.yaml'}: hosting.primary_region: us-east-1 is outside the allowed regions"
        in str(caught.value)
    )


def test_sovereign_only_classes_never_reach_aws(tmp_path: Path) -> None:
    envs = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", envs)
    national = yaml.safe_load((envs / "national.yaml").read_text())
    national["data_classes"]["internal"]["sovereign_only"] = True
    (envs / "national.yaml").write_text(yaml.safe_dump(national))
    with pytest.raises(
        JamaaError, match=r"data class 'internal' is sovereign-only .* cannot be placed in AWS"
    ):
        run_program(ROOT, "ma-07-prod", {"jamaa:environments": str(envs)})


runner = CliRunner()


def test_cli_plan_stack_with_json(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "lab", "--project", str(ROOT), "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "resources planned for lab" in result.output
    data = json.loads(out.read_text())
    assert data["stack"] == "lab" and data["resource_count"] == len(data["resources"]) > 100
    vpc = next(r for r in data["resources"] if r["type"] == token(aws.ec2.Vpc))
    assert vpc["inputs"]["cidrBlock"] == "10.71.0.0/16" and vpc["parent"].endswith(
        "TenancyNetwork::ma-07-lab-network"
    )


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "ma-13-prod", "--project", str(ROOT)])
    assert result.exit_code == 2
    assert "no such stack 'ma-13-prod' (known: lab, log-archive, ma-01-prod," in result.output
    bad = program(tmp_path, "bad", "raise RuntimeError('boom')\n")
    result = runner.invoke(app, ["plan", "--program", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == "plan dev: __main__.py:1: RuntimeError: boom"
    result = runner.invoke(app, ["plan", "--project", str(ROOT)])
    assert result.exit_code == 2 and "name a stack" in result.output


def test_cli_plans_any_program(tmp_path: Path) -> None:
    other = program(tmp_path, "other", KEY_AND_BUCKET)
    (other / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    (other / "Pulumi.test.yaml").write_text("config:\n  other:region: eu-west-3\n")
    result = runner.invoke(app, ["plan", "test", "--program", str(other)])
    assert result.exit_code == 0, result.output
    assert token(aws.kms.Key) in result.output and "4 resources planned for test" in result.output


def test_adding_a_dedicated_commune_moves_no_existing_resource(tmp_path: Path) -> None:
    """Names come from config (region code, commune id), never from positions: a new dedicated
    commune, sorting before the existing ones, adds resources and renames none."""
    from jamaa.config import load_environments, render_ipam, sync_ipam

    envs = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", envs)
    region_file = envs / "regions" / "ma-07.yaml"
    region = yaml.safe_load(region_file.read_text())
    region["dedicated_communes"].insert(0, {"commune": "c3510101", "data_class": "personal"})
    region_file.write_text(yaml.safe_dump(region, allow_unicode=True))
    (envs / "ipam.yaml").write_text(render_ipam(sync_ipam(load_environments(envs, check_ledger=False))))

    before = plan_strictly("ma-07-prod")
    after = plan_strictly("ma-07-prod", {"jamaa:environments": str(envs)})
    old, new = {r.urn for r in before.resources}, {r.urn for r in after.resources}
    assert old < new
    added = sorted(r.name for r in after.resources if r.urn not in old)
    assert added and all("c3510101" in name for name in added), added
    unchanged = {r.urn: r.inputs for r in before.resources if "c3510101" not in r.name}
    changed = sorted(r.name for r in after.resources if r.urn in unchanged and r.inputs != unchanged[r.urn])
    # Only what lists the dedicated communes changes in place: the shared pool's archive policy
    # (one more prefix denied), the app tier's NACL (one more subnet), budget shares.
    assert all(("archive-access-shared" in n) or ("nacl-app" in n) or ("budget" in n) for n in changed), (
        changed
    )


def test_cli_plans_every_stack_in_one_worker(tmp_path: Path) -> None:
    other = program(tmp_path, "other", KEY_AND_BUCKET)
    (other / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    for stack, region in (("a", "eu-west-3"), ("b", "eu-south-2")):
        (other / f"Pulumi.{stack}.yaml").write_text(f"config:\n  other:region: {region}\n")
    (other / "Pulumi.broken.yaml").write_text("config: {}\n")
    out = tmp_path / "all.json"
    result = runner.invoke(app, ["plan", "--all", "--program", str(other), "--json", str(out)])
    assert result.exit_code == 2, result.output
    assert "a: 4 resources" in result.output and "b: 4 resources" in result.output
    assert "plan broken: __main__.py:5: ConfigMissingError" in result.output
    assert "plan --all: 1 stack(s) could not be planned" in result.output
    data = json.loads(out.read_text())
    assert [s["stack"] for s in data["stacks"]] == ["a", "b"] and len(data["errors"]) == 1
    regions = {
        s["stack"]: next(r for r in s["resources"] if r["type"] == "pulumi:providers:aws")
        for s in data["stacks"]
    }
    assert (
        regions["a"]["inputs"]["region"] == "eu-west-3" and regions["b"]["inputs"]["region"] == "eu-south-2"
    )


def test_the_default_provider_takes_the_stack_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No explicit provider: resources get the default one, configured as the CLI configures it
    (Pulumi.yaml, then Pulumi.<stack>.yaml; the region from AWS_REGION when neither sets it)."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    implicit = program(
        tmp_path, "implicit", "import pulumi_aws as aws\naws.kms.Key('key', enable_key_rotation=True)\n"
    )
    (implicit / "Pulumi.yaml").write_text(
        "name: implicit\nruntime: python\nconfig:\n  aws:region: us-east-1\n"
        "  aws:defaultTags:\n    value:\n      tags: {jamaa:environment: prod}\n"
    )
    (implicit / "Pulumi.dr.yaml").write_text("config:\n  aws:region: eu-west-3\n")
    plan = run_program(implicit, "dev")
    key = plan.of_type(token(aws.kms.Key))[0]
    provider = plan.provider_of(key)
    assert provider is not None and provider.urn.startswith(
        "urn:pulumi:dev::implicit::pulumi:providers:aws::default_7_"
    )
    assert plan.region_of(key) == "us-east-1"
    assert plan.effective_tags(key) == {"jamaa:environment": "prod"}
    dr = run_program(implicit, "dr")
    assert dr.region_of(dr.of_type(token(aws.kms.Key))[0]) == "eu-west-3"
    (implicit / "Pulumi.yaml").write_text("name: implicit\nruntime: python\n")
    monkeypatch.setenv("AWS_REGION", "eu-south-2")
    again = run_program(implicit, "dev")
    assert again.region_of(again.of_type(token(aws.kms.Key))[0]) == "eu-south-2"


REAL_PROGRAM = """
    import json
    import pulumi
    import pulumi_aws as aws

    settings = json.load(open("settings.json"))  # relative to the program's directory, as under the CLI
    ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"],
                          filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}])
    zones = aws.get_availability_zones()
    region = aws.get_region()
    partition = aws.get_partition()
    vpc = aws.ec2.get_vpc(default=True)
    admin = aws.iam.get_policy_document(statements=[
        {"effect": "Allow", "not_actions": ["iam:DeleteAccountPasswordPolicy"], "resources": ["*"]},
        {"principals": [{"type": "AWS", "identifiers": ["*"]}], "actions": ["s3:GetObject"],
         "resources": [f"arn:{partition.partition}:s3:::b/*"]},
    ])
    aws.iam.Policy("admin", policy=admin.json)
    aws.ec2.Instance(
        settings["name"],
        ami=ami.id,
        instance_type="t3.micro",
        availability_zone=zones.names[0],
        tags={"region": region.region, "vpc": vpc.id},
    )
"""


def test_a_real_program_runs_as_under_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its own directory as working directory, and the invokes real programs use answered."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    real = program(tmp_path, "real", REAL_PROGRAM)
    (real / "settings.json").write_text('{"name": "web"}')
    (real / "Pulumi.yaml").write_text("name: real\nruntime: python\nconfig:\n  aws:region: eu-south-2\n")
    (real / "requirements.txt").write_text(
        "# as pulumi new writes it\npulumi>=3.0.0,<4.0.0\npulumi-aws>=7.0.0,<8.0.0\n"
    )
    plan = run_program(real, "dev")
    assert not [w for w in plan.warnings if "no offline answer" in w], plan.warnings
    instance = plan.of_type(token(aws.ec2.Instance))[0]
    assert instance.name == "web" and instance.inputs["ami"].startswith("ami-0")
    assert instance.inputs["availabilityZone"] == "eu-south-2a"
    assert instance.inputs["tags"]["region"] == "eu-south-2" and instance.inputs["tags"]["vpc"].startswith(
        "vpc-0"
    )
    document = json.loads(plan.of_type(token(aws.iam.Policy))[0].inputs["policy"])
    assert document["Statement"][0] == {
        "Effect": "Allow",
        "NotAction": "iam:DeleteAccountPasswordPolicy",
        "Resource": "*",
    }
    assert document["Statement"][1]["Principal"] == {"AWS": "*"}


def test_requirements_are_honoured(tmp_path: Path) -> None:
    real = program(tmp_path, "needs", "import pulumi\n")
    (real / "Pulumi.yaml").write_text("name: needs\nruntime: python\n")
    (real / "requirements.txt").write_text("pulumi>=3.0.0\npulumi-command>=1.0.0,<2.0.0\n")
    with pytest.raises(PlanError) as caught:
        run_program(real, "dev")
    assert str(caught.value) == (
        f"{real / 'requirements.txt'}:2: pulumi-command is not installed here; the offline plan runs the "
        "program with this environment's packages (install 'pulumi-command<2.0.0,>=1.0.0', or use Pulumi)"
    )
    (real / "requirements.txt").write_text("pulumi-aws>=6.0.0,<7.0.0\n")
    with pytest.raises(
        PlanError,
        match=r"txt:1: pulumi-aws 7\.\d+\.\d+ is installed, the program requires <7.0.0,>=6.0.0$",
    ):
        run_program(real, "dev")
