"""Offline answers to the invokes (data sources) real programs use, with plausible values, as
Pulumi's own mock tests answer them: the region and account of the call, AMIs, availability zones,
the default VPC and its subnets, IAM policy documents rendered from their statements (so the rules
read the document the program builds), managed policies by name.

Every answer is a placeholder, never a real resource; an invoke with no answer here returns no
outputs and is listed in the plan's warnings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Answer = Callable[[Mapping[str, Any], "Context"], dict[str, Any]]


@dataclass(frozen=True)
class Context:
    region: str
    account: str


def _id(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}-0{digest[:16]}"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _get(item: Mapping[str, Any], key: str) -> Any:
    """An argument by its engine (camelCase) name, or as a plain dict passed it (snake_case)."""
    if key in item:
        return item[key]
    return item.get(re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower())


def policy_document(inputs: Mapping[str, Any], _ctx: Context) -> dict[str, Any]:
    """`aws.iam.get_policy_document`: the JSON document its statements describe (AWS's rendering)."""
    statements = []
    for source in _list(_get(inputs, "sourcePolicyDocuments")):
        try:
            statements += _list(json.loads(source).get("Statement"))
        except (TypeError, ValueError, AttributeError):
            continue
    for item in _list(_get(inputs, "statements")):
        if not isinstance(item, Mapping):
            continue
        statement: dict[str, Any] = {}
        if _get(item, "sid"):
            statement["Sid"] = _get(item, "sid")
        statement["Effect"] = _get(item, "effect") or "Allow"
        for key, name in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            values = _list(_get(item, key))
            if values:
                statement[name] = _one_or_many(values)
        for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            principals: dict[str, Any] = {}
            wildcard = False
            for principal in _list(_get(item, key)):
                kind = str(principal.get("type"))
                identifiers = _list(principal.get("identifiers"))
                if kind == "*":
                    wildcard = True
                    continue
                principals.setdefault(kind, []).extend(identifiers)
            if wildcard and not principals:
                statement[name] = "*"
            elif principals:
                statement[name] = {k: _one_or_many(v) for k, v in principals.items()}
        conditions: dict[str, dict[str, Any]] = {}
        for condition in _list(_get(item, "conditions")):
            test, variable = str(condition.get("test")), str(condition.get("variable"))
            conditions.setdefault(test, {})[variable] = _one_or_many(_list(condition.get("values")))
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    document: dict[str, Any] = {"Version": inputs.get("version") or "2012-10-17", "Statement": statements}
    if _get(inputs, "policyId"):
        document["Id"] = _get(inputs, "policyId")
    text = json.dumps(document, indent=2)
    return {"id": _id("doc", text), "json": text, "minifiedJson": json.dumps(document, separators=(",", ":"))}


def _region(_inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    r = ctx.region
    return {"id": r, "name": r, "region": r, "description": r, "endpoint": f"ec2.{r}.amazonaws.com"}


def _partition(_inputs: Mapping[str, Any], _ctx: Context) -> dict[str, Any]:
    return {
        "id": "aws",
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    }


def _zones(_inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    names = [f"{ctx.region}{letter}" for letter in "abc"]
    return {
        "id": ctx.region,
        "names": names,
        "zoneIds": [f"{ctx.region[:3]}{ctx.region.split('-')[-1]}-az{i}" for i in (1, 2, 3)],
        "groupNames": [ctx.region] * 3,
    }


def _zone(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    name = inputs.get("name") or f"{ctx.region}a"
    return {
        "id": name,
        "name": name,
        "zoneId": f"{ctx.region[:3]}-az1",
        "region": ctx.region,
        "state": "available",
    }


def _ami(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    image = _id("ami", inputs.get("filters"), inputs.get("owners"))
    names = [
        v for f in _list(inputs.get("filters")) if f.get("name") == "name" for v in _list(f.get("values"))
    ]
    return {
        "id": image,
        "imageId": image,
        "arn": f"arn:aws:ec2:{ctx.region}::image/{image}",
        "name": str(names[0]).replace("*", "offline") if names else "offline-image",
        "architecture": "x86_64",
        "rootDeviceName": "/dev/xvda",
        "rootDeviceType": "ebs",
        "virtualizationType": "hvm",
        "ownerId": str(_list(inputs.get("owners"))[0]) if inputs.get("owners") else "137112412989",
        "state": "available",
        "blockDeviceMappings": [],
        "tags": {},
    }


def _vpc(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    vpc = inputs.get("id") or _id("vpc", ctx.region, inputs.get("default"), inputs.get("tags"))
    return {
        "id": vpc,
        "arn": f"arn:aws:ec2:{ctx.region}:{ctx.account}:vpc/{vpc}",
        "cidrBlock": inputs.get("cidrBlock") or "172.31.0.0/16",
        "default": bool(inputs.get("default")),
        "ownerId": ctx.account,
        "mainRouteTableId": _id("rtb", vpc),
        "dhcpOptionsId": _id("dopt", vpc),
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "instanceTenancy": "default",
        "state": "available",
        "tags": dict(inputs.get("tags") or {}),
        "cidrBlockAssociations": [],
    }


def _subnets(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"id": ctx.region, "ids": [_id("subnet", ctx.region, inputs.get("filters"), i) for i in range(3)]}


def _subnet(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    subnet = inputs.get("id") or _id("subnet", ctx.region, inputs.get("filters"))
    return {
        "id": subnet,
        "arn": f"arn:aws:ec2:{ctx.region}:{ctx.account}:subnet/{subnet}",
        "vpcId": inputs.get("vpcId") or _id("vpc", ctx.region, None, None),
        "cidrBlock": "172.31.0.0/20",
        "availabilityZone": f"{ctx.region}a",
        "mapPublicIpOnLaunch": False,
        "ownerId": ctx.account,
        "tags": {},
    }


def _security_group(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group = inputs.get("id") or _id("sg", ctx.region, inputs.get("name"), inputs.get("filters"))
    return {
        "id": group,
        "arn": f"arn:aws:ec2:{ctx.region}:{ctx.account}:security-group/{group}",
        "name": inputs.get("name") or "default",
        "vpcId": inputs.get("vpcId") or _id("vpc", ctx.region, None, None),
        "description": "offline placeholder",
        "tags": {},
    }


def _managed_policy(inputs: Mapping[str, Any], _ctx: Context) -> dict[str, Any]:
    name = inputs.get("name") or str(inputs.get("arn") or "").rsplit("/", 1)[-1] or "OfflinePolicy"
    arn = inputs.get("arn") or f"arn:aws:iam::aws:policy/{name}"
    return {
        "id": arn,
        "arn": arn,
        "name": name,
        "path": "/",
        "policy": "{}",
        "policyId": _id("ANPA", arn),
        "tags": {},
    }


def _role(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    name = str(inputs.get("name") or "offline-role")
    arn = f"arn:aws:iam::{ctx.account}:role/{name}"
    return {
        "id": name,
        "arn": arn,
        "name": name,
        "assumeRolePolicy": "{}",
        "path": "/",
        "uniqueId": _id("AROA", arn),
    }


def _elb_account(_inputs: Mapping[str, Any], _ctx: Context) -> dict[str, Any]:
    return {"id": "127311923021", "arn": "arn:aws:iam::127311923021:root"}


PLACEHOLDER = "offline"
"""What a credential an invoke returns is, offline: a placeholder, never a secret."""


def _ecr_token(_inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "id": ctx.region,
        "authorizationToken": PLACEHOLDER,
        "userName": "AWS",
        "password": PLACEHOLDER,
        "proxyEndpoint": f"https://{ctx.account}.dkr.ecr.{ctx.region}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
    }


def _parameter(inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    name = str(inputs.get("name") or "offline")
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{ctx.region}:{ctx.account}:parameter/{name.lstrip('/')}",
        "type": "String",
        "value": "offline-placeholder",
        "insecureValue": "offline-placeholder",
        "version": 1,
    }


ANSWERS: dict[str, Answer] = {
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:index/getAvailabilityZone:getAvailabilityZone": _zone,
    "aws:ec2/getAmi:getAmi": _ami,
    "aws:ec2/getVpc:getVpc": _vpc,
    "aws:ec2/getSubnets:getSubnets": _subnets,
    "aws:ec2/getSubnet:getSubnet": _subnet,
    "aws:ec2/getSecurityGroup:getSecurityGroup": _security_group,
    "aws:iam/getPolicyDocument:getPolicyDocument": policy_document,
    "aws:iam/getPolicy:getPolicy": _managed_policy,
    "aws:iam/getRole:getRole": _role,
    "aws:elb/getServiceAccount:getServiceAccount": _elb_account,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
    "aws:ssm/getParameter:getParameter": _parameter,
}
