"""Offline plan of the whole estate: the organization stacks (org, log-archive, security), then
every regional stack, each stack's resource count and plan time, in one process.

    .venv/bin/python bench/org_plan_bench.py [--json FILE]

The regional stacks read the org stack's outputs through a StackReference: the first of them plans
`org` again to answer it (once per process), so its time includes that; later ones reuse it.
Target (issue 13): the org stack stays under 500 resources.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

from jamaa.config import load_environments
from jamaa.paths import REPO as ROOT
from jamaa.plan import run_program

ORG_MAX_RESOURCES = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    envs = load_environments(ROOT / "environments")
    rows = []
    started = time.perf_counter()
    for stack in envs.stack_names():
        wall = time.perf_counter()
        plan = run_program(ROOT, stack)
        seconds = time.perf_counter() - wall
        kinds = Counter(r.type for r in plan.resources if r.type.startswith("aws:"))
        rows.append({"stack": stack, "resources": len(plan.resources), "seconds": round(seconds, 2)})
        top = ", ".join(f"{t.split(':')[-1]} {n}" for t, n in kinds.most_common(3))
        print(f"  {stack:14} {len(plan.resources):4} resources  {seconds:6.2f} s   ({top})", flush=True)
    total = time.perf_counter() - started
    org = next(r for r in rows if r["stack"] == "org")
    regional = [r for r in rows if r["stack"] not in ("org", "log-archive", "security")]
    print(f"{len(rows)} stacks, {sum(r['resources'] for r in rows)} resources, {total:.1f} s in one process")
    print(
        f"regional stacks: {min(r['resources'] for r in regional)}-{max(r['resources'] for r in regional)} "
        f"resources, {sum(r['seconds'] for r in regional) / len(regional):.2f} s each on average"
    )
    verdict = "PASS" if org["resources"] < ORG_MAX_RESOURCES else "MISS"
    print(f"{verdict}  org stack: {org['resources']} resources  (target < {ORG_MAX_RESOURCES})")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps({"stacks": rows, "total_s": round(total, 2)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
