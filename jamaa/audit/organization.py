"""The organization view of `jamaa audit`: the live AWS Organization against
environments/organization.yaml, read from the management account with boto3.

- every account of organization.yaml is in the organization, active, in its OU;
- every guardrail (jamaa.landingzone) exists as an SCP with the same document, attached where it
  belongs;
- the delegated administrators are registered (Organizations, GuardDuty and Security Hub);
- in the management account and every member account, in every allowed region, GuardDuty is on,
  Security Hub is on with the CIS AWS Foundations standard, and AWS Config records (a member account
  read through a role assumed in it).

Against moto 5.2.5's server (the tests' stand-in organization), every call is implemented except
Security Hub's ListOrganizationAdminAccounts and GetEnabledStandards, and there is no IAM Access
Analyzer at all: those are reported as cannot-evaluate (never as passed), and the Access Analyzer
organization analyzer is left to the policy pack (the `security` stack's plan).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jamaa.audit.checks import AuditError, Auditor, CannotCheck, Finding, endpoint_client
from jamaa.config import Environments, Organization
from jamaa.errors import ConfigError
from jamaa.landingzone import DELEGATED, guardrails
from jamaa.results import Status

CIS = "cis-aws-foundations-benchmark"
CONTROLS: dict[str, str] = {
    "org-account-placement": "CLD-ORG-002",
    "delegated-administrators": "CLD-ORG-006",
    "guardduty-enabled": "CLD-DET-001",
    "config-recording": "CLD-DET-002",
    "securityhub-cis": "CLD-DET-003",
}


@dataclass
class OrganizationAuditor:
    session: Any  # boto3.Session of the management account
    envs: Environments
    endpoint_url: str | None = None
    role_name: str | None = None  # assumed in each member account (default: the account-access role)
    _ids: dict[str, str] = field(default_factory=dict)  # account name → id, once read

    @property
    def organization(self) -> Organization:
        if self.envs.organization is None:
            raise ConfigError(
                [f"{self.envs.root / 'organization.yaml'}: the organization view needs this file"]
            )
        return self.envs.organization

    def client(
        self, service: str, region: str | None = None, credentials: dict[str, str] | None = None
    ) -> Any:
        return endpoint_client(self.session, service, self.endpoint_url, region, credentials)

    def _finding(
        self, check: str, status: Status, resource: str, detail: str, control: str | None = None
    ) -> Finding:
        return Finding(
            check=check, control=control or CONTROLS[check], status=status, resource=resource, detail=detail
        )

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        for check, method in (
            ("org-account-placement", self.placement),
            ("scp", self.scps),
            ("delegated-administrators", self.delegated),
            ("member-detection", self.detection),
        ):
            try:
                findings.extend(method())
            except CannotCheck as reason:
                findings.append(
                    self._finding(
                        check, Status.CANNOT_EVALUATE, "*", str(reason), CONTROLS.get(check, "CLD-ORG-002")
                    )
                )
            except BotoCoreError as error:
                raise AuditError(f"{check}: {error}") from None
        return findings

    # --- the organization's shape ------------------------------------------------------------
    def _pages(self, method: Any, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = Auditor.call(method, **kwargs, **({"NextToken": token} if token else {}))
            items.extend(page.get(key, []))
            token = page.get("NextToken")
            if not token:
                return items

    def _root_and_ous(self) -> tuple[str, dict[str, str]]:
        org = self.client("organizations")
        root = self._pages(org.list_roots, "Roots")[0]["Id"]
        paths: dict[str, str] = {}
        pending = [("", root)]
        while pending:
            prefix, parent = pending.pop()
            for ou in self._pages(
                org.list_organizational_units_for_parent, "OrganizationalUnits", ParentId=parent
            ):
                path = f"{prefix}/{ou['Name']}" if prefix else str(ou["Name"])
                paths[path] = str(ou["Id"])
                pending.append((path, str(ou["Id"])))
        return root, paths

    def account_ids(self) -> dict[str, str]:
        if not self._ids:
            org = self.client("organizations")
            by_email = {a["Email"]: a for a in self._pages(org.list_accounts, "Accounts")}
            for account in self.organization.accounts:
                live = by_email.get(account.email)
                if live is not None:
                    self._ids[account.name] = str(live["Id"])
        return self._ids

    def placement(self) -> Iterator[Finding]:
        org = self.client("organizations")
        _root, ous = self._root_and_ous()
        live = {a["Email"]: a for a in self._pages(org.list_accounts, "Accounts")}
        for account in self.organization.accounts:
            found = live.get(account.email)
            if found is None:
                yield self._finding(
                    "org-account-placement",
                    Status.FAIL,
                    account.name,
                    f"no account with e-mail {account.email} in the organization",
                )
                continue
            if found.get("Status") != "ACTIVE":
                yield self._finding(
                    "org-account-placement",
                    Status.FAIL,
                    account.name,
                    f"account {found['Id']} is {found.get('Status')}",
                )
                continue
            parent = self._pages(org.list_parents, "Parents", ChildId=found["Id"])[0]["Id"]
            if ous.get(account.ou) != parent:
                where = next((path for path, ou_id in ous.items() if ou_id == parent), parent)
                yield self._finding(
                    "org-account-placement",
                    Status.FAIL,
                    account.name,
                    f"in {where}, expected OU {account.ou}",
                )
            else:
                yield self._finding(
                    "org-account-placement", Status.PASS, account.name, f"{found['Id']} in {account.ou}"
                )

    def scps(self) -> Iterator[Finding]:
        org = self.client("organizations")
        root, ous = self._root_and_ous()
        live = {
            p["Name"]: p for p in self._pages(org.list_policies, "Policies", Filter="SERVICE_CONTROL_POLICY")
        }
        for guardrail in guardrails(self.envs, self.organization):
            check = f"scp-{guardrail.key}"
            policy = live.get(guardrail.name)
            if policy is None:
                yield self._finding(
                    check, Status.FAIL, guardrail.name, "no such SCP in the organization", guardrail.control
                )
                continue
            content = Auditor.call(org.describe_policy, PolicyId=policy["Id"])["Policy"]["Content"]
            if json.loads(content) != guardrail.document():
                yield self._finding(
                    check,
                    Status.FAIL,
                    guardrail.name,
                    "its document differs from organization.yaml's",
                    guardrail.control,
                )
                continue
            targets = {
                t["TargetId"]
                for t in self._pages(org.list_targets_for_policy, "Targets", PolicyId=policy["Id"])
            }
            expected = {
                target: root if target == "root" else ous.get(target, f"(missing OU {target})")
                for target in guardrail.targets
            }
            missing = sorted(name for name, target_id in expected.items() if target_id not in targets)
            if missing:
                yield self._finding(
                    check,
                    Status.FAIL,
                    guardrail.name,
                    f"not attached to {', '.join(missing)}",
                    guardrail.control,
                )
            else:
                yield self._finding(
                    check,
                    Status.PASS,
                    guardrail.name,
                    f"attached to {', '.join(sorted(expected))}",
                    guardrail.control,
                )

    def delegated(self) -> Iterator[Finding]:
        org = self.client("organizations")
        ids = self.account_ids()
        for kind, principals in sorted(DELEGATED.items()):
            account = self.organization.account_of_kind(kind)
            account_id = ids.get(account.name)
            if account_id is None:
                yield self._finding(
                    "delegated-administrators", Status.FAIL, account.name, "account not in the organization"
                )
                continue
            services = {
                s["ServicePrincipal"]
                for s in self._pages(
                    org.list_delegated_services_for_account, "DelegatedServices", AccountId=account_id
                )
            }
            for principal in principals:
                status: Status = Status.PASS if principal in services else Status.FAIL
                yield self._finding(
                    "delegated-administrators",
                    status,
                    f"{principal} → {account.name}",
                    "registered" if status == Status.PASS else "not registered",
                )
        security = ids.get(self.organization.account_of_kind("security").name)
        for region in self.envs.national.hosting.allowed_regions:
            for service in ("guardduty", "securityhub"):
                resource = f"{service} administrator ({region})"
                try:
                    admins = Auditor.call(
                        self.client(service, region=region).list_organization_admin_accounts
                    ).get("AdminAccounts", [])
                except CannotCheck as reason:
                    yield self._finding(
                        "delegated-administrators", Status.CANNOT_EVALUATE, resource, str(reason)
                    )
                    continue
                enabled = {
                    a.get("AdminAccountId") or a.get("AccountId")
                    for a in admins
                    if a.get("AdminStatus", "ENABLED") == "ENABLED"
                }
                status = Status.PASS if security in enabled else Status.FAIL
                yield self._finding(
                    "delegated-administrators",
                    status,
                    resource,
                    f"enabled for {sorted(a for a in enabled if a) or 'nobody'}",
                )

    # --- every member account, every allowed region --------------------------------------------
    def _assume(self, account_id: str) -> dict[str, str]:
        """Credentials of the audit role in a member account (client keyword arguments)."""
        role = self.role_name or self.organization.roles.account_access
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="jamaa-audit"
        )["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def detection(self) -> Iterator[Finding]:
        ids = self.account_ids()
        # the management account (the caller's own credentials) and every member account
        targets: list[tuple[str, dict[str, str] | None]] = [(self.organization.management.name, None)]
        for account in self.organization.accounts:
            account_id = ids.get(account.name)
            if account_id is not None:  # else reported by the placement check
                targets.append((account.name, self._assume(account_id)))
        for name, credentials in targets:
            for region in self.envs.national.hosting.allowed_regions:
                where = f"{name} ({region})"
                for check, method in (
                    ("guardduty-enabled", self._guardduty),
                    ("securityhub-cis", self._securityhub),
                    ("config-recording", self._config),
                ):
                    try:
                        status, detail = method(region, credentials)
                    except CannotCheck as reason:
                        status, detail = Status.CANNOT_EVALUATE, str(reason)
                    except ClientError as error:
                        status, detail = (
                            Status.FAIL,
                            f"{error.response.get('Error', {}).get('Code')}: {error}",
                        )
                    yield self._finding(check, status, where, detail)

    def _guardduty(self, region: str, credentials: dict[str, str] | None) -> tuple[Status, str]:
        guardduty = self.client("guardduty", region, credentials)
        detectors = Auditor.call(guardduty.list_detectors).get("DetectorIds", [])
        if not detectors:
            return Status.FAIL, "no GuardDuty detector"
        statuses = [str(Auditor.call(guardduty.get_detector, DetectorId=d).get("Status")) for d in detectors]
        return (
            (Status.PASS, f"detector {detectors[0]} enabled")
            if "ENABLED" in statuses
            else (Status.FAIL, f"detector {statuses}")
        )

    def _securityhub(self, region: str, credentials: dict[str, str] | None) -> tuple[Status, str]:
        hub = self.client("securityhub", region, credentials)
        try:
            Auditor.call(hub.describe_hub)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in (
                "InvalidAccessException",
                "ResourceNotFoundException",
            ):
                return Status.FAIL, "Security Hub is not enabled"
            raise
        standards = Auditor.call(hub.get_enabled_standards).get("StandardsSubscriptions", [])
        cis = [
            s for s in standards if CIS in str(s.get("StandardsArn")) and s.get("StandardsStatus") == "READY"
        ]
        return (
            (Status.PASS, "CIS AWS Foundations standard ready")
            if cis
            else (Status.FAIL, "Security Hub on without the CIS standard")
        )

    def _config(self, region: str, credentials: dict[str, str] | None) -> tuple[Status, str]:
        config = self.client("config", region, credentials)
        statuses = Auditor.call(config.describe_configuration_recorder_status).get(
            "ConfigurationRecordersStatus", []
        )
        recording = [s["name"] for s in statuses if s.get("recording")]
        return (
            (Status.PASS, f"recorder {recording[0]} recording")
            if recording
            else (Status.FAIL, "no AWS Config recorder recording")
        )
