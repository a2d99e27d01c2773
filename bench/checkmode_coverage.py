"""Check-mode coverage of the host controls: how many automated host controls have a task that reports,
in `ansible-playbook --check`, whether it would change the host (what `jamaa drift` sees).

    .venv/bin/python bench/checkmode_coverage.py [--roles roles] [--json out/bench/checkmode.json]

A task names its controls by its name (`HOST-SYSCTL-001..029 | …`) and its tags. It reports in check
mode when its module supports check mode (template, copy, file, lineinfile, apt, ansible.posix.sysctl,
community.general.modprobe, systemd_service…), or when it is a `debug` that reports `changed` for a
detected difference. A `shell`/`command` task is blind in check mode (skipped, reported as no change)
unless it is a detection step (`check_mode: false`, `changed_when: false`), which alone changes nothing.
An `assert` fails the check run (the drift shows as an error, not as a change) and is counted apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from jamaa.controls import load_catalogue
from jamaa.drift.model import CONTROL_ID, control_ids
from jamaa.paths import REPO

COMMANDS = {"shell", "command", "raw", "script"}
NOT_MODULES = {
    "name", "tags", "when", "register", "loop", "loop_control", "vars", "notify", "changed_when",
    "failed_when", "check_mode", "become", "args", "environment", "ignore_errors", "ignore_unreachable",
    "block", "rescue", "always", "no_log", "delegate_to", "run_once", "until", "retries", "delay",
    "listen", "diff", "throttle", "timeout", "apply",
}  # fmt: skip


def _module(task: dict[str, Any]) -> str:
    for key in task:
        if key not in NOT_MODULES:
            return str(key).rsplit(".", 1)[-1]
    return ""


def _tasks(items: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for task in items or []:
        if not isinstance(task, dict):
            continue
        if "block" in task:
            found += _tasks(task["block"]) + _tasks(task.get("rescue")) + _tasks(task.get("always"))
        else:
            found.append(task)
    return found


def classify(task: dict[str, Any]) -> str:
    module = _module(task)
    if module in COMMANDS:
        if "not ansible_check_mode" in str(task.get("when", "")):
            return "blind"  # skipped in --check
        if task.get("check_mode") is False:  # runs in --check too: a detection, or one that reports itself
            return "detection" if task.get("changed_when") in (False, "false") else "reports"
        args = task.get("args") if isinstance(task.get("args"), dict) else {}
        body = task.get(next(k for k in task if k not in NOT_MODULES))
        params = {**args, **(body if isinstance(body, dict) else {})}
        # creates/removes: the command module reports `changed` in --check when it would run
        return "reports" if "creates" in params or "removes" in params else "blind"
    if module == "debug":
        return "reports" if task.get("changed_when") in (True, "true") else "none"
    if module in ("assert", "fail"):
        return "fails"
    if module in (
        "set_fact",
        "include_vars",
        "include_role",
        "import_role",
        "include_tasks",
        "meta",
        "setup",
    ):
        return "none"
    if module in (
        "find",
        "getent",
        "stat",
        "command_info",
        "package_facts",
        "slurp",
        "validate_argument_spec",
    ):
        return "none"
    return "reports"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=Path, default=REPO / "roles")
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "checkmode.json")
    args = parser.parse_args()
    catalogue = load_catalogue(REPO / "policies" / "controls")
    automated = sorted(c.id for c in catalogue.host_controls() if c.automated)
    kinds: dict[str, set[str]] = {c: set() for c in automated}
    blind_tasks: list[str] = []
    blind_ids: set[str] = set()
    debug_reported: set[str] = set()
    for path in sorted(args.roles.glob("*/tasks/*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8"))):
            name = str(task.get("name", ""))
            ids = set(control_ids(name, automated))
            ids |= {t for t in task.get("tags", []) or [] if isinstance(t, str) and CONTROL_ID.fullmatch(t)}
            kind = classify(task)
            if kind == "blind":
                blind_tasks.append(f"{path.relative_to(args.roles.parent)}: {name}")
                blind_ids |= ids
            if kind == "reports" and _module(task) in COMMANDS | {"debug"}:
                debug_reported |= ids
            for control in ids & set(kinds):
                kinds[control].add(kind)
    reported = sorted(c for c, k in kinds.items() if "reports" in k)
    fails_only = sorted(c for c, k in kinds.items() if "reports" not in k and "fails" in k)
    unreported = sorted(c for c, k in kinds.items() if "reports" not in k and "fails" not in k)
    blind_only = sorted(c for c in unreported if "blind" in kinds[c])
    # a control with a fix that runs only as shell/command, and no check-mode report of that fix:
    # `--check` can say "no change" while that part of the control has drifted
    blind_path = sorted((blind_ids - debug_reported) & set(automated))
    truthful = len(automated) - len(set(blind_path) | set(unreported))
    print(
        f"truthful check mode: {truthful} of {len(automated)} automated host controls "
        f"({len(blind_path)} with a fix that --check cannot see: {', '.join(blind_path) or 'none'})"
    )
    print(
        f"check-mode coverage: {len(reported)} of {len(automated)} automated host controls report a would-be "
        f"change in --check; {len(fails_only)} more fail the check run instead (assert); "
        f"{len(unreported)} report nothing ({len(blind_only)} of them behind a blind shell/command task)"
    )
    if blind_only:
        print("blind controls: " + ", ".join(blind_only))
    print(f"blind shell/command tasks: {len(blind_tasks)}")
    for task_name in blind_tasks:
        print(f"  {task_name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "automated": len(automated),
                "reported": reported,
                "fails_only": fails_only,
                "unreported": unreported,
                "blind_only": blind_only,
                "blind_tasks": blind_tasks,
                "blind_path": blind_path,
                "truthful": truthful,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
