"""A self-managed Pulumi state backend, bootstrapped with boto3: an S3 bucket for the state
(versioned, SSE-KMS, public access blocked, ACLs disabled, TLS-only) and a KMS key for Pulumi's
secrets provider. Idempotent: re-running checks and re-applies every setting, creates nothing twice.

The region must be one of national.yaml's allowed regions (the checkout's environments/ by default,
wherever the command runs), and every call on the bucket names the expected owner account: a bucket of
another account is refused in one line, never adopted.

`jamaa state bootstrap --region R --name N [--account ID] [--endpoint-url URL]` prints the `pulumi login` and
`--secrets-provider` lines to use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import boto3
import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from jamaa.clikit import fails_cleanly
from jamaa.config import load_environments
from jamaa.errors import JamaaError

BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
MANAGED_BY = {"jamaa:managed-by": "jamaa-state-bootstrap", "jamaa:data-class": "internal"}


class StateError(JamaaError):
    """The backend could not be bootstrapped (bad input, or AWS refused)."""


@dataclass
class Bootstrap:
    bucket: str
    region: str
    key_arn: str
    key_alias: str
    endpoint_url: str | None
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def login_url(self) -> str:
        params = {"region": self.region, "awssdk": "v2"}
        if self.endpoint_url:
            params |= {"endpoint": self.endpoint_url, "use_path_style": "true"}
        return f"s3://{self.bucket}?{urlencode(params)}"

    @property
    def secrets_provider(self) -> str:
        params = {"region": self.region}
        if self.endpoint_url:
            params["endpoint"] = self.endpoint_url
        return f"awskms://{self.key_alias}?{urlencode(params)}"


def default_environments() -> Path:
    """The checkout's environments/ (beside this package): found the same wherever the command runs."""
    from jamaa.paths import ENVIRONMENTS

    return ENVIRONMENTS


def check_inputs(region: str, name: str, environments: Path | None) -> None:
    """Region and name; the region must be one of national.yaml's allowed regions, always."""
    if not AWS_REGION.match(region):
        raise StateError(f"--region: {region!r} is not an AWS region name (e.g. eu-south-2)")
    if not BUCKET_NAME.match(name) or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise StateError(
            f"--name: {name!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"
        )
    environments = environments or default_environments()
    if not environments.is_dir():
        raise StateError(
            f"--environments: {environments} is not a directory of environments; the allowed regions "
            "come from its national.yaml"
        )
    allowed = load_environments(environments, check_ledger=False).national.hosting.allowed_regions
    if region not in allowed:
        raise StateError(
            f"--region: {region} is outside national.yaml's allowed regions ({', '.join(allowed)}); "
            "the state holds the tenancy's secrets and stays where the data may live"
        )


def _aws(error: ClientError | BotoCoreError, doing: str) -> StateError:
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return StateError(f"{doing}: {detail.get('Code', 'error')}: {detail.get('Message', str(error))}")
    return StateError(f"{doing}: {str(error).splitlines()[0]}")


def _tls_only_policy(bucket: str) -> str:
    arn = f"arn:aws:s3:::{bucket}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


def _ensure_key(kms: Any, alias: str, bucket: str, result: Bootstrap) -> str:
    aliases = [a for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]]
    found = next((a for a in aliases if a["AliasName"] == alias and a.get("TargetKeyId")), None)
    if found is not None:
        key_id = found["TargetKeyId"]
        result.kept.append(f"KMS key {alias}")
    else:
        key = kms.create_key(
            Description=f"Pulumi secrets for the state in s3://{bucket} (Jamaa)",
            KeyUsage="ENCRYPT_DECRYPT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in MANAGED_BY.items()],
        )
        key_id = key["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        result.created.append(f"KMS key {alias}")
    kms.enable_key_rotation(KeyId=key_id)
    arn: str = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return arn


def _elsewhere(bucket: str) -> StateError:
    return StateError(
        f"--name: bucket {bucket} already exists in another AWS account (bucket names are global); "
        "choose another name"
    )


def _ensure_bucket(s3: Any, bucket: str, region: str, account: str, result: Bootstrap) -> None:
    """Ours (kept), absent (created), or another account's: refused, never adopted."""
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
        exists = True
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in ("403", "AccessDenied", "Forbidden"):
            raise _elsewhere(bucket) from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise _aws(error, f"checking bucket {bucket}") from None
        exists = False
    if exists:
        # ExpectedBucketOwner already makes S3 refuse another account's bucket; the account's own
        # bucket list confirms it wherever that header is not enforced (S3-compatible stores).
        owned = {b["Name"] for page in s3.get_paginator("list_buckets").paginate() for b in page["Buckets"]}
        if bucket not in owned:
            raise _elsewhere(bucket)
        result.kept.append(f"bucket {bucket}")
        return
    arguments: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**arguments)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code == "BucketAlreadyExists":
            raise _elsewhere(bucket) from None
        if code != "BucketAlreadyOwnedByYou":
            raise
        result.kept.append(f"bucket {bucket}")
        return
    result.created.append(f"bucket {bucket}")


