"""The tenancy invariants a deployed region must keep, read from the live account with boto3.

Each check yields findings (jamaa.results' vocabulary): `pass`, `fail`, or `cannot-evaluate` (the API is
not implemented by the endpoint, or the caller may not read it). A check never pretends: an API that does
not answer is reported as cannot-evaluate with the reason, never as passed.

    audit = Auditor(session, expectations, endpoint_url=None)
    findings = audit.run()

Against moto 5.2.5's server (the tests' stand-in account), every call here is implemented except AWS Backup's
ListProtectedResources / ListRecoveryPointsByResource (HTTP 404): recovery point freshness is then reported
as cannot-evaluate. S3 Control prefixes the host with the account id; `endpoint_client` undoes that for a
local endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, ValidationError

from jamaa.errors import ConfigError, JamaaError
from jamaa.results import Result, Status

AUDIT_STATUSES: tuple[Status, ...] = (Status.PASS, Status.FAIL, Status.CANNOT_EVALUATE)
"""What an audit check can say (jamaa.results has the vocabulary)."""

# Control ids of the catalogue (policies/controls/) each invariant verifies.
CONTROLS: dict[str, str] = {
    "backup-vault-locked": "CLD-BKP-001",
    "backup-plan-retention": "CLD-BKP-003",
    "backup-recovery-points": "CLD-BKP-005",
    "s3-account-public-access-block": "CLD-S3-001",
    "s3-bucket-public-access-block": "CLD-S3-001",
    "cloudtrail-logging": "CLD-LOG-001",
    "cloudtrail-log-validation": "CLD-LOG-002",
    "vpc-flow-logs": "CLD-NET-004",
    "guardduty-enabled": "CLD-DET-001",
    "ebs-default-encryption": "CLD-EC2-003",
}

# Error codes meaning "this endpoint cannot answer that question" rather than "the answer is no".
# moto's server answers an operation it does not implement with a bare HTTP 404 (code "404").
_CANNOT_ANSWER = {
    "404",
    "501",
    "NotImplemented",
    "NotImplementedError",
    "UnknownOperationException",
    "InvalidAction",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
}
_PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check: str
    control: str
    status: Status
    resource: str
    detail: str

    def result(self, region: str) -> Result:
        return Result(
            source="audit",
            control=self.control,
            target=f"{region}: {self.resource}",
            check=self.check,
            status=self.status,
            message=self.detail,
        )


def audit_results_dir(repo: Path, environment: str) -> Path:
    """Where `jamaa audit` writes an environment's results by default (one `REGION.json` per region),
    and where the evidence report reads them."""
    return repo / "out" / "audit" / environment


class AuditDocument(BaseModel):
    """The JSON `jamaa audit` writes: one account's (or the organization's) findings in one region."""

    model_config = ConfigDict(extra="forbid")
    region: str
    environment: str
    endpoint_url: str | None = None
    summary: dict[str, int]
    findings: list[Finding]

    @classmethod
    def of(
        cls, region: str, environment: str, endpoint: str | None, findings: list[Finding]
    ) -> AuditDocument:
        counts = {status.value: sum(f.status is status for f in findings) for status in AUDIT_STATUSES}
        return cls(
            region=region, environment=environment, endpoint_url=endpoint, summary=counts, findings=findings
        )

    @classmethod
    def read(cls, path: Path) -> AuditDocument:
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([f"{path}: audit results: unreadable ({error.strerror})"]) from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "<root>"
            raise ConfigError([f"{path}: {where}: {first['msg']}"]) from None


class AuditError(JamaaError):
    """The account cannot be read at all (endpoint unreachable, no credentials)."""


class CannotCheck(Exception):
    """The endpoint cannot answer (not implemented, or access denied)."""


def _unprefix_account(request: Any, **_: Any) -> None:
    """S3 Control puts the account id in front of the endpoint's host (`ACCOUNT.HOST`); a local endpoint
    (moto's server on loopback) has no such names, so the request goes to the endpoint itself."""
    account = request.headers.get("x-amz-account-id")
    if isinstance(account, bytes):
        account = account.decode()
    parts = urlsplit(request.url)
    if account and parts.netloc.startswith(f"{account}."):
        request.url = urlunsplit(parts._replace(netloc=parts.netloc[len(account) + 1 :]))


def endpoint_client(
    session: Any,
    service: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    credentials: dict[str, str] | None = None,
) -> Any:
    """A boto3 client of `session`, aimed at `endpoint_url` when given (path-style S3, no host prefixes)."""
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        inject_host_prefix=endpoint_url is None,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    # Other credentials (an assumed role's) go to the client, not to a new session: the session's
    # loaded service models are reused, which makes a client per account and region cheap.
    client = session.client(
        service, endpoint_url=endpoint_url, config=config, region_name=region, **(credentials or {})
    )
    if endpoint_url is not None and service == "s3control":
        client.meta.events.register_first("before-send.s3-control", _unprefix_account)
    return client


@dataclass(frozen=True)
class Expectations:
    """What the environment requires: retention per cloud data class, recovery point freshness."""

    retention_days: dict[str, int]  # data class → minimum days a backup plan keeps recovery points
    max_recovery_point_age: timedelta = timedelta(hours=26)


@dataclass
class Auditor:
    session: Any  # boto3.Session
    expectations: Expectations
    endpoint_url: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _account: str | None = None

    # --- plumbing ------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return endpoint_client(self.session, service, self.endpoint_url)

    @staticmethod
    def call(func: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return func(**kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _CANNOT_ANSWER or (status in {"404", "501"} and code in {"", status}):
                op = getattr(error, "operation_name", func.__name__)
                raise CannotCheck(f"{op}: the endpoint cannot answer ({code or status})") from None
            raise

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def _finding(self, check: str, status: Status, resource: str, detail: str) -> Finding:
        return Finding(check=check, control=CONTROLS[check], status=status, resource=resource, detail=detail)

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        for check, method in (
            ("backup-vault-locked", self.backup_vaults),
            ("backup-plan-retention", self.backup_plans),
            ("backup-recovery-points", self.recovery_points),
            ("s3-account-public-access-block", self.s3_account),
            ("s3-bucket-public-access-block", self.s3_buckets),
            ("cloudtrail-logging", self.cloudtrail),
            ("vpc-flow-logs", self.flow_logs),
            ("guardduty-enabled", self.guardduty),
            ("ebs-default-encryption", self.ebs_encryption),
        ):
            try:
                findings.extend(method())
            except CannotCheck as reason:
                findings.append(self._finding(check, Status.CANNOT_EVALUATE, "*", str(reason)))
            except ClientError as error:
                findings.append(self._finding(check, Status.CANNOT_EVALUATE, "*", f"API error: {error}"))
            except BotoCoreError as error:  # no endpoint, no credentials: nothing can be read at all
                raise AuditError(f"{check}: {error}") from None
        return findings

    # --- AWS Backup ----------------------------------------------------------------------------
    def _vaults(self) -> list[dict[str, Any]]:
        backup = self.client("backup")
        vaults: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.call(backup.list_backup_vaults, **({"NextToken": token} if token else {}))
            vaults.extend(page.get("BackupVaultList", []))
            token = page.get("NextToken")
            if not token:
                return vaults

    def backup_vaults(self) -> Iterator[Finding]:
        check = "backup-vault-locked"
        vaults = self._vaults()
        if not vaults:
            yield self._finding(check, Status.FAIL, "*", "no backup vault in this region")
        for vault in vaults:
            name = str(vault["BackupVaultName"])
            if not vault.get("Locked"):
                yield self._finding(check, Status.FAIL, name, "Vault Lock is not configured")
                continue
            minimum = vault.get("MinRetentionDays")
            detail = f"locked (MinRetentionDays={minimum}, MaxRetentionDays={vault.get('MaxRetentionDays')})"
            yield self._finding(check, Status.PASS, name, detail)

    def _plan_class(self, backup: Any, plan: dict[str, Any]) -> str | None:
        try:
            tags = self.call(backup.list_tags, ResourceArn=plan["BackupPlanArn"]).get("Tags", {})
        except CannotCheck:
            tags = {}
        value = tags.get("jamaa:data-class")
        if value:
            return str(value)
        name = str(plan.get("BackupPlanName", "")).lower()
        for data_class in self.expectations.retention_days:
            if data_class in name.replace("_", "-").split("-"):
                return data_class
        return None

    def backup_plans(self) -> Iterator[Finding]:
        check = "backup-plan-retention"
        backup = self.client("backup")
        plans = self.call(backup.list_backup_plans).get("BackupPlansList", [])
        kept: dict[str, list[tuple[str, int | None]]] = {}
        for plan in plans:
            data_class = self._plan_class(backup, plan)
            if data_class is None:
                continue
            body = self.call(backup.get_backup_plan, BackupPlanId=plan["BackupPlanId"])["BackupPlan"]
            for rule in body.get("Rules", []):
                days = (rule.get("Lifecycle") or {}).get("DeleteAfterDays")
                kept.setdefault(data_class, []).append((f"{plan['BackupPlanName']}/{rule['RuleName']}", days))
        for data_class, minimum in sorted(self.expectations.retention_days.items()):
            rules = kept.get(data_class, [])
            if not rules:
                yield self._finding(
                    check, Status.FAIL, data_class, f"no backup plan for data class {data_class}"
                )
                continue
            for resource, days in rules:
                if days is not None and days < minimum:
                    detail = f"keeps recovery points {days} days; {data_class} requires at least {minimum}"
                    yield self._finding(check, Status.FAIL, resource, detail)
                else:
                    shown = "never deleted" if days is None else f"{days} days"
                    yield self._finding(
                        check, Status.PASS, resource, f"{shown} (≥ {minimum} for {data_class})"
                    )

    def recovery_points(self) -> Iterator[Finding]:
        check = "backup-recovery-points"
        backup = self.client("backup")
        resources = self.call(backup.list_protected_resources).get("Results", [])
        if not resources:
            yield self._finding(check, Status.FAIL, "*", "no protected resource in this region")
        limit = self.now - self.expectations.max_recovery_point_age
        for resource in resources:
            arn = str(resource["ResourceArn"])
            points = self.call(backup.list_recovery_points_by_resource, ResourceArn=arn).get(
                "RecoveryPoints", []
            )
            done = [p["CreationDate"] for p in points if p.get("Status", "COMPLETED") == "COMPLETED"]
            if not done:
                yield self._finding(check, Status.FAIL, arn, "no completed recovery point")
                continue
            newest = max(done)
            age_h = (self.now - newest).total_seconds() / 3600
            status: Status = Status.PASS if newest >= limit else Status.FAIL
            yield self._finding(check, status, arn, f"newest recovery point {age_h:.1f} h old")

    # --- S3 ------------------------------------------------------------------------------------
    def s3_account(self) -> Iterator[Finding]:
        check = "s3-account-public-access-block"
        s3control = self.client("s3control")
        try:
            config = self.call(s3control.get_public_access_block, AccountId=self.account)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchPublicAccessBlockConfiguration":
                yield self._finding(check, Status.FAIL, self.account, "no account-wide public access block")
                return
            raise
        flags = config.get("PublicAccessBlockConfiguration", {})
        off = [flag for flag in _PAB_FLAGS if not flags.get(flag)]
        status: Status = Status.FAIL if off else Status.PASS
        detail = f"off: {', '.join(off)}" if off else "all four protections on"
        yield self._finding(check, status, self.account, detail)

    def s3_buckets(self) -> Iterator[Finding]:
        check = "s3-bucket-public-access-block"
        s3 = self.client("s3")
        for bucket in self.call(s3.list_buckets).get("Buckets", []):
            name = str(bucket["Name"])
            try:
                flags = self.call(s3.get_public_access_block, Bucket=name)["PublicAccessBlockConfiguration"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "NoSuchPublicAccessBlockConfiguration":
                    yield self._finding(check, Status.FAIL, name, "no public access block")
                    continue
                raise
            off = [flag for flag in _PAB_FLAGS if not flags.get(flag)]
            status: Status = Status.FAIL if off else Status.PASS
            yield self._finding(check, status, name, f"off: {', '.join(off)}" if off else "all four on")

    # --- CloudTrail, flow logs, GuardDuty, EBS ---------------------------------------------------
    def cloudtrail(self) -> Iterator[Finding]:
        trail_api = self.client("cloudtrail")
        trails = self.call(trail_api.describe_trails).get("trailList", [])
        if not trails:
            yield self._finding("cloudtrail-logging", Status.FAIL, "*", "no CloudTrail trail")
            yield self._finding("cloudtrail-log-validation", Status.FAIL, "*", "no CloudTrail trail")
            return
        for trail in trails:
            name = str(trail.get("TrailARN") or trail["Name"])
            status = self.call(trail_api.get_trail_status, Name=name)
            logging_on = bool(status.get("IsLogging"))
            multi = bool(trail.get("IsMultiRegionTrail"))
            ok: Status = Status.PASS if logging_on and multi else Status.FAIL
            yield self._finding(
                "cloudtrail-logging",
                ok,
                name,
                f"logging={'on' if logging_on else 'off'}, multi-region={multi}",
            )
            valid = bool(trail.get("LogFileValidationEnabled"))
            yield self._finding(
                "cloudtrail-log-validation",
                Status.PASS if valid else Status.FAIL,
                name,
                "log file validation on" if valid else "log file validation off",
            )

    def flow_logs(self) -> Iterator[Finding]:
        check = "vpc-flow-logs"
        ec2 = self.client("ec2")
        vpcs = self.call(ec2.describe_vpcs).get("Vpcs", [])
        logs = self.call(ec2.describe_flow_logs).get("FlowLogs", [])
        covered: dict[str, list[str]] = {}
        for log in logs:
            if log.get("FlowLogStatus", "ACTIVE") == "ACTIVE":
                covered.setdefault(str(log.get("ResourceId")), []).append(str(log.get("TrafficType")))
        if not vpcs:
            yield self._finding(check, Status.PASS, "*", "no VPC in this region")
        for vpc in vpcs:
            vpc_id = str(vpc["VpcId"])
            kinds = covered.get(vpc_id, [])
            default = " (default VPC)" if vpc.get("IsDefault") else ""
            if "ALL" in kinds:
                yield self._finding(check, Status.PASS, vpc_id, f"flow log capturing ALL traffic{default}")
            elif kinds:
                yield self._finding(
                    check, Status.FAIL, vpc_id, f"flow log captures only {'/'.join(kinds)}{default}"
                )
            else:
                yield self._finding(check, Status.FAIL, vpc_id, f"no active flow log{default}")

    def guardduty(self) -> Iterator[Finding]:
        check = "guardduty-enabled"
        guardduty = self.client("guardduty")
        detectors = self.call(guardduty.list_detectors).get("DetectorIds", [])
        if not detectors:
            yield self._finding(check, Status.FAIL, "*", "no GuardDuty detector")
        for detector in detectors:
            status = str(self.call(guardduty.get_detector, DetectorId=detector).get("Status", ""))
            yield self._finding(
                check, Status.PASS if status == "ENABLED" else Status.FAIL, detector, f"status {status}"
            )

    def ebs_encryption(self) -> Iterator[Finding]:
        check = "ebs-default-encryption"
        enabled = bool(
            self.call(self.client("ec2").get_ebs_encryption_by_default).get("EbsEncryptionByDefault")
        )
        yield self._finding(
            check,
            Status.PASS if enabled else Status.FAIL,
            self.account,
            "EBS encryption by default on" if enabled else "EBS encryption by default off",
        )
