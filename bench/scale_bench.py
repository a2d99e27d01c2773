"""Fleet scale benchmark: converge and verification time as the lab grows, the projection to 1,500
communes, and the offline plan + policy check of every stack in parallel.

    .venv/bin/python bench/scale_bench.py [--sizes 1,5,10,20] [--max-hosts N] [--forks 20]
                                          [--skip-lab] [--skip-plan] [--workers 2] [--json FILE]

Everything goes through the project's public commands, as an operator would run them:
  plan + policy   `jamaa plan STACK --json` and `jamaa policy check STACK --format json` for all stacks,
                  `--workers` at a time (what the CI matrix does on one runner)
  lab             `jamaa lab up --profile scale-N` (N commune-server containers and the attacker, in a
                  throw-away copy of environments/), `ansible-playbook playbooks/site.yml` twice (the
                  first converge of fresh hosts, then the steady-state re-run), `jamaa verify --env lab`,
                  `jamaa lab down`
`--max-hosts N` also boots N containers (no converge) to show the machine holds them and to measure
their memory; capacity is then estimated from the converged hosts' memory.
It refuses to run while a lab is up (it would take it down under someone's feet). Not part of
`make test`; it prints its figures and writes them to --json (default out/bench/scale.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from jamaa.lab.system import ensure_inotify_instances
from jamaa.paths import REPO
from jamaa.recap import play_recap

BIN = REPO / ".venv" / "bin"
FLEET = 1500  # communes: one server each is the upper bound (most share a regional pool)
LAB_REGION = "MA-07"


def jamaa(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> tuple[int, str]:
    cmd = [str(BIN / "jamaa"), *args]
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    output = proc.stdout + proc.stderr
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
    return proc.returncode, output


def mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/meminfo: no MemAvailable")


def cpu_seconds_total() -> float:
    """All CPUs' busy time (user+nice+system+irq+softirq+steal) since boot, in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# --- plan + policy of every stack ----------------------------------------------------------------


def plan_and_policy(stack: str, out: Path) -> dict[str, Any]:
    started = time.monotonic()
    code_plan, output = jamaa("plan", stack, "--quiet", "--json", str(out / f"{stack}.plan.json"))
    planned = time.monotonic()
    code_policy, policy_out = jamaa(
        "policy", "check", stack, "--format", "json", "--output", str(out / f"{stack}.policy.json")
    )
    done = time.monotonic()
    resources = None
    match = re.search(r"(\d+) resources planned", output)
    if match:
        resources = int(match.group(1))
    return {
        "stack": stack,
        "plan_s": round(planned - started, 2),
        "policy_s": round(done - planned, 2),
        "plan_exit": code_plan,
        "policy_exit": code_policy,
        "resources": resources,
        "problem": "" if code_plan == 0 and code_policy in (0, 1) else (output + policy_out)[-400:],
    }


def bench_plans(workers: int, out: Path) -> dict[str, Any]:
    from jamaa.config import load_environments

    stacks = load_environments(REPO / "environments").stack_names()
    out.mkdir(parents=True, exist_ok=True)
    print(f"\n== offline plan + policy check: {len(stacks)} stacks, {workers} at a time ==", flush=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(lambda s: plan_and_policy(s, out), stacks))
    wall = time.monotonic() - started
    for row in rows:
        flag = "" if not row["problem"] else "  PROBLEM"
        print(
            f"  {row['stack']:<14} {row['resources'] or '?':>4} resources  plan {row['plan_s']:6.1f} s"
            f"  policy {row['policy_s']:6.1f} s  (exit {row['policy_exit']}){flag}",
            flush=True,
        )
    serial = sum(r["plan_s"] + r["policy_s"] for r in rows)
    print(
        f"  wall {wall:.1f} s for {len(stacks)} stacks ({workers} workers; serial sum {serial:.1f} s; "
        f"largest {max((r['resources'] or 0) for r in rows)} resources)",
        flush=True,
    )
    return {
        "stacks": len(stacks),
        "workers": workers,
        "wall_s": round(wall, 1),
        "serial_s": round(serial, 1),
        "rows": rows,
    }


# --- the lab at growing sizes ------------------------------------------------------------------------


def lab_is_up() -> bool:
    code, output = jamaa("lab", "status")
    return not (code == 0 and "The lab is down." in output)


def lan_addresses(count: int, reserved: set[str]) -> list[str]:
    addresses = []
    for last in range(11, 255):
        address = f"192.168.77.{last}"
        if address not in reserved:
            addresses.append(address)
        if len(addresses) == count:
            return addresses
    raise SystemExit(f"--max-hosts/--sizes: the lab LAN (/24) holds at most {len(addresses)} servers")


