"""Virtualenv size and install time of each dependency set (runtime, lab, dev), measured on a scratch
virtualenv built from a checkout, the way `make setup` builds `.venv`:

    .venv/bin/python bench/setup_bench.py [--source DIR] [--extras '' lab dev] [--json out/bench/setup.json]

For each extras set: `python -m venv`, then `pip install -c constraints.txt -e '.[extras]'` (the pip
cache is used as `make setup` uses it), timed (wall and children's CPU time); then the virtualenv's
size on disk and its number of installed distributions. `--source` measures another checkout (e.g. a
`git worktree` of an older commit) to compare before and after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jamaa.paths import REPO


def _size_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total / 1e6


def measure(source: Path, extras: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="jamaa-setup-bench-") as tmp:
        venv = Path(tmp) / "venv"
        target = f".[{extras}]" if extras else "."
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                "constraints.txt",
                "-e",
                target,
            ],
            cwd=source,
            check=True,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        listed = subprocess.run(
            [str(venv / "bin" / "pip"), "list", "--format=json", "--disable-pip-version-check"],
            check=True,
            capture_output=True,
            text=True,
        )
        return {
            "extras": extras or "(runtime)",
            "install_s": round(wall, 1),
            "cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 1),
            "size_mb": round(_size_mb(venv), 1),
            "distributions": len(json.loads(listed.stdout)),
            "load_avg": round(os.getloadavg()[0], 2),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO)
    parser.add_argument("--extras", nargs="*", default=["", "lab", "dev"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [measure(args.source.resolve(), extras) for extras in args.extras]
    print(f"{'extras':<12} {'install s':>10} {'cpu s':>8} {'size MB':>9} {'dists':>6} {'load':>6}")
    for row in results:
        print(
            f"{row['extras']!s:<12} {row['install_s']:>10} {row['cpu_s']:>8} {row['size_mb']:>9} "
            f"{row['distributions']:>6} {row['load_avg']:>6}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"source": str(args.source), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
