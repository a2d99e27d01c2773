"""Steady-state converge of one lab host: `site.yml -l HOST` on a converged host, alone (target for a
container: under 60 s), with the slowest tasks (ansible.posix.profile_tasks). `--check` times the
check-mode run instead (`--check --diff`, what `jamaa drift` runs); `--tags` narrows either.

    .venv/bin/python bench/converge_bench.py [--host srv-01] [--repeat 3] [--json out/bench/converge.json]
    .venv/bin/python bench/converge_bench.py --host vm-01 --check --json out/bench/check-vm.json

Needs the lab up and converged (`jamaa lab up`, then `make lab` or one `site.yml` run). Each run must
report changed=0 and failed=0, or the figure is refused: a run that changes something is not steady.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from jamaa.paths import REPO
from jamaa.recap import play_recap

TASK_TIME = re.compile(r"^(.+?) -+ (\d+\.\d+)s$", re.M)


def converge(
    host: str, check: bool = False, tags: str | None = None
) -> tuple[float, dict[str, int], list[tuple[str, float]], str]:
    env = {
        **os.environ,
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "10",
        "ANSIBLE_NOCOLOR": "1",
    }
    command = [
        str(REPO / ".venv/bin/ansible-playbook"),
        "-i",
        "environments/lab",
        "playbooks/site.yml",
        "-l",
        host,
        *(["--check", "--diff"] if check else []),
        *(["--tags", tags] if tags else []),
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    recap = play_recap(output)
    if host not in recap:
        tail = output[-2000:]
        raise SystemExit(f"converge_bench: no play recap for {host} (exit {result.returncode}):\n{tail}")
    counts = {key: recap[host][key] for key in ("ok", "changed", "failed")}
    slowest = [(name.strip(), float(t)) for name, t in TASK_TIME.findall(output.split("TASKS RECAP")[-1])]
    return seconds, counts, slowest, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="srv-01")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "converge.json")
    parser.add_argument("--check", action="store_true", help="time the check-mode run (--check --diff)")
    parser.add_argument("--tags", help="only these Ansible tags")
    args = parser.parse_args()
    if args.repeat < 1:
        print("converge_bench: --repeat: at least 1", file=sys.stderr)
        return 2

    runs = []
    for attempt in range(1, args.repeat + 1):
        seconds, counts, slowest, output = converge(args.host, args.check, args.tags)
        if counts["changed"] or counts["failed"]:
            print(f"converge_bench: run {attempt} on {args.host} is not steady: {counts}", file=sys.stderr)
            print(output[-3000:], file=sys.stderr)
            return 1
        runs.append({"seconds": round(seconds, 1), **counts, "slowest": slowest})
        print(f"run {attempt}: {seconds:.1f} s wall, {counts['ok']} tasks ok, changed=0")
    walls = [r["seconds"] for r in runs]
    load = os.getloadavg()[0]
    mode = "check-mode run" if args.check else "converge"
    print(
        f"{args.host}: steady-state {mode} median {statistics.median(walls):.1f} s "
        f"(min {min(walls):.1f}, max {max(walls):.1f}) over {len(walls)} runs; load average {load:.2f}"
    )
    print("slowest tasks of the last run:")
    for name, task_seconds in runs[-1]["slowest"]:
        print(f"  {task_seconds:5.2f} s  {name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "host": args.host,
                "mode": "check" if args.check else "converge",
                "tags": args.tags,
                "median_s": statistics.median(walls),
                "load": load,
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