def write_profile(environments: Path, size: int) -> str:
    """profile.scale-N.yaml: N commune servers (containers, one commune each) and the attacker."""
    from jamaa.config import load_environments

    base = yaml.safe_load((REPO / "environments/lab/profile.containers.yaml").read_text(encoding="utf-8"))
    envs = load_environments(environments)
    communes = sorted(c.commune_id for c in envs.communes_in(LAB_REGION))
    attacker = next(h for h in base["hosts"] if h["role"] == "attacker")
    addresses = lan_addresses(size, {attacker["lan_ip"]})
    hosts = [
        {
            "name": f"srv-{i + 1:03d}",
            "kind": "container",
            "role": "commune_server",
            "lan_ip": addresses[i],
            "communes": [communes[i % len(communes)]],
        }
        for i in range(size)
    ]
    name = f"scale-{size}"
    profile = {**base, "name": name, "hosts": [*hosts, attacker]}
    path = environments / "lab" / f"profile.{name}.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return name


def converge(environments: Path, forks: int, log: Path) -> dict[str, Any]:
    """ansible-playbook site.yml on the lab's servers; wall, controller CPU, machine CPU, recap."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_cpu = cpu_seconds_total()
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(environments / "lab"),
            "-f",
            str(forks),
            "playbooks/site.yml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        check=False,
    )
    wall = time.monotonic() - started
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    recap = play_recap(proc.stdout)
    controller = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    return {
        "wall_s": round(wall, 1),
        "exit": proc.returncode,
        "controller_cpu_s": round(controller, 1),
        "machine_cpu_s": round(cpu_seconds_total() - before_cpu, 1),
        "hosts": len(recap),
        "changed": sum(r["changed"] for r in recap.values()),
        "failed_hosts": sorted(h for h, r in recap.items() if r["failed"] or r["unreachable"]),
        "log": str(log),
    }


def verify(environments: Path, out: Path, log: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    code, _ = jamaa("verify", "--env", "lab", "--environments", str(environments), "--out", str(out), log=log)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counts: dict[str, int] = {}
    results = out / "results.json"
    if results.is_file():
        data = json.loads(results.read_text())
        for item in data.get("results", []):
            status = str(item.get("status"))
            counts[status] = counts.get(status, 0) + 1
    return {
        "wall_s": round(wall, 1),
        "exit": code,
        "counts": counts,
        "controller_cpu_s": round(controller, 1),
        "log": str(log),
    }


def bench_size(environments: Path, size: int, forks: int, out: Path) -> dict[str, Any]:
    print(f"\n== lab with {size} commune server(s), forks {forks} ==", flush=True)
    name = write_profile(environments, size)
    mem_before = mem_available_mb()
    started = time.monotonic()
    code, output = jamaa(
        "lab", "up", "--profile", name, "--environments", str(environments), log=out / f"{name}/lab-up.log"
    )
    up_s = time.monotonic() - started
    row: dict[str, Any] = {"size": size, "up_s": round(up_s, 1), "up_exit": code}
    if code != 0:
        print(f"  lab up failed (exit {code}): {output.strip().splitlines()[-1:]}", flush=True)
        jamaa("lab", "down", "--environments", str(environments))
        return row
    mem_up = mem_available_mb()
    print(f"  up in {up_s:.1f} s; {(mem_before - mem_up) / size:.0f} MB per host booted", flush=True)
    try:
        first = converge(environments, forks, out / f"{name}/converge-1.log")
        print(
            f"  first converge  {first['wall_s']:7.1f} s  changed {first['changed']:5d}  controller CPU "
            f"{first['controller_cpu_s']:.0f} s  failed {first['failed_hosts'] or 'none'}",
            flush=True,
        )
        again = converge(environments, forks, out / f"{name}/converge-2.log")
        print(
            f"  re-converge     {again['wall_s']:7.1f} s  changed {again['changed']:5d}  controller CPU "
            f"{again['controller_cpu_s']:.0f} s  failed {again['failed_hosts'] or 'none'}",
            flush=True,
        )
        mem_converged = mem_available_mb()
        checked = verify(environments, out / f"{name}/verify", out / f"{name}/verify.log")
        print(f"  verification    {checked['wall_s']:7.1f} s  {checked['counts']}", flush=True)
        row.update(
            first=first,
            again=again,
            verify=checked,
            mem_per_host_mb=round((mem_before - mem_converged) / size, 1),
            mem_available_start_mb=round(mem_before),
        )
    finally:
        started = time.monotonic()
        jamaa("lab", "down", "--environments", str(environments), log=out / f"{name}/lab-down.log")
        row["down_s"] = round(time.monotonic() - started, 1)
    return row


def bench_size_standalone(environments: Path, size: int, forks: int, out: Path) -> dict[str, Any]:
    """The same measurements on standalone containers of the lab's image (the lab itself is busy)."""
    from standalone_fleet import Fleet

    from jamaa.config import load_environments
    from jamaa.lab.image import ImageBuilder, controller_key
    from jamaa.lab.profile import load_named_profile
    from jamaa.lab.system import cache_dir

    print(f"\n== {size} commune server(s) (standalone containers), forks {forks} ==", flush=True)
    images = ImageBuilder(load_named_profile(REPO / "environments", "containers"), cache_dir()).ensure()
    fleet = Fleet(images.base.rootfs, controller_key(cache_dir()))
    name = f"scale-{size}"
    mem_before = mem_available_mb()
    row: dict[str, Any] = {"size": size, "mode": "standalone"}
    try:
        row["up_s"] = round(fleet.up(size), 1)
        communes = sorted(c.commune_id for c in load_environments(environments).communes_in(LAB_REGION))
        fleet.write_inventory(environments / "lab" / "generated" / "inventory.ini", communes)
        mem_up = mem_available_mb()
        print(
            f"  up in {row['up_s']:.1f} s; {(mem_before - mem_up) / size:.0f} MB per host booted", flush=True
        )
        first = converge(environments, forks, out / f"{name}/converge-1.log")
        print(
            f"  first converge  {first['wall_s']:7.1f} s  changed {first['changed']:5d}  controller CPU "
            f"{first['controller_cpu_s']:.0f} s  failed {first['failed_hosts'] or 'none'}",
            flush=True,
        )
        again = converge(environments, forks, out / f"{name}/converge-2.log") if RECONVERGE else None
        if again is not None:
            print(
                f"  re-converge     {again['wall_s']:7.1f} s  changed {again['changed']:5d}  controller CPU "
                f"{again['controller_cpu_s']:.0f} s  failed {again['failed_hosts'] or 'none'}",
                flush=True,
            )
        pss = fleet.memory_mb()
        checked = verify(environments, out / f"{name}/verify", out / f"{name}/verify.log")
        print(f"  verification    {checked['wall_s']:7.1f} s  {checked['counts']}", flush=True)
        print(
            f"  memory (PSS) per converged host {sum(pss) / len(pss):.0f} MB (max {max(pss):.0f})", flush=True
        )
        row.update(
            first=first,
            **({"again": again} if again is not None else {}),
            verify=checked,
            mem_per_host_mb=round(sum(pss) / len(pss), 1),
            mem_available_start_mb=round(mem_before),
            load_average=os.getloadavg(),
        )
    finally:
        started = time.monotonic()
        fleet.down()
        row["down_s"] = round(time.monotonic() - started, 1)
    return row


