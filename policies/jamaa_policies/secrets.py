# ruff: noqa: E501  (policy descriptions, remediation steps and messages read better unwrapped)
"""Secrets never in plain text where anyone who can read the configuration reads them: SSM String
parameters, EC2 user data (instances, spot requests and fleets, launch templates and configurations),
Lambda environment variables.

A value is a secret when its name says so (password, secret, token, API key, private key,
credential) and it holds a literal rather than a reference (an ARN, an SSM path, a `{{resolve:…}}`),
or when it has the shape of one whatever its name (an AWS access key id, a PEM private key, a
GitHub or Slack token, `password=…` in a script). Marking a value as a Pulumi secret protects the
state file, not the place it ends up: it is still read here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from jamaa_policies.families import (
    EC2_LAUNCH_CONFIGURATION,
    EC2_LAUNCH_TEMPLATE,
    EC2_SPOT_FLEET,
    INSTANCE_LIKE,
    LAMBDA_FUNCTION,
    SSM_PARAMETER,
)
from jamaa_policies.framework import as_list, get_path, is_map, resource_policy

SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key|auth[_-]?key|client[_-]?secret)"
)
REFERENCE_NAME = re.compile(
    r"(?i)(_|-|\b)(arn|name|id|path|parameter|ttl|length|expiry|expires|url|file|header)$"
)
REFERENCE_VALUE = re.compile(r"^(arn:aws[\w-]*:|/[\w./-]+$|\{\{resolve:|\$\{|ssm:|secretsmanager:)")
SECRET_SHAPES = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*\S{20,}"), "an AWS secret access key"),
    (
        re.compile(
            r"(?i)\b[\w.-]*(password|passwd|pwd|secret|token|api[_-]?key)[\w.-]*\s*[=:]\s*['\"]?(?!\$|\{\{|<|arn:)[^\s'\"$]{6,}"
        ),
        "a credential assignment",
    ),
    (re.compile(r"(?i)://[^/\s:@]+:[^/\s@$]{4,}@"), "a URL with a password"),
)


def shape_of(text: str) -> str | None:
    """What secret a text contains by its shape, or None (a reference is not a secret)."""
    if REFERENCE_VALUE.match(text.strip()):
        return None
    for pattern, what in SECRET_SHAPES:
        if pattern.search(text):
            return what
    return None


def _literal(value: Any) -> bool:
    """A literal worth calling a secret: not empty, not a reference, not a number or a flag."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if len(text) < 6 or REFERENCE_VALUE.match(text) or text.lower() in ("true", "false", "changeme"):
        return False
    return not re.fullmatch(r"[\d.]+", text)


def named_secret(name: str, value: Any) -> bool:
    return bool(SECRET_NAME.search(name)) and not REFERENCE_NAME.search(name) and _literal(value)


def decoded(user_data: Any) -> str:
    """User data as text: launch templates carry it base64-encoded, instances either way."""
    text = str(user_data or "")
    compact = re.sub(r"\s+", "", text)
    if compact and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact) and len(compact) % 4 == 0:
        try:
            plain = base64.b64decode(compact, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return text
        return plain
    return text


def _user_data(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    props = args.props
    if args.resource_type == EC2_SPOT_FLEET:
        for position, spec in enumerate(as_list(props.get("launchSpecifications"))):
            yield f"launchSpecifications[{position}].userData", get_path(spec, "userData")
        return
    for key in ("userData", "userDataBase64"):
        if props.get(key) is not None:
            yield key, props.get(key)


@resource_policy(
    name="no-plaintext-secrets",
    family="secrets",
    types=[
        SSM_PARAMETER,
        LAMBDA_FUNCTION,
        *INSTANCE_LIKE,
        EC2_LAUNCH_TEMPLATE,
        EC2_LAUNCH_CONFIGURATION,
        EC2_SPOT_FLEET,
    ],
    description="No password, key or token in plain text: SSM parameters holding one are SecureString, user data and Lambda environment variables hold references (Secrets Manager, SSM), never the value.",
    severity="high",
    controls=["CLD-SEC-001"],
    remediation="Keep the value in Secrets Manager or an SSM SecureString parameter (encrypted with the tenancy key) and pass its name or ARN; read it at run time with the instance's or function's role.",
)
def no_plaintext_secrets(
    args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]
) -> None:
    props = args.props
    if args.resource_type == SSM_PARAMETER:
        if str(props.get("type")) == "SecureString":
            return
        name = str(props.get("name") or args.name)
        for key in ("value", "insecureValue"):
            value = props.get(key)
            if value is None:
                continue
            shape = shape_of(str(value))
            if shape or named_secret(name, value):
                report(
                    f"SSM parameter {name} of type {props.get('type')} holds {shape or 'a secret (by its name)'} in plain text."
                )
        return
    if args.resource_type == LAMBDA_FUNCTION:
        variables = get_path(props, "environment", "variables")
        if not is_map(variables):
            return
        for key in variables:
            value = variables[key]
            shape = shape_of(str(value)) if isinstance(value, str) else None
            if shape or named_secret(str(key), value):
                report(f"Environment variable {key} holds {shape or 'a secret (by its name)'} in plain text.")
        return
    for where, value in _user_data(args):
        if value is None:
            continue
        shape = shape_of(decoded(value))
        if shape:
            report(f"{where} holds {shape} in plain text (anyone who can describe the instance reads it).")
