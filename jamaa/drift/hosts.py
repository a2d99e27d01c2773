"""Host drift: `site.yml --check --diff` on an environment's servers, read from Ansible's structured
events (the `ansible.posix.json` stdout callback), never from the human output.

A task that would change a host is drift of the control(s) it belongs to, found in this order: the
loop item's own control (the detect-then-fix tasks loop over `control<TAB>…` lines or dicts with a
`control`/`key`), the control blocks of a file diff (`# HOST-SSH-007` comments in the template), the
control ids that open the task name (`HOST-SYSCTL-001..029 | …`). A host Ansible could not reach is
`cannot-evaluate` (with the reason); a host where a task failed is `error` (its drift is unknown).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jamaa.drift.model import (
    CONTROL_ID,
    NO_CONTROL,
    DriftRun,
    Finding,
    TargetResult,
    control_ids,
)
from jamaa.errors import ConfigError, JamaaError
from jamaa.paths import REPO
from jamaa.results import Status

SITE = REPO / "playbooks" / "site.yml"
MAX_DIFF_LINES = 80


class DriftError(JamaaError):
    """The check run could not produce results at all."""

    exit_code = 2


def check_command(
    inventory: Sequence[Path], limit: str | None, tags: str | None = None, playbook: Path = SITE
) -> list[str]:
    argv = [str(Path(sys.executable).parent / "ansible-playbook")]
    for source in inventory:
        argv += ["-i", str(source)]
    argv += [str(playbook), "--check", "--diff"]
    if limit:
        argv += ["-l", limit]
    if tags:
        argv += ["--tags", tags]
    return argv


def run_check(
    inventory: Sequence[Path], limit: str | None = None, tags: str | None = None, playbook: Path = SITE
) -> dict[str, Any]:
    """Run the check and return the callback's JSON document."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "ANSIBLE_CALLBACKS_ENABLED"},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_JSON_INDENT": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    proc = subprocess.run(
        check_command(inventory, limit, tags, playbook),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    start = proc.stdout.find("{")
    try:
        document = json.JSONDecoder().raw_decode(proc.stdout[start:])[0] if start >= 0 else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or "stats" not in document:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise DriftError(
            f"{inventory[0]}: ansible-playbook --check exited {proc.returncode} without results: "
            + (detail[-1] if detail else "no output")
        )
    return document


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def _diffs(result: dict[str, Any]) -> list[dict[str, Any]]:
    diff = result.get("diff")
    if isinstance(diff, dict):
        return [diff]
    if isinstance(diff, list):
        return [d for d in diff if isinstance(d, dict)]
    return []


def _unified(diff: dict[str, Any]) -> str:
    before, after = diff.get("before"), diff.get("after")
    if isinstance(before, str) and isinstance(after, str):
        lines = list(
            difflib.unified_diff(
                before.splitlines(),
                after.splitlines(),
                fromfile=str(diff.get("before_header", "on the host")),
                tofile=str(diff.get("after_header", "from the code")),
                lineterm="",
            )
        )
        return "\n".join(lines[:MAX_DIFF_LINES])
    changes = {k: v for k, v in diff.items() if k in ("before", "after") and v not in (None, "", {})}
    return json.dumps(changes, sort_keys=True) if changes else ""


def _block_ids(text: str, index: int) -> list[str]:
    """The control ids of the nearest comment above line `index` that names some."""
    lines = text.splitlines()
    for line in reversed(lines[: index + 1]):
        if line.lstrip().startswith("#") and CONTROL_ID.search(line):
            return CONTROL_ID.findall(line)
    return []


def _diff_block_ids(diff: dict[str, Any]) -> list[str]:
    before, after = diff.get("before"), diff.get("after")
    if not (isinstance(before, str) and isinstance(after, str)):
        return []
    found: list[str] = []
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for j in range(j1, max(j2, j1 + 1)):
            found += _block_ids(after, j)
        for i in range(i1, i2):
            found += _block_ids(before, i)
    return list(dict.fromkeys(found))


def _item_control(item: Any) -> str | None:
    if isinstance(item, list) and item and CONTROL_ID.fullmatch(str(item[0])):
        return str(item[0])
    if isinstance(item, dict):
        for key in ("control", "key"):
            if CONTROL_ID.fullmatch(str(item.get(key, ""))):
                return str(item[key])
    return None


def findings_of(task: str, result: dict[str, Any], known: Iterable[str] = ()) -> list[Finding]:
    """What one task's result (one host) says drifted, per control id."""
    known = list(known)
    source = task.split(" : ", 1)[-1]
    if isinstance(result.get("results"), list):
        found: list[Finding] = []
        for item_result in result["results"]:
            if isinstance(item_result, dict) and item_result.get("changed"):
                found += findings_of(task, item_result, known)
        return found
    if not result.get("changed"):
        return []
    diffs = _diffs(result)
    detail = "\n".join(filter(None, (_unified(d) for d in diffs)))
    if not detail:
        label = result.get("_ansible_item_label", result.get("item"))
        detail = _text(result.get("msg")) if "msg" in result else _text(label)
    single = _item_control(result.get("item"))
    if single:
        ids = [single]
    else:
        ids = [i for d in diffs for i in _diff_block_ids(d)] or control_ids(task, known) or [NO_CONTROL]
    return [Finding(control=c, source=source, detail=detail) for c in dict.fromkeys(ids)]


def parse_events(document: dict[str, Any], known: Iterable[str] = ()) -> list[TargetResult]:
    """Per host, from the `ansible.posix.json` document: status and findings."""
    known = list(known)
    stats = document.get("stats")
    if not isinstance(stats, dict):
        raise ConfigError(["ansible events: stats: missing (not an ansible.posix.json document)"])
    findings: dict[str, list[Finding]] = {host: [] for host in stats}
    problems: dict[str, str] = {}
    for play in document.get("plays", []) or []:
        for task in play.get("tasks", []) or []:
            name = str(task.get("task", {}).get("name", ""))
            for host, result in (task.get("hosts") or {}).items():
                if not isinstance(result, dict):
                    continue
                if result.get("unreachable"):
                    problems.setdefault(host, f"unreachable: {_text(result.get('msg')).strip()[:300]}")
                    continue
                if result.get("failed") and not result.get("ignore_errors"):
                    lines = _text(result.get("msg") or result.get("stderr")).strip().splitlines()
                    problems.setdefault(host, f"{name}: {lines[0] if lines else 'failed'}"[:300])
                findings.setdefault(host, []).extend(findings_of(name, result, known))
    results = []
    for host in sorted(findings):
        counts = stats.get(host, {})
        status = Status.FAIL if findings[host] else Status.PASS
        message = ""
        if counts.get("unreachable"):
            status, message = Status.CANNOT_EVALUATE, problems.get(host, "unreachable")
        elif counts.get("failures"):
            status, message = Status.ERROR, problems.get(host, "a task failed")
        results.append(TargetResult(target=host, status=status, message=message, findings=findings[host]))
    return results


def host_drift(
    environment: str,
    inventory: Sequence[Path],
    limit: str | None,
    known: Iterable[str],
    tags: str | None = None,
) -> DriftRun:
    started = time.monotonic()
    document = run_check(inventory, limit, tags)
    run = DriftRun(kind="hosts", environment=environment, targets=parse_events(document, known))
    run.wall_s = round(time.monotonic() - started, 1)
    return run
