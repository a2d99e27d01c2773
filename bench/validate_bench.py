"""`jamaa validate environments` wall time (target: under 3 s) and the time of each class of refusal
(target: under 5 s each), every figure from the real command in a subprocess, as a user runs it.

    .venv/bin/python bench/validate_bench.py [--repeat 5] [--json out/bench/validate.json]

Each refusal case damages a fresh copy of environments/ one way; the bench checks the command exits 2
with one line and no traceback, so a figure is only printed for a real refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jamaa.paths import REPO

JAMAA = [sys.executable, "-m", "jamaa.cli", "validate"]
TIMEOUT = 60


def _edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise SystemExit(f"bench: {relative}: {old!r} not found (the case needs updating)")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _write(root: Path, relative: str, text: str) -> None:
    (root / relative).write_text(text, encoding="utf-8")


def _fifo(root: Path, relative: str) -> None:
    (root / relative).unlink()
    os.mkfifo(root / relative)


def _symlink_out(root: Path) -> None:
    outside = root.parent / "elsewhere.yaml"
    (root / "regions" / "ma-03.yaml").rename(outside)
    (root / "regions" / "ma-03.yaml").symlink_to(outside)


def _not_utf8(root: Path) -> None:
    path = root / "catalog" / "communes.csv"
    path.write_bytes(path.read_bytes().replace(b"Amskroud", b"Amskroud\xe9", 1))


LAUGHS = 'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
)

CASES: dict[str, Callable[[Path], None]] = {
    "region network outside the supernet": lambda r: _edit(
        r, "regions/ma-08.yaml", "cost_centre:", "cidr: 10.200.0.0/16\ncost_centre:"
    ),
    "public supernet": lambda r: _edit(
        r, "national.yaml", "supernet: 10.64.0.0/12", "supernet: 11.64.0.0/12"
    ),
    "office gateway 0.0.0.0": lambda r: _edit(r, "regions/ma-07.yaml", "203.0.113.7", "0.0.0.0"),
    "sovereign id named aws": lambda r: _edit(r, "national.yaml", "id: ma-sovereign-rabat", "id: aws"),
    "retention table missing a class": lambda r: _edit(r, "prod/environment.yaml", "  public: 35\n", ""),
    "waiver with a blank owner": lambda r: _edit(
        r, "lab/waivers.yaml", 'owner: "Équipe Jamaa (DGCT), laboratoire"', 'owner: "  "'
    ),
    "waiver longer than allowed": lambda r: _edit(
        r, "lab/waivers.yaml", "expires: 2027-06-30", "expires: 2036-01-01"
    ),
    "waivers outside an environment": lambda r: _write(r, "regions/waivers.yaml", "waivers: []\n"),
    "symlink out of the tree": _symlink_out,
    "catalogue formula cell": lambda r: _edit(r, "catalog/communes.csv", ",Agadir,", ",=HYPERLINK(1),"),
    "catalogue unknown region": lambda r: _edit(r, "catalog/communes.csv", ",MA-09\n", ",MA-13\n"),
    "catalogue NUL byte": lambda r: _edit(r, "catalog/communes.csv", ",Amskroud,", ",Ams\x00kroud,"),
    "catalogue not UTF-8": _not_utf8,
    "catalogue field over the csv limit": lambda r: _edit(
        r, "catalog/communes.csv", ",Amskroud,", f',"{"x" * 200_000}",'
    ),
    "YAML list key": lambda r: _write(r, "regions/ma-04.yaml", "? [a, b]\n: value\n"),
    "YAML nested 5000 levels": lambda r: _write(r, "regions/ma-04.yaml", "code: " + "[" * 5000 + "]" * 5000),
    "billion laughs": lambda r: _write(r, "national.yaml", LAUGHS),
    "file over the size limit": lambda r: _write(r, "national.yaml", "# " + "x" * (2 << 20) + "\n"),
    "FIFO": lambda r: _fifo(r, "staging/environment.yaml"),
    "expired CNDP authorisation": lambda r: _edit(
        r, "national.yaml", "expires: 2028-12-31", "expires: 2020-01-31"
    ),
}


def run(root: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time (user + system of the command) and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([*JAMAA, str(root)], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    figures: dict[str, object] = {}
    times, cpus = [], []
    for _ in range(args.repeat):
        seconds, cpu, proc = run(REPO / "environments")
        if proc.returncode != 0:
            raise SystemExit(f"bench: jamaa validate environments failed:\n{proc.stderr}")
        times.append(seconds)
        cpus.append(cpu)
    load = os.getloadavg()[0]
    figures["validate"] = {
        "median_s": statistics.median(times),
        "max_s": max(times),
        "median_cpu_s": statistics.median(cpus),
        "runs": len(times),
        "load_average_1min": load,
    }
    print(
        f"jamaa validate environments: median {statistics.median(times):.2f} s wall, max {max(times):.2f} s, "
        f"median {statistics.median(cpus):.2f} s CPU ({len(times)} runs, load {load:.1f}; target < 3 s)"
    )

    refusals: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, damage in CASES.items():
            root = Path(tmp) / name.replace(" ", "-") / "environments"
            shutil.copytree(REPO / "environments", root, ignore=shutil.ignore_patterns("generated"))
            damage(root)
            seconds, cpu, proc = run(root)
            lines = proc.stderr.splitlines()
            if proc.returncode != 2 or len(lines) != 1 or "Traceback" in proc.stderr:
                raise SystemExit(
                    f"bench: {name}: expected exit 2 and one line, got {proc.returncode}:\n{proc.stderr}"
                )
            refusals[name] = seconds
            print(
                f"  {seconds:5.2f} s ({cpu:4.2f} s CPU)  {name}: "
                f"{lines[0][len(str(root.parent)) + 1 :][:100]}"
            )
    figures["refusals_s"] = refusals
    print(f"refusals: slowest {max(refusals.values()):.2f} s of {len(refusals)} cases (target < 5 s each)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
