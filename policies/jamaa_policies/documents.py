# ruff: noqa: E501  (exemption reasons read better unwrapped)
"""IAM policy documents by meaning: what a statement grants, to whom, on what.

The rules never compare strings such as `"*"`: they ask what a statement allows. `NotAction` allows
every action it does not list, `NotResource` every resource it does not list; actions and resources
match with IAM's wildcards (`*`, `?`, case-insensitive actions); `iam:*` on `*` is a service
wildcard; a principal is anyone (`"*"`, `{"AWS": "*"}`, any ARN pattern with a wildcard account),
an AWS service, or an account (an id or an ARN in it), and a condition may pin the caller to the
organization or an account.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jamaa_policies.framework import as_list, is_map, policy_document, statements

PRIVILEGE_ESCALATION_ACTIONS = (
    # Actions that let a principal give itself (or a role it can use) more rights: documented by
    # Rhino Security Labs' "AWS IAM privilege escalation" research and AWS's own IAM guidance.
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreatePolicyVersion",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
    "iam:PassRole",
    "iam:PutGroupPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:PutUserPolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateLoginProfile",
    "sts:AssumeRole",
    "lambda:UpdateFunctionCode",
    "organizations:LeaveOrganization",
)

ORG_CONDITION_KEYS = (
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:resourceorgid",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcearn",
    "aws:sourcevpce",
    "aws:sourcevpc",
    "kms:calleraccount",
    "kms:viaservice",
)
"""Condition keys that pin a wildcard principal to the organization, an account, or a network
path inside it (compared positively: StringEquals/ArnLike …, never a Not… operator)."""

ACCOUNT = re.compile(r"^(\d{12})$|^arn:aws[\w-]*:(?:iam|sts)::(\d{12}|\*):")


def _match(patterns: Iterable[str], value: str, *, fold: bool) -> bool:
    if fold:
        value = value.lower()
    return any(fnmatch.fnmatchcase(value, p.lower() if fold else p) for p in patterns)


def _overlaps(pattern: str, value: str) -> bool:
    """Whether an action pattern and a wanted action pattern can name a common action."""
    return _match([pattern], value, fold=True) or _match([value], pattern, fold=True)


@dataclass(frozen=True)
class Statement:
    """One statement of a document, its fields as lists of strings."""

    raw: Mapping[str, Any]

    @property
    def sid(self) -> str:
        return str(self.raw.get("Sid") or "(no Sid)")

    @property
    def allows(self) -> bool:
        return str(self.raw.get("Effect")) == "Allow"

    def _strings(self, key: str) -> list[str]:
        return [str(v) for v in as_list(self.raw.get(key))]

    def grants_action(self, action: str) -> bool:
        """True when the statement applies to `action` (a name or a pattern such as `iam:Put*`)."""
        if "NotAction" in self.raw:
            return not any(_match([p], action, fold=True) for p in self._strings("NotAction"))
        return any(_overlaps(p, action) for p in self._strings("Action"))

    def every_action(self) -> bool:
        """`*` (or `*:*`), or a NotAction (everything but a few actions)."""
        if "NotAction" in self.raw:
            return True
        return any(p.strip() in ("*", "*:*") for p in self._strings("Action"))

    def service_wildcards(self) -> list[str]:
        """`iam:*`-style actions: every action of a service (NotAction counts as every service)."""
        if "NotAction" in self.raw:
            return ["NotAction " + ", ".join(self._strings("NotAction"))]
        return [p for p in self._strings("Action") if re.fullmatch(r"[\w-]+:\*+", p.strip())]

    def every_resource(self) -> bool:
        """`*` as a resource, or NotResource (every resource but a few)."""
        if "NotResource" in self.raw:
            return True
        return any(r.strip() == "*" for r in self._strings("Resource"))

    def wildcard_resource(self) -> bool:
        """Some resource is a pattern (`*`, `arn:aws:iam::*:role/*`), or NotResource."""
        return "NotResource" in self.raw or any("*" in r or "?" in r for r in self._strings("Resource"))

    # --- principals (trust and resource policies) ---------------------------------------------

    def principals(self) -> Iterator[tuple[str, str]]:
        """(kind, value): kind is `*` for `Principal: "*"`, else AWS / Service / Federated / CanonicalUser.
        A NotPrincipal in an Allow statement means everyone else: reported as `*`."""
        if "NotPrincipal" in self.raw:
            yield "*", "NotPrincipal"
            return
        principal = self.raw.get("Principal")
        if principal is None:
            return
        if isinstance(principal, str):
            yield ("*", principal) if principal.strip() == "*" else ("AWS", principal)
            return
        if is_map(principal):
            for kind in principal:
                for value in as_list(principal[kind]):
                    yield str(kind), str(value)

    def pinning_conditions(self) -> list[str]:
        """Condition keys of this statement that pin the caller (org, account, source)."""
        condition = self.raw.get("Condition")
        found = []
        if not is_map(condition):
            return found
        for operator in condition:
            if str(operator).lower().startswith(("stringnot", "arnnot", "null")) or "IfExists" in str(
                operator
            ):
                continue
            block = condition[operator]
            if not is_map(block):
                continue
            for key in block:
                values = [str(v) for v in as_list(block[key])]
                if (
                    str(key).lower() in ORG_CONDITION_KEYS
                    and values
                    and not any(v.strip() == "*" for v in values)
                ):
                    found.append(str(key))
        return found


def parsed(value: Any) -> list[Statement] | None:
    """The statements of a document given as JSON text or a map; None if unreadable."""
    document = policy_document(value)
    if document is None:
        return None
    return [Statement(s) for s in statements(document)]


def is_anyone(kind: str, value: str) -> bool:
    """A principal that is anyone: `*`, `{"AWS": "*"}`, or an ARN whose account is a wildcard."""
    if kind == "*":
        return True
    if kind in ("AWS", "CanonicalUser") and value.strip() == "*":
        return True
    match = ACCOUNT.match(value.strip()) if kind == "AWS" else None
    return bool(match and match.group(2) == "*")


def account_of(kind: str, value: str) -> str | None:
    """The account id an AWS principal names (an id, or an IAM/STS ARN), else None."""
    if kind != "AWS":
        return None
    match = ACCOUNT.match(value.strip())
    if not match:
        return None
    return match.group(1) or (match.group(2) if match.group(2) != "*" else None)


def admin_grants(found: Iterable[Statement]) -> list[str]:
    """Sids of Allow statements that grant every action (`*`, NotAction) on every resource."""
    return [s.sid for s in found if s.allows and s.every_action() and s.every_resource()]


def exposure(found: Iterable[Statement], trusted_accounts: Iterable[str]) -> list[str]:
    """What an Allow statement of a trust or resource policy exposes: anyone without a condition
    pinning the organization or an account, or an account outside `trusted_accounts`."""
    trusted = {str(a) for a in trusted_accounts}
    problems = []
    for statement in found:
        if not statement.allows:
            continue
        pinned = statement.pinning_conditions()
        for kind, value in statement.principals():
            if is_anyone(kind, value):
                if not pinned:
                    problems.append(
                        f"statement {statement.sid} allows anyone ({kind}: {value}) without a condition pinning the organization"
                    )
                continue
            account = account_of(kind, value)
            if account is not None and account not in trusted and not pinned:
                problems.append(
                    f"statement {statement.sid} allows account {account}, outside the organization"
                )
    return problems
