"""Lab timings: image build cold and cached, `up` to all hosts running, `up` again (no-op), `down`.

    .venv/bin/python bench/lab_bench.py [--profile default] [--cold] [--json out/bench/lab.json]

`--cold` also builds the images from nothing in a throw-away cache directory (about 1.5 min; the
main cache is left alone). The up/down figures use the main cache ($JAMAA_CACHE or /var/cache/jamaa).
Refuses to run while a lab is up (it would take it down under someone's feet); to measure beside a
running lab, use another cache and environments directory:
`JAMAA_CACHE=/var/tmp/jamaa-bench python bench/lab_bench.py --environments /tmp/env-copy`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from jamaa.lab.image import ImageBuilder
from jamaa.lab.lab import Lab, lab_dir
from jamaa.lab.profile import load_named_profile
from jamaa.lab.state import load_state
from jamaa.lab.system import cache_dir
from jamaa.paths import REPO

T = TypeVar("T")


def timed(label: str, results: dict[str, float], func: Callable[[], T]) -> T:
    started = time.monotonic()
    value = func()
    results[label] = round(time.monotonic() - started, 2)
    print(f"{label:<28} {results[label]:8.2f} s", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="default")
    parser.add_argument("--cold", action="store_true", help="also time a cold image build")
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "lab.json")
    parser.add_argument(
        "--environments", type=Path, default=REPO / "environments", help="lab/generated/ gets the inventory"
    )
    args = parser.parse_args()
    if load_state(lab_dir()) is not None:
        print("a lab is up (jamaa lab status); take it down first", file=sys.stderr)
        return 2
    environments = args.environments
    profile = load_named_profile(environments, args.profile)
    results: dict[str, float] = {}
    if args.cold:
        scratch = Path(tempfile.mkdtemp(prefix="jamaa-bench-", dir="/var/tmp"))
        try:
            timed("image build (cold)", results, lambda: ImageBuilder(profile, scratch).ensure())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    ImageBuilder(profile, cache_dir()).ensure()  # so the next figure is the cached one
    timed("image build (cached)", results, lambda: ImageBuilder(profile, cache_dir()).ensure())
    lab = Lab(environments)
    try:
        up = timed("up (to all hosts running)", results, lambda: lab.up(args.profile))
        for host, seconds in up.host_seconds.items():
            results[f"  {host} running after"] = round(seconds, 2)
            print(f"  {host:<26} {seconds:8.2f} s")
        timed("up again (no-op)", results, lambda: lab.up(args.profile))
    finally:
        timed("down", results, lab.down)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    record = {"profile": args.profile, "suite": profile.suite, "cpus": os.cpu_count(), "seconds": results}
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
