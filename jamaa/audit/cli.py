"""`jamaa audit --region R [--endpoint-url URL]`: the post-deploy audit of a live account (boto3).

Text (a table) or JSON; exit 1 when any invariant fails, 0 when none does. Checks the endpoint cannot
answer are listed as `cannot-evaluate` with the reason, never counted as passed. With
`--out out/audit/ENV/REGION.json` the evidence report of ENV reads the results as its third source.
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from rich.console import Console
from rich.table import Table

from jamaa.audit.checks import AUDIT_STATUSES, AuditDocument, Auditor, Expectations, Finding, endpoint_client
from jamaa.audit.organization import OrganizationAuditor
from jamaa.clikit import fails_cleanly
from jamaa.config import Environments, load_environments
from jamaa.errors import ConfigError
from jamaa.results import Status

console = Console()


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def expectations_for(envs: Environments, env: str, max_age_hours: float) -> Expectations:
    """Retention per cloud data class: the environment's figure, never below the national floor."""
    if env not in envs.environments:
        raise ConfigError(
            [f"{envs.root}: --env: unknown environment {env!r} ({', '.join(sorted(envs.environments))})"]
        )
    settings = envs.environments[env]
    retention: dict[str, int] = {}
    for name, policy in envs.national.data_classes.items():
        if policy.sovereign_only:
            continue  # never in AWS: no AWS Backup plan to expect
        retention[str(name)] = max(policy.retention_floor_days, settings.backup_retention_days.get(name, 0))
    return Expectations(retention_days=retention, max_recovery_point_age=timedelta(hours=max_age_hours))


def assumed_session(session: Any, role_arn: str, region: str, endpoint_url: str | None) -> Any:
    """A session in the account of `role_arn` (a stack's member account: its deployment role)."""
    sts = endpoint_client(session, "sts", endpoint_url)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="jamaa-audit")["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def render_json(region: str, env: str, endpoint: str | None, findings: list[Finding]) -> str:
    document = AuditDocument.of(region, env, endpoint, findings)
    return json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def render_table(region: str, findings: list[Finding]) -> Table:
    table = Table(title=f"jamaa audit — {region}")
    for column in ("status", "control", "check", "resource", "detail"):
        table.add_column(column, overflow="fold")
    style = {Status.PASS: "green", Status.FAIL: "bold red", Status.CANNOT_EVALUATE: "yellow"}
    order = (Status.FAIL, Status.CANNOT_EVALUATE, Status.PASS)
    for f in sorted(findings, key=lambda f: (order.index(f.status), f.control)):
        table.add_row(f"[{style[f.status]}]{f.status}[/]", f.control, f.check, f.resource, f.detail)
    return table


def audit(
    region: Annotated[str, typer.Option("--region", help="AWS region of the tenancy (e.g. eu-south-2)")],
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="another AWS-compatible endpoint (tests: moto's server)"),
    ] = None,
    env: Annotated[str, typer.Option("--env", help="environment whose backup retention applies")] = "prod",
    environments: Annotated[Path, typer.Option(help="environments directory")] = Path("environments"),
    output_format: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = OutputFormat.text,
    out: Annotated[
        Path | None,
        typer.Option(help="also write the JSON here (the report reads out/audit/ENV/REGION.json)"),
    ] = None,
    max_recovery_age_hours: Annotated[
        float, typer.Option(help="newest recovery point of a protected resource may be at most this old")
    ] = 26.0,
    organization: Annotated[
        bool,
        typer.Option(
            "--organization",
            help="audit the AWS Organization against organization.yaml (run with the management account)",
        ),
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(
            help="with --organization: role assumed in each member account (default: account access)"
        ),
    ] = None,
    role_arn: Annotated[
        str | None,
        typer.Option(help="audit the tenancy in the account of this role (a stack's member account)"),
    ] = None,
) -> None:
    """Audit a live account's tenancy invariants (or, with --organization, the organization's);
    exit 1 on any failed invariant."""
    envs = load_environments(environments, check_ledger=False)
    session = boto3.Session(region_name=region)
    if organization:
        env = "organization"
        findings = OrganizationAuditor(session, envs, endpoint_url=endpoint_url, role_name=role).run()
    else:
        expectations = expectations_for(envs, env, max_recovery_age_hours)
        if role_arn is not None:
            session = assumed_session(session, role_arn, region, endpoint_url)
        findings = Auditor(session, expectations, endpoint_url=endpoint_url).run()
    document = render_json(region, env, endpoint_url, findings)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document)
    if output_format is OutputFormat.json:
        typer.echo(document, nl=False)
    else:
        console.print(render_table(region, findings))
        counts = AuditDocument.of(region, env, endpoint_url, findings).summary
        console.print(", ".join(f"{status}: {counts[status]}" for status in AUDIT_STATUSES))
    if any(f.status is Status.FAIL for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("audit")(fails_cleanly(audit))
