"""Side by side with dev-sec, in one run: two fresh VMs from one image, hardened by dev-sec and by Jamaa.

    .venv/bin/python bench/anchor_bench.py [--json out/bench/anchor.json] [--keep]

Brings up the `anchor` lab profile (environments/lab/profile.anchor.yaml: two Debian 13 VMs from the
same image, booted from the same commune-server cloud-init document), then, one run at a time and
alternating so background work on the VMs weighs on both alike:

  1. dev-sec's os_hardening + ssh_hardening (devsec.hardening 10.6.0, vendored in bench/vendor/ with
     its licence: the pinned `ansible` package does not ship dev-sec, and Galaxy is not reachable
     here) on anchor-devsec, through bench/anchor/devsec.yml;
  2. Jamaa's `playbooks/site.yml` on anchor-jamaa, with every role of a production commune server
     (the default lab's vm-01 gets the same in `make test`);
  3. the second run of each (it must report changed=0 to be a steady state; a run that changes
     something is reported as such, never hidden).

Then Lynis (Debian's package) and ssh-audit (the pinned one) score both hosts, as bench/scores_bench.py
does, and the table prints the times, the ratios Jamaa/dev-sec and issue 16's targets: first converge
≤ 0.5× dev-sec's, second run ≤ 0.2× dev-sec's. Both use the repository's ansible.cfg (pipelining, forks,
SSH multiplexing); Jamaa with its own strategy (Mitogen, plugins/strategy/mitogen_linear.py), dev-sec
with Ansible's own (linear): dev-sec ships no controller settings. So that the ratio's two parts can be
told apart (roles against controller), a third dev-sec run, still changed=0, repeats it under Mitogen.
`jamaa lab down` at the end unless --keep.

Needs: `make setup apt`, no other lab up in $JAMAA_CACHE. About 45 minutes on 2 cores (TCG), Lynis
included (2026-12-04).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scores_bench import lynis_tarball, print_lynis_items, run_lynis, run_ssh_audit

from jamaa.lab.generated import SSH_CONFIG
from jamaa.lab.lab import lab_dir
from jamaa.lab.state import LabState, load_state
from jamaa.paths import REPO
from jamaa.recap import play_recap

PROFILE = "anchor"
DEVSEC_HOST = "anchor-devsec"
JAMAA_HOST = "anchor-jamaa"
# dev-sec's collection as released: bench/vendor/README.md (its sha256 is a digest, not a secret)
DEVSEC_TARBALL = REPO / "bench" / "vendor" / "devsec-hardening-10.6.0.tar.gz"
DEVSEC_SHA256 = "1e733a766d6da02b11020e19708232aefafa2f1034daf1cae33b74e86b935ef0"  # pragma: allowlist secret
TARGET_FIRST = 0.5
TARGET_SECOND = 0.2


def jamaa_cli(*args: str) -> float:
    started = time.monotonic()
    proc = subprocess.run([str(REPO / ".venv/bin/jamaa"), *args], cwd=REPO, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"anchor_bench: `jamaa {' '.join(args)}` failed (exit {proc.returncode})")
    return time.monotonic() - started


def devsec_collections(workdir: Path) -> Path:
    """The vendored collection, checked against its pinned digest, unpacked under ansible_collections/."""
    digest = hashlib.sha256(DEVSEC_TARBALL.read_bytes()).hexdigest()
    if digest != DEVSEC_SHA256:
        raise SystemExit(f"anchor_bench: {DEVSEC_TARBALL}: sha256 {digest}, expected {DEVSEC_SHA256}")
    target = workdir / "ansible_collections"
    with tarfile.open(DEVSEC_TARBALL) as tar:
        tar.extractall(target, filter="data")
    return workdir


def converge(name: str, command: list[str], host: str, env: dict[str, str], log: Path) -> dict[str, Any]:
    """One timed ansible-playbook run on one host; its recap, refused when the run failed."""
    print(f"-- {name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    log.write_text(output)
    recap = play_recap(output).get(host)
    if recap is None or recap["failed"] or recap["unreachable"] or proc.returncode != 0:
        raise SystemExit(
            f"anchor_bench: {name} failed on {host} (exit {proc.returncode}; log {log}):\n{output[-3000:]}"
        )
    print(
        f"   {seconds:.0f} s  ok={recap['ok']} changed={recap['changed']} skipped={recap['skipped']}",
        flush=True,
    )
    return {"seconds": round(seconds, 1), **recap}


def scores(state: LabState, host: str, tarball: bytes) -> dict[str, Any]:
    config = Path(state.generated) / SSH_CONFIG
    return {
        "lynis": run_lynis(config, host, tarball),
        "ssh_audit": run_ssh_audit(state.hosts[host].ssh_port or 22),
    }


def ratio(jamaa: float, devsec: float) -> float:
    """Three decimals: with two, 0.5046 printed and compared as 0.5 and passed a 0.5 target."""
    return round(jamaa / devsec, 3) if devsec else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "anchor.json")
    parser.add_argument("--keep", action="store_true", help="leave the anchor lab up afterwards")
    args = parser.parse_args()

    state = load_state(lab_dir())
    if state is not None and state.profile != PROFILE:
        raise SystemExit(f"anchor_bench: a `{state.profile}` lab is up in {lab_dir()}: `jamaa lab down`")
    fresh = state is None
    boot = jamaa_cli("lab", "up", "--profile", PROFILE) if fresh else None
    state = load_state(lab_dir())
    if state is None or not state.ready:
        raise SystemExit("anchor_bench: the anchor lab did not come up")
    if not fresh:
        print("anchor_bench: the anchor lab was already up: first-converge figures need fresh VMs")
    logs = REPO / "out" / "bench" / "anchor-logs"
    logs.mkdir(parents=True, exist_ok=True)
    playbook = [str(REPO / ".venv/bin/ansible-playbook"), "-i", "environments/lab"]
    base_env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    runs: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="anchor-devsec-") as tmp:
            # dev-sec's collection first on the path; the repository's own (jamaa.commune) after it
            devsec_env = {
                **base_env,
                "ANSIBLE_COLLECTIONS_PATH": f"{devsec_collections(Path(tmp))}:{REPO / 'collections'}",
                "ANSIBLE_STRATEGY": "linear",
            }
            devsec_cmd = [*playbook, "bench/anchor/devsec.yml", "-e", f"anchor_devsec_host={DEVSEC_HOST}"]
            jamaa_cmd = [*playbook, "playbooks/site.yml", "-l", JAMAA_HOST]
            for run in ("first", "second"):
                runs[f"devsec_{run}"] = converge(
                    f"dev-sec {run} run", devsec_cmd, DEVSEC_HOST, devsec_env, logs / f"devsec-{run}.log"
                )
                runs[f"jamaa_{run}"] = converge(
                    f"Jamaa {run} run", jamaa_cmd, JAMAA_HOST, base_env, logs / f"jamaa-{run}.log"
                )
            runs["devsec_second_mitogen"] = converge(
                "dev-sec second run under Mitogen",
                devsec_cmd,
                DEVSEC_HOST,
                {**devsec_env, "ANSIBLE_STRATEGY": "mitogen_linear"},
                logs / "devsec-second-mitogen.log",
            )
        tarball = lynis_tarball()
        print("-- Lynis and ssh-audit on both hosts", flush=True)
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {host: pool.submit(scores, state, host, tarball) for host in (DEVSEC_HOST, JAMAA_HOST)}
            results = {host: future.result() for host, future in futures.items()}
    finally:
        if not args.keep:
            jamaa_cli("lab", "down")

    first = ratio(runs["jamaa_first"]["seconds"], runs["devsec_first"]["seconds"])
    second = ratio(runs["jamaa_second"]["seconds"], runs["devsec_second"]["seconds"])
    second_same_strategy = ratio(runs["jamaa_second"]["seconds"], runs["devsec_second_mitogen"]["seconds"])
    report = {
        "vm_boot_seconds": round(boot, 1) if boot is not None else None,
        "runs": runs,
        "scores": results,
        "strategies": {"devsec": "linear", "jamaa": "mitogen_linear"},
        "ratios": {"first": first, "second": second, "second_both_mitogen": second_same_strategy},
        "targets": {"first": TARGET_FIRST, "second": TARGET_SECOND},
    }
    print(f"\nlab up (two VMs booted from the commune-server document): {report['vm_boot_seconds']} s")
    print(f"{'':<22}{'dev-sec':>12}{'Jamaa':>12}{'ratio':>8}  target (dev-sec linear, Jamaa Mitogen)")
    for run, target, value in (("first", TARGET_FIRST, first), ("second", TARGET_SECOND, second)):
        d, j = runs[f"devsec_{run}"], runs[f"jamaa_{run}"]
        verdict = "met" if value <= target else "MISSED"
        times = f"{d['seconds']:>12}{j['seconds']:>12}"
        print(f"{run + ' run (s)':<22}{times}{value:>8.3f}  ≤ {target} {verdict}")
        print(f"{'  tasks ok / changed':<22}{d['ok']:>7} / {d['changed']:<3}{j['ok']:>7} / {j['changed']:<3}")
    m = runs["devsec_second_mitogen"]
    print(
        f"{'second, both Mitogen':<22}{m['seconds']:>12}{runs['jamaa_second']['seconds']:>12}"
        f"{second_same_strategy:>8.3f}  (the roles' share; dev-sec ok / changed {m['ok']} / {m['changed']})"
    )
    for host in (DEVSEC_HOST, JAMAA_HOST):
        lynis, audit = results[host]["lynis"], results[host]["ssh_audit"]
        print(
            f"{host}: Lynis {lynis['hardening_index']} ({len(lynis['warnings'])} warning(s), "
            f"{len(lynis['suggestions'])} suggestion(s)); ssh-audit {len(audit['failures'])} failure(s), "
            f"{len(audit['warnings'])} warning(s), post-quantum KEX {audit['post_quantum_kex'] or 'none'}"
        )
        print_lynis_items(lynis)
        for line in audit["failures"] + audit["warnings"]:
            print(f"    ssh-audit  {line}")
    if any(runs[run]["changed"] for run in ("devsec_second", "devsec_second_mitogen", "jamaa_second")):
        print("NOTE: a second run changed something: not a steady state (logs: out/bench/anchor-logs)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
