"""Offline plan benchmark: resources per stack, plan time for the largest region (MA-07
Marrakech-Safi) and for all 12 prod stacks, and the overhead against the bare Pulumi SDK registering
the same number of resources under the same mocks.

    .venv/bin/python bench/plan_bench.py [--repeat 3] [--json FILE]

Targets (issue 4): every stack < 1,000 resources; MA-07 < 10 s; all 12 prod < 60 s; ratio < 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from jamaa.config import load_environments
from jamaa.paths import REPO as ROOT
from jamaa.plan import run_program

LARGEST = "ma-07-prod"
TARGETS = {"max_resources": 1000, "largest_s": 10.0, "all_prod_s": 60.0, "ratio": 1.5}

# The bare SDK: the same resources (same pulumi-aws classes, names and input values, taken from
# the plan) created through their ordinary constructors, one after the other, under the same mocks:
# no environments/ to read, no components, no Outputs flowing between resources. What is left of
# the difference is Jamaa's own cost.
BARE = """
import importlib
import json
import re
from pathlib import Path

import pulumi
import pulumi_aws


def snake(value):
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


for item in json.loads((Path(__file__).parent / "resources.json").read_text()):
    package, module, name = item["type"].split(":")
    inputs = item["inputs"]
    if item["type"] == "pulumi:providers:aws":
        tags = json.loads(inputs["defaultTags"])
        pulumi_aws.Provider(item["name"], region=inputs["region"], default_tags=tags)
    elif package == "aws":
        cls = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
        tags = inputs.pop("tags", None)
        cls(item["name"], **snake(inputs), **({"tags": tags} if tags is not None else {}))
    else:
        pulumi.ComponentResource(item["type"], item["name"])
"""


def timed(stack: str, program: Path = ROOT) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, resources) for one plan."""
    wall, cpu = time.perf_counter(), time.process_time()
    plan = run_program(program, stack)
    return time.perf_counter() - wall, time.process_time() - cpu, len(plan.resources)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved warm runs of each side")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    envs = load_environments(ROOT / "environments")
    stacks = envs.stack_names()

    cold, _, largest_count = timed(LARGEST)  # the first run in this process: imports included
    counts = {stack: timed(stack)[2] for stack in stacks}

    prod = [s for s in stacks if s.endswith("-prod")]
    started = time.perf_counter()
    for stack in prod:
        run_program(ROOT, stack)
    all_prod = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as scratch:
        bare_dir = Path(scratch) / "bare"
        bare_dir.mkdir()
        (bare_dir / "__main__.py").write_text(textwrap.dedent(BARE))
        replay = [
            {"type": r.type, "name": r.name, "inputs": r.inputs} for r in run_program(ROOT, LARGEST).resources
        ]
        (bare_dir / "resources.json").write_text(json.dumps(replay))
        bare_count = timed("bench", bare_dir)[2]
        # Interleaved, so load from other processes on the machine weighs on both sides alike.
        ours_runs, bare_runs = [], []
        for _ in range(args.repeat):
            ours_runs.append(timed(LARGEST))
            bare_runs.append(timed("bench", bare_dir))
    # Wall time: the median. CPU time: the minimum (noise from other processes only ever adds to
    # it; the usual estimator, as in timeit), the same on both sides.
    ours_wall = statistics.median(r[0] for r in ours_runs)
    ours_cpu = min(r[1] for r in ours_runs)
    bare_wall = statistics.median(r[0] for r in bare_runs)
    bare_cpu = min(r[1] for r in bare_runs)
    ratio_cpu, ratio_wall = ours_cpu / bare_cpu, ours_wall / bare_wall

    figures = {
        "resources_per_stack": counts,
        "max_resources": max(counts.values()),
        "largest": {
            "stack": LARGEST,
            "resources": largest_count,
            "cold_s": cold,
            "warm_s": ours_wall,
            "warm_cpu_s": ours_cpu,
        },
        "all_prod": {"stacks": len(prod), "resources": sum(counts[s] for s in prod), "seconds": all_prod},
        "bare_sdk": {"resources": bare_count, "wall_s": bare_wall, "cpu_s": bare_cpu},
        "overhead_ratio_cpu": ratio_cpu,
        "overhead_ratio_wall": ratio_wall,
        "load_average": os.getloadavg()[0],
    }
    width = max(len(s) for s in counts)
    print("resources per stack")
    for stack, count in counts.items():
        print(f"  {stack:<{width}} {count:4d}")
    checks = [
        (
            f"max resources per stack: {figures['max_resources']}",
            figures["max_resources"] < TARGETS["max_resources"],
            "< 1000",
        ),
        (
            f"{LARGEST} ({largest_count} resources): cold {cold:.2f} s; "
            f"warm {ours_wall:.2f} s wall, {ours_cpu:.2f} s CPU",
            cold < TARGETS["largest_s"],
            "< 10 s",
        ),
        (
            f"all {len(prod)} prod stacks, one process: {all_prod:.2f} s",
            all_prod < TARGETS["all_prod_s"],
            "< 60 s",
        ),
        (
            f"bare SDK, same {bare_count} resources, same mocks: "
            f"{bare_wall:.2f} s wall, {bare_cpu:.2f} s CPU; "
            f"overhead ratio {ratio_cpu:.2f} (CPU), {ratio_wall:.2f} (wall)",
            ratio_cpu < TARGETS["ratio"],
            "< 1.5",
        ),
    ]
    for text, ok, target in checks:
        print(f"{'PASS' if ok else 'MISS'}  {text}  (target {target})")
    print(f"load average during the run: {figures['load_average']:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
