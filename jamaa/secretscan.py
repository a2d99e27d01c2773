"""Secret scanning of the repository with detect-secrets, against the audited `.secrets.baseline`.

    python -m jamaa.secretscan [--repo DIR] [--baseline FILE] [FILE ...]

Scans every file git would commit: tracked files and untracked files that are not ignored (so a key
dropped anywhere outside the ignored secret paths is caught before `git add`). A finding that is not in
the baseline is printed as `FILE:LINE: TYPE` and the scan exits 1. Unlike detect-secrets' pre-commit
hook, it never rewrites the baseline (line numbers there are informational). The pre-commit
configuration (.pre-commit-config.yaml) runs the upstream hook on staged files.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from detect_secrets.core import baseline as ds_baseline
from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import transient_settings

BASELINE = ".secrets.baseline"


def files_to_scan(repo: Path) -> list[str]:
    """Tracked files plus untracked, not-ignored ones (what `git add -A` would take), repo-relative."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    )
    names = sorted({name for name in proc.stdout.decode().split("\0") if name})
    return [name for name in names if (repo / name).is_file() and not (repo / name).is_symlink()]


def _scan_chunk(args: tuple[dict[str, Any], list[str]]) -> list[tuple[str, int, str, str]]:
    config, names = args
    found: list[tuple[str, int, str, str]] = []
    with transient_settings(config):
        collection = SecretsCollection()
        for name in names:
            collection.scan_file(name)
        for filename, secret in collection:
            found.append((filename, secret.line_number or 0, secret.type, secret.secret_hash))
    return found


def scan(repo: Path, baseline_file: Path, names: Iterable[str] | None = None) -> list[str]:
    """Findings not in the baseline, as `FILE:LINE: TYPE` lines (empty: clean)."""
    data = ds_baseline.load_from_file(str(baseline_file))
    config = {key: data[key] for key in ("plugins_used", "filters_used") if key in data}
    known = {
        (filename, item["type"], item["hashed_secret"])
        for filename, items in data.get("results", {}).items()
        for item in items
    }
    names = sorted(names if names is not None else files_to_scan(repo))
    names = [name for name in names if (repo / name).resolve() != baseline_file]
    cwd = os.getcwd()
    os.chdir(repo)  # detect-secrets reports (and the baseline records) repo-relative names
    try:
        workers = max(1, min(4, os.cpu_count() or 1))
        chunks = [names[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = [item for part in pool.map(_scan_chunk, [(config, c) for c in chunks]) for item in part]
    finally:
        os.chdir(cwd)
    return sorted(
        f"{filename}:{line}: {kind} (not in {baseline_file.name}; remove it, or audit it into the baseline)"
        for filename, line, kind, hashed in results
        if (filename, kind, hashed) not in known
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scan the repository for secrets (detect-secrets).")
    parser.add_argument("--repo", type=Path, default=Path.cwd())
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("files", nargs="*", help="only these files (the pre-commit hook's staged files)")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    baseline_file = (args.baseline or repo / BASELINE).resolve()
    if not baseline_file.is_file():
        print(f"{baseline_file}: no secrets baseline", file=sys.stderr)
        return 2
    findings = scan(repo, baseline_file, args.files or None)
    for line in findings:
        print(line, file=sys.stderr)
    if findings:
        print(f"secret scan: {len(findings)} finding(s) not in the baseline", file=sys.stderr)
        return 1
    print(f"secret scan: nothing new beyond {baseline_file.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
