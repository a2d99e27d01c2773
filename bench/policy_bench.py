"""Policy check benchmark: the whole estate end to end, against Pulumi's SDK floor, and the pack's
evaluation time per stack.

    .venv/bin/python bench/policy_bench.py [--repeat 3] [--skip-estate] [--json FILE]

1. Whole estate: `jamaa policy check --all --strict --format json` as a pipeline runs it (a fresh
   Python, the pack loaded once, every stack planned in one worker process, the pack evaluated once
   per stack). Target: under 60 s for all stacks together.
2. Floor: the same resources (same pulumi-aws classes, names and inputs, taken from the plans)
   registered under Pulumi's plain mocks (`pulumi.runtime.set_mocks`, `@pulumi.runtime.test`) in one
   fresh process: what starting Python, importing pulumi-aws and registering that many resources
   costs at least. The difference, per stack, is Jamaa's overhead (its program, the recording, the
   worker, the rules).
3. Evaluation only: the pack over each stack's plan, best of `--repeat` (target: under 5 s for all).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jamaa.paths import REPO
from jamaa.plan import known_stacks
from jamaa.plan.worker import plan_stacks
from jamaa.policy import evaluate, load_pack

ESTATE_TARGET_S = 60.0
EVALUATION_TARGET_S = 5.0

FLOOR = r"""
import importlib, json, re, sys, time
started = time.perf_counter()
import pulumi
import pulumi_aws


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return args.name + "_id", args.inputs

    def call(self, args):
        return {}


pulumi.runtime.set_mocks(Mocks(), preview=True)


def snake(value):
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


stacks = json.load(open(sys.argv[1]))
registered = skipped = 0


@pulumi.runtime.test
def register_all():
    global registered, skipped
    for resources in stacks:
        for item in resources:
            package, module, name = item["type"].split(":")
            inputs = dict(item["inputs"])
            try:
                if item["type"] == "pulumi:providers:aws":
                    pulumi_aws.Provider(item["name"] + str(registered), region=inputs.get("region"))
                elif package == "aws":
                    cls = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
                    tags = inputs.pop("tags", None)
                    extra = {"tags": tags} if tags is not None else {}
                    cls(item["name"] + str(registered), **snake(inputs), **extra)
                else:
                    pulumi.ComponentResource(item["type"], item["name"] + str(registered))
                registered += 1
            except Exception:
                skipped += 1


register_all()
print(json.dumps({"seconds": time.perf_counter() - started, "registered": registered, "skipped": skipped}))
"""


def estate() -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "policy", "check", "--all", "--strict", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    document = json.loads(proc.stdout)
    return {
        "wall_s": wall,
        "exit_code": proc.returncode,
        "stacks": len(document["stacks"]),
        "resources": sum(s["summary"]["resources"] for s in document["stacks"]),
        "passed": document["passed"],
    }


def floor(plans: list[list[dict[str, Any]]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "resources.json"
        data.write_text(json.dumps(plans))
        script = Path(scratch) / "floor.py"
        script.write_text(FLOOR)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script), str(data)], capture_output=True, text=True, check=True, cwd=scratch
        )
        wall = time.perf_counter() - started
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["wall_s"] = wall
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-estate", action="store_true", help="only the evaluation figures")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {"load_average": os.getloadavg()[0], "cpus": os.cpu_count()}

    stacks = known_stacks(REPO)
    plan_started = time.perf_counter()
    plans = {o.stack: o.unwrap() for o in plan_stacks(REPO, stacks)}
    figures["plan_all_one_worker_s"] = time.perf_counter() - plan_started

    if not args.skip_estate:
        whole = estate()
        figures["estate"] = whole
        bare = floor(
            [
                [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in p.resources]
                for p in plans.values()
            ]
        )
        figures["floor"] = bare
        overhead = (whole["wall_s"] - bare["wall_s"]) / max(whole["stacks"], 1)
        figures["overhead_per_stack_s"] = overhead
        verdict = "PASS" if whole["wall_s"] < ESTATE_TARGET_S else "MISS"
        print(
            f"{verdict}  whole estate: `jamaa policy check --all --strict`: {whole['stacks']} stacks, "
            f"{whole['resources']} resources in {whole['wall_s']:.1f} s (exit {whole['exit_code']}; "
            f"target < {ESTATE_TARGET_S:.0f} s)"
        )
        print(
            f"      floor: the same resources under Pulumi's plain mocks, one process: "
            f"{bare['wall_s']:.1f} s ({bare['registered']} registered, {bare['skipped']} not constructible "
            "from their recorded inputs)"
        )
        print(f"      overhead against the floor: {overhead:.2f} s per stack")
    print(f"plans: {len(plans)} stacks planned in one worker in {figures['plan_all_one_worker_s']:.1f} s")

    pack = load_pack()
    header = ("stack", "resources", "evaluations", "violations", "unknown", "best (ms)")
    print(f"{header[0]:<14} " + " ".join(f"{h:>11}" for h in header[1:]))
    total_best, total_resources, rows = 0.0, 0, {}
    for stack, plan in plans.items():
        timings, report = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = evaluate(plan.resources, pack, stack=stack, strict=True)
            timings.append(time.perf_counter() - t0)
        assert report is not None
        best = min(timings)
        total_best += best
        total_resources += len(plan.resources)
        rows[stack] = {"resources": len(plan.resources), "best_ms": best * 1000}
        print(
            f"{stack:<14} {len(plan.resources):>11} {report.evaluations:>11} {len(report.violations):>11} "
            f"{len(report.unknowns):>11} {best * 1000:>11.1f}"
        )
    figures["evaluation"] = {"per_stack": rows, "total_s": total_best, "policies": len(pack.policies)}
    verdict = "PASS" if total_best < EVALUATION_TARGET_S else "MISS"
    print(
        f"{verdict}  evaluation: {len(pack.policies)} policies over {total_resources} resources "
        f"of {len(plans)} stacks in {total_best:.2f} s "
        f"({total_best / total_resources * 1e6:.0f} µs per resource; target < {EVALUATION_TARGET_S:.0f} s)"
    )
    print(f"load average during the run: {figures['load_average']:.1f} on {figures['cpus']} CPUs")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