def bench_capacity(environments: Path, count: int, out: Path) -> dict[str, Any]:
    print(f"\n== capacity: {count} containers booted at once ==", flush=True)
    name = write_profile(environments, count)
    mem_before = mem_available_mb()
    started = time.monotonic()
    code, _output = jamaa(
        "lab", "up", "--profile", name, "--environments", str(environments), log=out / f"{name}/lab-up.log"
    )
    up_s = time.monotonic() - started
    mem_up = mem_available_mb()
    _status_code, status = jamaa("lab", "status", "--environments", str(environments))
    running = status.count("running")
    jamaa("lab", "down", "--environments", str(environments), log=out / f"{name}/lab-down.log")
    print(
        f"  up exit {code} in {up_s:.1f} s, {running} running, "
        f"{(mem_before - mem_up) / max(count, 1):.0f} MB per booted host",
        flush=True,
    )
    return {
        "count": count,
        "up_exit": code,
        "up_s": round(up_s, 1),
        "running": running,
        "mem_per_booted_host_mb": round((mem_before - mem_up) / max(count, 1), 1),
    }


# --- projection ----------------------------------------------------------------------------------------


AWX_NODES, AWX_FORKS, AWX_CORES = 4, 50, 4  # playbooks/awx/configure.yml: 4 slices, 50 forks
PULL_WINDOW_S = 1800  # roles/ansible_pull: RandomizedDelaySec
RECONVERGE = True  # --no-reconverge: skip the steady-state re-run


