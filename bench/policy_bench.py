"""Policy evaluation time over all 12 prod stacks' resources (target: under 5 s in total).

Plans every ma-NN-prod stack offline (not timed here: see the plan benchmark), then times the pack's
evaluation over each plan, best of `--repeat` runs, and prints per-stack and total figures.

    .venv/bin/python bench/policy_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from jamaa.plan import run_program
from jamaa.policy import evaluate, load_pack

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    pack = load_pack()
    load_time = time.perf_counter() - started
    stacks = [f"ma-{n:02d}-prod" for n in range(1, 13)]
    plans = {}
    plan_started = time.perf_counter()
    for stack in stacks:
        plans[stack] = run_program(REPO, stack)
    plan_time = time.perf_counter() - plan_started

    print(f"pack: {len(pack.policies)} policies, loaded in {load_time:.2f} s")
    print(f"plans: {len(stacks)} prod stacks planned in {plan_time:.1f} s (not part of the figure below)")
    header = ("stack", "resources", "evaluations", "violations", "unknown", "best (ms)")
    print(f"{header[0]:<12} " + " ".join(f"{h:>11}" for h in header[1:]))
    total_best = 0.0
    total_resources = 0
    for stack in stacks:
        resources = plans[stack].resources
        timings = []
        report = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = evaluate(resources, pack, stack=stack)
            timings.append(time.perf_counter() - t0)
        assert report is not None
        best = min(timings)
        total_best += best
        total_resources += len(resources)
        print(
            f"{stack:<12} {len(resources):>11} {report.evaluations:>11} {len(report.violations):>11} "
            f"{len(report.unknowns):>11} {best * 1000:>11.1f}"
        )
    verdict = "within" if total_best < 5 else "OVER"
    print(
        f"total: {total_resources} resources, evaluation {total_best:.3f} s over all 12 prod stacks "
        f"({verdict} the 5 s target; {total_best / total_resources * 1e6:.0f} µs per resource)"
    )


if __name__ == "__main__":
    main()
