"""The offline check on real programs: every public pulumi-aws Python example (pulumi/examples,
aws-py-*) through `jamaa policy check --program DIR --format json`, as a pipeline would run it.

    .venv/bin/python bench/examples_bench.py PATH/TO/pulumi-examples [--jobs 2] [--json FILE]

Each example lands in one class: *ran* (planned and checked: exit 0 or 1 with a JSON report),
*refused* (exit 2 with a one-line reason: a package it needs is not installed, a required config
value is missing, …) or *crashed* (a traceback, another exit code, or no answer within the time
limit). The target: none crashes. Nothing is copied from the examples into this repository.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jamaa.results import Status

TIMEOUT_S = 300


def examples(root: Path) -> list[Path]:
    """Every Pulumi project of an aws-py-* example (some hold several, one directory down)."""
    files = [*root.glob("aws-py-*/Pulumi.yaml"), *root.glob("aws-py-*/*/Pulumi.yaml")]
    return sorted(p.parent for p in files)


def check(example: Path) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        command = ["policy", "check", "--program", str(example), "--format", "json"]
        proc = subprocess.run(
            [sys.executable, "-m", "jamaa.cli", *command],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"example": example.name, "class": "crashed", "reason": f"no answer in {TIMEOUT_S} s"}
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"example": example.name, "exit": proc.returncode, "seconds": round(elapsed, 1)}
    if "Traceback (most recent call last)" in proc.stderr:
        last = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1]
        return {**result, "class": "crashed", "reason": last}
    if proc.returncode in (0, 1):
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return {**result, "class": "crashed", "reason": "exit 0/1 without a JSON report"}
        summary = report["summary"]
        return {
            **result,
            "class": "ran",
            "resources": summary["resources"],
            "violations": summary["violations"],
            "mandatory": summary["mandatory_violations"],
            "unknown": summary["cannot_evaluate_offline"],
            "failed_policies": sorted(
                {v["policy"] for v in report["violations"] if v["status"] == Status.FAIL}
            ),
        }
    if proc.returncode == 2:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return {**result, "class": "refused", "reason": lines[0] if lines else "(no message)"}
    return {**result, "class": "crashed", "reason": f"exit code {proc.returncode}"}


def name_of(example: Path, root: Path) -> str:
    return str(example.relative_to(root))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", type=Path, help="a checkout of github.com/pulumi/examples")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    found = examples(args.examples)
    if not found:
        print(f"{args.examples}: no aws-py-* example with a Pulumi.yaml", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(check, found))
    for result, example in zip(results, found, strict=True):
        result["example"] = name_of(example, args.examples)
    wall = time.perf_counter() - started
    width = max(len(r["example"]) for r in results)
    for r in results:
        if r["class"] == "ran":
            detail = (
                f"{r['resources']:3d} resources, {r['violations']:2d} violations "
                f"({r['mandatory']} mandatory), {r['unknown']} cannot evaluate"
            )
        else:
            detail = r["reason"]
        print(f"{r['example']:<{width}}  {r['class']:<8} {detail}")
    counts = Counter(r["class"] for r in results)
    print(
        f"\n{len(results)} examples in {wall:.0f} s: {counts['ran']} ran offline, "
        f"{counts['refused']} refused with a reason, {counts['crashed']} crashed (target: 0 crashed)"
    )
    reasons = Counter(r["reason"].split(":")[-1].strip()[:90] for r in results if r["class"] == "refused")
    for reason, number in reasons.most_common():
        print(f"  refused {number}x: {reason}")
    if args.json:
        args.json.write_text(json.dumps({"wall_s": wall, "results": results}, indent=2) + "\n")
    return 0 if counts["crashed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