def fleet_seconds(hosts: int, forks: int, cores: int, nodes: int, t_host: float, ctrl_cpu: float) -> float:
    """A run over `hosts` separate machines: ceil(hosts / (forks x nodes)) rounds, each as long as the
    slower of one host's own converge and the controller's CPU for `forks` hosts on `cores` cores."""
    rounds = math.ceil(hosts / (forks * nodes))
    return rounds * max(t_host, forks * ctrl_cpu / cores)


def project(rows: list[dict[str, Any]], forks: int) -> dict[str, Any]:
    """From the measured sizes to 1,500 communes.

    On this machine the hosts and the controller share the same cores, so wall time grows with the
    fleet even below `forks`. In production each commune server is its own machine: what stays on the
    controller is its CPU per host (measured: ansible-playbook / pytest and their ssh children, at the
    largest size), and what each host needs is its own time (measured at size 1). Three ways to run
    the fleet: one controller like this one (ansible.cfg's forks, this machine's cores); AWX with the
    job slicing of playbooks/awx/configure.yml; pull mode, where every host converges itself within the
    timer's window and no controller is involved.
    """

    def usable(row: dict[str, Any], phase: str) -> bool:
        if phase not in row:
            return False
        if phase == "verify":  # a failing control is a finding, not a failed measurement
            return bool(row[phase]["counts"])
        return row[phase]["exit"] == 0 and not row[phase]["failed_hosts"]

    cores = os.cpu_count() or 1
    result: dict[str, Any] = {
        "fleet": FLEET,
        "forks": forks,
        "controller_cores": cores,
        "awx": {"nodes": AWX_NODES, "forks": AWX_FORKS, "cores_per_node": AWX_CORES},
    }
    for phase in ("first", "again", "verify"):
        good = [r for r in rows if usable(r, phase)]
        if not good:
            continue
        one = min(good, key=lambda r: r["size"])
        big = max(good, key=lambda r: r["size"])
        t_host = one[phase]["wall_s"]
        ctrl = big[phase]["controller_cpu_s"] / big["size"]
        slope = (big[phase]["wall_s"] - t_host) / max(big["size"] - one["size"], 1)
        result[phase] = {
            "sizes": sorted(r["size"] for r in good),
            "host_s_at_1": t_host,
            "controller_cpu_per_host_s": round(ctrl, 2),
            "marginal_s_per_host_here": round(slope, 2),
            "fleet_s_one_controller": round(fleet_seconds(FLEET, forks, cores, 1, t_host, ctrl)),
            "fleet_s_awx": round(fleet_seconds(FLEET, AWX_FORKS, AWX_CORES, AWX_NODES, t_host, ctrl)),
            "fleet_s_pull_mode": round(PULL_WINDOW_S + t_host) if phase != "verify" else None,
            "fleet_s_same_machine_linear": round(t_host + slope * (FLEET - one["size"])),
        }
    return result


def fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def print_summary(report: dict[str, Any]) -> None:
    plans = report.get("plans")
    if plans:
        slowest = max(plans["rows"], key=lambda r: r["plan_s"] + r["policy_s"])
        print(
            f"\n== offline plan + policy check ==\n  {plans['stacks']} stacks in {plans['wall_s']:.0f} s wall"
            f" ({plans['workers']} at a time; serial sum {plans['serial_s']:.0f} s); slowest stack"
            f" {slowest['stack']} {slowest['plan_s'] + slowest['policy_s']:.0f} s (the CI matrix's wall time)"
        )
    rows = report.get("lab", [])
    if rows:
        print("\n== summary: converge and verification time by fleet size ==")
        print(
            f"  {'hosts':>5} {'up':>7} {'first converge':>15} {'re-converge':>12}"
            f" {'verify':>8} {'MB/host':>8}"
        )
        for r in rows:
            if "first" not in r:
                print(f"  {r['size']:>5} hosts did not come up")
                continue
            again = f"{r['again']['wall_s']:>11.1f}s" if "again" in r else f"{'-':>12}"
            print(
                f"  {r['size']:>5} {r['up_s']:>6.1f}s {r['first']['wall_s']:>14.1f}s {again} "
                f"{r['verify']['wall_s']:>7.1f}s {r['mem_per_host_mb']:>8.0f}"
            )
    projection = report.get("projection")
    if projection and "forks" in projection:
        awx = projection["awx"]
        print(
            f"\n== projection to {FLEET} communes (one server each) ==\n"
            f"  one controller: forks {projection['forks']}, {projection['controller_cores']} cores"
            f" | AWX: {awx['nodes']} execution nodes x {awx['forks']} forks,"
            f" {awx['cores_per_node']} cores each"
            f" | pull mode: every host itself, {PULL_WINDOW_S // 60} min timer window"
        )
        for phase, label in (
            ("first", "first converge"),
            ("again", "re-converge"),
            ("verify", "verification"),
        ):
            p = projection[phase]
            pull = fmt_duration(p["fleet_s_pull_mode"]) if p["fleet_s_pull_mode"] is not None else "-"
            print(
                f"  {label:<15} one controller {fmt_duration(p['fleet_s_one_controller']):>7}"
                f"  AWX {fmt_duration(p['fleet_s_awx']):>7}  pull {pull:>7}"
                f"  (host {p['host_s_at_1']:.0f} s, controller CPU {p['controller_cpu_per_host_s']} s/host;"
                f" all on this machine {fmt_duration(p['fleet_s_same_machine_linear'])})"
            )
    capacity = report.get("capacity")
    if capacity:
        print(f"\n== capacity == {capacity}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1,5,10,20", help="lab sizes to converge and verify, in this order"
    )
    parser.add_argument("--max-hosts", type=int, default=0, help="also boot this many containers at once")
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--no-reconverge", action="store_true", help="skip the steady-state re-run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="stacks planned at a time")
    parser.add_argument("--skip-lab", action="store_true")
    parser.add_argument("--skip-plan", action="store_true")
    parser.add_argument(
        "--merge", type=Path, action="append", default=[], help="add the lab rows of an earlier run's JSON"
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="own containers of the lab's image, for when the lab is busy",
    )
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "scale.json")
    args = parser.parse_args()
    try:
        sizes = list(dict.fromkeys(int(x) for x in args.sizes.split(",") if x.strip()))  # in the order given
    except ValueError:
        print(f"--sizes: {args.sizes!r}: expected comma-separated host counts", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 1:
        print(f"--sizes: {args.sizes!r}: host counts start at 1", file=sys.stderr)
        return 2
    out = args.json.parent / "scale"
    # a SIGTERM (or SIGINT, which background jobs ignore) still runs the `finally` that takes hosts down
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    global RECONVERGE
    RECONVERGE = not args.no_reconverge
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "mem_available_mb": round(mem_available_mb())}
    }

    if not args.skip_lab:
        if os.geteuid() != 0:
            print("scale_bench: the lab needs root", file=sys.stderr)
            return 2
        raised_from = ensure_inotify_instances(max(sizes))
        if raised_from is not None:
            print(f"fs.inotify.max_user_instances raised from {raised_from}", flush=True)
        if not args.standalone and lab_is_up():
            print(
                "scale_bench: a lab is up; refusing to take it down under someone's feet "
                "(`jamaa lab down` first, or --skip-lab)",
                file=sys.stderr,
            )
            return 2
        if not (REPO / "playbooks/site.yml").is_file():
            print("scale_bench: playbooks/site.yml is missing; nothing to converge", file=sys.stderr)
            return 2

    if not args.skip_plan:
        report["plans"] = bench_plans(args.workers, out / "plans")
    for path in args.merge:
        earlier_plans = json.loads(path.read_text()).get("plans")
        if earlier_plans and "plans" not in report:
            report["plans"] = earlier_plans

    earlier = [row for path in args.merge for row in json.loads(path.read_text()).get("lab", [])]
    if args.skip_lab and earlier:  # only summarise earlier runs
        report["lab"] = sorted(earlier, key=lambda row: int(row["size"]))
        report["projection"] = project(report["lab"], args.forks)
    if not args.skip_lab:
        with tempfile.TemporaryDirectory(prefix="jamaa-scale-") as tmp:
            environments = Path(tmp) / "environments"
            shutil.copytree(REPO / "environments", environments, ignore=shutil.ignore_patterns("generated"))
            measure = bench_size_standalone if args.standalone else bench_size
            measured = [measure(environments, size, args.forks, out) for size in sizes]
            report["lab"] = sorted(earlier + measured, key=lambda row: int(row["size"]))
            report["projection"] = project(report["lab"], args.forks)
            if args.max_hosts:
                report["capacity"] = bench_capacity(environments, args.max_hosts, out)
            converged = [r for r in report["lab"] if "mem_per_host_mb" in r]
            if converged:
                per_host = max(
                    r["mem_per_host_mb"] for r in converged if r["size"] == max(x["size"] for x in converged)
                )
                start = report["machine"]["mem_available_mb"]
                report.setdefault("capacity", {})["estimated_converged_hosts"] = (
                    int(start * 0.85 / per_host) if per_host > 0 else None
                )

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print_summary(report)
    print(f"\nfigures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