def bootstrap(
    region: str,
    name: str,
    endpoint_url: str | None = None,
    environments: Path | None = None,
    session: boto3.session.Session | None = None,
    account: str | None = None,
) -> Bootstrap:
    """Create (or re-check) the state bucket and the secrets key; return what to log in with.

    Every S3 call on the bucket carries ExpectedBucketOwner (the caller's account, which must equal
    `account` when given), so a bucket of another account is never written to.
    """
    check_inputs(region, name, environments)
    session = session or boto3.session.Session()
    alias = f"alias/jamaa/state/{name}"
    try:
        caller = session.client("sts", region_name=region, endpoint_url=endpoint_url).get_caller_identity()
        owner = str(caller["Account"])
        if account is not None and account != owner:
            raise StateError(
                f"--account: the credentials belong to account {owner}, not {account}; nothing was created"
            )
        s3 = session.client("s3", region_name=region, endpoint_url=endpoint_url)
        kms = session.client("kms", region_name=region, endpoint_url=endpoint_url)
        result = Bootstrap(bucket=name, region=region, key_arn="", key_alias=alias, endpoint_url=endpoint_url)
        _ensure_bucket(s3, name, region, owner, result)
        result.key_arn = _ensure_key(kms, alias, name, result)
        mine = {"Bucket": name, "ExpectedBucketOwner": owner}
        s3.put_bucket_ownership_controls(
            **mine, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
        s3.put_public_access_block(
            **mine,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_versioning(**mine, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            **mine,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": result.key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        s3.put_bucket_policy(**mine, Policy=_tls_only_policy(name))
        s3.put_bucket_tagging(
            **mine, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in MANAGED_BY.items()]}
        )
    except (ClientError, BotoCoreError) as error:
        raise _aws(error, f"bootstrapping s3://{name} in {region}") from None
    return result


state_app = typer.Typer(
    name="state", help="The self-managed Pulumi state backend (S3 + KMS).", no_args_is_help=True
)
console = Console()


@state_app.command("bootstrap")
@fails_cleanly
def bootstrap_command(
    region: Annotated[str, typer.Option("--region", help="AWS region of the state (one of national.yaml's)")],
    name: Annotated[str, typer.Option("--name", help="the state bucket's name")],
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="an S3/KMS-compatible endpoint (tests, the lab)")
    ] = None,
    environments: Annotated[
        Path | None,
        typer.Option(
            "--environments",
            help="where national.yaml's allowed regions come from (default: the checkout's environments/)",
        ),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="the AWS account the state must live in (checked)")
    ] = None,
) -> None:
    """Create the state bucket and the secrets key (idempotent); print how to log in."""
    result = bootstrap(region, name, endpoint_url, environments, account=account)
    for item in result.created:
        console.print(f"created  {item}", highlight=False)
    for item in result.kept:
        console.print(f"present  {item} (settings re-applied)", highlight=False)
    console.print(f"pulumi login '{result.login_url}'", highlight=False, soft_wrap=True)
    console.print(
        f"pulumi stack init <stack> --secrets-provider '{result.secrets_provider}'",
        highlight=False,
        soft_wrap=True,
    )
