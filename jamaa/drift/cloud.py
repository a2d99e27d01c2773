"""Cloud drift: `pulumi preview --refresh --expect-no-changes --json` of a region stack, per resource,
mapped to control ids through the catalogue's enforcement links (the policy pack: every resource policy
that looks at a resource type names its controls).

The preview's JSON document (Pulumi's PreviewDigest) has `steps` (each: `op`, `urn`, `oldState` /
`newState` with `type`, `diffReasons`, `replaceReasons`, `detailedDiff`), `diagnostics` and
`changeSummary`. After a refresh, any step other than same / read / refresh is drift: the cloud no longer
matches what the code declares. Tested offline on recorded previews; the real path needs the Pulumi CLI
and the stack's credentials.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from jamaa.drift.model import NO_CONTROL, DriftRun, Finding, TargetResult
from jamaa.errors import ConfigError
from jamaa.paths import REPO
from jamaa.results import Status

NO_CHANGE_OPS = frozenset({"same", "read", "refresh", "discard", "remove-pending-replace"})


def type_controls() -> dict[str, list[str]]:
    """Resource type → the control ids of the resource policies that look at that type."""
    import importlib

    from jamaa.policy.pack import policies_module

    policies_module()
    framework = importlib.import_module("jamaa_policies.framework")
    index: dict[str, list[str]] = {}
    for spec in framework.REGISTRY.values():
        for resource_type in spec.types:
            index.setdefault(resource_type, [])
            index[resource_type] = sorted({*index[resource_type], *spec.controls})
    return index


def _type_of(step: dict[str, Any]) -> str:
    for key in ("newState", "oldState"):
        state = step.get(key)
        if isinstance(state, dict) and isinstance(state.get("type"), str):
            return str(state["type"])
    parts = str(step.get("urn", "")).split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def _detail(step: dict[str, Any]) -> str:
    detailed = step.get("detailedDiff")
    if isinstance(detailed, dict) and detailed:
        changes = [
            f"{path}: {diff.get('kind', '?')}"
            for path, diff in sorted(detailed.items())
            if isinstance(diff, dict)
        ]
    else:
        changes = [str(key) for key in step.get("diffReasons") or []]
    replace = step.get("replaceReasons") or []
    text = f"{step['op']}" + (f" ({', '.join(changes)})" if changes else "")
    return text + (f"; replaces because of {', '.join(map(str, replace))}" if replace else "")


def load_preview(path: Path) -> dict[str, Any]:
    """The preview document, or one line naming the file, the field and why it is refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the preview: {error.strerror}"]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            [
                f"{path}: not JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
                "expected the output of `pulumi preview --json`"
            ]
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(
            [f"{path}: top level: expected an object (pulumi preview --json), got {type(document).__name__}"]
        )
    if "steps" not in document and "changeSummary" not in document:
        raise ConfigError([f"{path}: steps: missing (not the output of `pulumi preview --json`)"])
    steps = document.get("steps", [])
    if not isinstance(steps, list):
        raise ConfigError([f"{path}: steps: expected a list"])
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            raise ConfigError([f"{path}: steps.{index}: expected an object"])
        for field in ("op", "urn"):
            if not isinstance(step.get(field), str) or not step[field]:
                raise ConfigError([f"{path}: steps.{index}.{field}: missing or not a string"])
    return document


def stack_of(document: dict[str, Any], fallback: str) -> str:
    for step in document.get("steps", []):
        parts = str(step.get("urn", "")).split("::")
        if parts and parts[0].startswith("urn:pulumi:"):
            return parts[0].removeprefix("urn:pulumi:")
    return fallback


def preview_result(document: dict[str, Any], stack: str, index: dict[str, list[str]]) -> TargetResult:
    findings: list[Finding] = []
    for step in document.get("steps", []):
        if step["op"] in NO_CHANGE_OPS or _type_of(step).startswith("pulumi:"):
            continue
        controls = index.get(_type_of(step)) or [NO_CONTROL]
        findings += [Finding(control=c, source=step["urn"], detail=_detail(step)) for c in controls]
    errors = [
        str(d.get("message", "")).strip()
        for d in document.get("diagnostics", []) or []
        if isinstance(d, dict) and d.get("severity") == "error"
    ]
    # --expect-no-changes reports the drift itself as an error; only other errors make the result unknown
    errors = [e for e in errors if "no changes were expected" not in e]
    if errors:
        return TargetResult(target=stack, status=Status.ERROR, message=errors[0][:300], findings=findings)
    return TargetResult(target=stack, status=Status.FAIL if findings else Status.PASS, findings=findings)


def cloud_drift_from_files(environment: str, previews: list[Path]) -> DriftRun:
    started = time.monotonic()
    index = type_controls()
    documents = [(path, load_preview(path)) for path in previews]  # all refused before any result
    run = DriftRun(kind="cloud", environment=environment)
    run.targets = [preview_result(doc, stack_of(doc, path.stem), index) for path, doc in documents]
    run.wall_s = round(time.monotonic() - started, 3)
    return run


def run_preview(stack: str, out_dir: Path) -> Path:
    """The real path: `pulumi preview --refresh --expect-no-changes --json` of STACK, saved to a file."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise ConfigError(
            [
                f"stack {stack}: the Pulumi CLI is not installed here; record a preview where it runs "
                "(`pulumi preview --refresh --expect-no-changes --json`) and pass it with --preview"
            ]
        )
    proc = subprocess.run(
        [
            pulumi,
            "preview",
            "--stack",
            stack,
            "--refresh",
            "--expect-no-changes",
            "--json",
            "--non-interactive",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"preview-{stack}.json"
    path.write_text(proc.stdout, encoding="utf-8")
    return path
