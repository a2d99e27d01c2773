"""`jamaa state bootstrap` against moto's S3 + KMS server on loopback (a real HTTP endpoint)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.paths import REPO as ROOT
from jamaa.state import StateError, bootstrap

REGION = "eu-south-2"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "offline")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def test_bootstrap_creates_a_hardened_backend_and_is_idempotent(endpoint: str) -> None:
    first = bootstrap(REGION, "jamaa-state-ma07", endpoint, ROOT / "environments")
    assert first.created == ["bucket jamaa-state-ma07", "KMS key alias/jamaa/state/jamaa-state-ma07"]
    s3, kms = client("s3", endpoint), client("kms", endpoint)
    assert s3.get_bucket_versioning(Bucket="jamaa-state-ma07")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="jamaa-state-ma07")["ServerSideEncryptionConfiguration"]["Rules"][
        0
    ]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": first.key_arn,
    }
    block = s3.get_public_access_block(Bucket="jamaa-state-ma07")["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket="jamaa-state-ma07")["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert kms.get_key_rotation_status(KeyId=first.key_arn)["KeyRotationEnabled"] is True
    location = s3.get_bucket_location(Bucket="jamaa-state-ma07")["LocationConstraint"]
    assert location == REGION

    again = bootstrap(REGION, "jamaa-state-ma07", endpoint, ROOT / "environments")
    assert again.created == [] and again.key_arn == first.key_arn
    ours = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/jamaa/state/")]
    assert [a["AliasName"] for a in ours] == ["alias/jamaa/state/jamaa-state-ma07"]
    assert len(kms.list_keys()["Keys"]) == 1
    quoted = endpoint.replace(":", "%3A").replace("/", "%2F")
    assert (
        first.login_url
        == f"s3://jamaa-state-ma07?region={REGION}&awssdk=v2&endpoint={quoted}&use_path_style=true"
    )
    assert first.secrets_provider.startswith(f"awskms://alias/jamaa/state/jamaa-state-ma07?region={REGION}")


def test_cli_prints_login_lines(endpoint: str) -> None:
    runner = CliRunner()
    args = ["state", "bootstrap", "--region", REGION, "--name", "jamaa-state-cli", "--endpoint-url", endpoint]
    args += ["--environments", str(ROOT / "environments")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "created  bucket jamaa-state-cli" in result.output
    assert "pulumi login 's3://jamaa-state-cli?region=eu-south-2&awssdk=v2" in result.output
    assert "--secrets-provider 'awskms://alias/jamaa/state/jamaa-state-cli?region=eu-south-2" in result.output
    rerun = runner.invoke(app, args)
    assert rerun.exit_code == 0 and "present  bucket jamaa-state-cli (settings re-applied)" in rerun.output


@pytest.mark.parametrize(
    ("region", "name", "message"),
    [
        ("eu-south-2", "Bad_Name", "--name: 'Bad_Name' is not a valid S3 bucket name"),
        ("spain", "jamaa-state", "--region: 'spain' is not an AWS region name"),
        ("us-east-1", "jamaa-state", "--region: us-east-1 is outside national.yaml's allowed regions"),
    ],
)
def test_bad_input_exits_2(endpoint: str, region: str, name: str, message: str) -> None:
    with pytest.raises(StateError, match=message.replace(".", r"\.").replace("(", r"\(")):
        bootstrap(region, name, endpoint, ROOT / "environments")
    result = CliRunner().invoke(
        app,
        [
            "state",
            "bootstrap",
            "--region",
            region,
            "--name",
            name,
            "--environments",
            str(ROOT / "environments"),
        ],
    )
    assert result.exit_code == 2 and message in result.output


def test_bad_region_refused_wherever_the_command_runs(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --environments and a working directory without one: the checkout's national.yaml still rules."""
    monkeypatch.chdir(tmp_path)
    args = [
        "state",
        "bootstrap",
        "--region",
        "us-east-1",
        "--name",
        "jamaa-state-x",
        "--endpoint-url",
        endpoint,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "--region: us-east-1 is outside national.yaml's allowed regions (eu-south-2, eu-west-3); "
        "the state holds the tenancy's secrets and stays where the data may live"
    ]
    assert "jamaa-state-x" not in [b["Name"] for b in client("s3", endpoint).list_buckets()["Buckets"]]


def test_a_missing_environments_directory_is_refused_not_skipped(endpoint: str, tmp_path: Path) -> None:
    with pytest.raises(StateError, match="is not a directory of environments"):
        bootstrap(REGION, "jamaa-state-y", endpoint, tmp_path / "nowhere")


def test_every_bucket_call_names_the_expected_owner(endpoint: str) -> None:
    session = boto3.session.Session()
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    session.events.register("provide-client-params.s3.*", record)
    bootstrap(REGION, "jamaa-state-owner", endpoint, ROOT / "environments", session=session)
    bootstrap(REGION, "jamaa-state-owner", endpoint, ROOT / "environments", session=session)
    on_bucket = [(name, params) for name, params in calls if "Bucket" in params]
    # CreateBucket has no owner parameter: S3 itself refuses a name another account holds
    checked = [(name, params) for name, params in on_bucket if name != "CreateBucket"]
    assert {name for name, _ in checked} >= {
        "HeadBucket",
        "PutBucketOwnershipControls",
        "PutPublicAccessBlock",
        "PutBucketVersioning",
        "PutBucketEncryption",
        "PutBucketPolicy",
        "PutBucketTagging",
    }
    assert all(params.get("ExpectedBucketOwner") == "123456789012" for _, params in checked), checked


def test_a_bucket_of_another_account_is_refused_in_one_line(endpoint: str) -> None:
    sts = client("sts", endpoint)
    other = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/other", RoleSessionName="other")
    credentials = other["Credentials"]
    theirs = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    theirs.create_bucket(Bucket="jamaa-state-taken", CreateBucketConfiguration={"LocationConstraint": REGION})
    keys_before = len(client("kms", endpoint).list_keys()["Keys"])
    args = [
        "state",
        "bootstrap",
        "--region",
        REGION,
        "--name",
        "jamaa-state-taken",
        "--endpoint-url",
        endpoint,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "--name: bucket jamaa-state-taken already exists in another AWS account (bucket names are global); "
        "choose another name"
    ]
    # nothing made, nothing changed on their bucket
    assert len(client("kms", endpoint).list_keys()["Keys"]) == keys_before
    assert "Status" not in theirs.get_bucket_versioning(Bucket="jamaa-state-taken")
    assert [b["Name"] for b in client("s3", endpoint).list_buckets()["Buckets"]].count(
        "jamaa-state-taken"
    ) == 0


def test_credentials_of_another_account_are_refused(endpoint: str) -> None:
    with pytest.raises(
        StateError, match=r"^--account: the credentials belong to account 123456789012, not 2"
    ):
        bootstrap(REGION, "jamaa-state-z", endpoint, ROOT / "environments", account="222222222222")
