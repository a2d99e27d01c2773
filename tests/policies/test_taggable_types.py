"""The list of taggable pulumi-aws types the mandatory-tags policy uses matches the installed SDK."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi_aws

TAGGABLE = Path(__file__).resolve().parents[2] / "policies" / "jamaa_policies" / "taggable_types.json"
TOKEN = re.compile(r'@pulumi\.type_token\("(aws:[^"]+)"\)')
ARGS = re.compile(r"@pulumi\.input_type\nclass \w+Args:(.*?)\n(?:@pulumi|class )", re.S)
TAGS_GETTER = re.compile(r"@pulumi\.getter\n    def tags\(self\)")


def sdk_taggable_types() -> set[str]:
    found = set()
    for path in Path(pulumi_aws.__file__).parent.rglob("*.py"):
        if path.name.startswith("_"):
            continue
        source = path.read_text()
        token = TOKEN.search(source)
        args = ARGS.search(source)
        if token and args and TAGS_GETTER.search(args.group(1)):
            found.add(token.group(1))
    return found


def test_taggable_types_match_the_sdk() -> None:
    recorded = set(json.loads(TAGGABLE.read_text())["types"])
    assert recorded == sdk_taggable_types()
    assert {"aws:s3/bucket:Bucket", "aws:rds/instance:Instance", "aws:kms/key:Key"} <= recorded
    assert "aws:iam/rolePolicy:RolePolicy" not in recorded
