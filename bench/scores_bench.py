"""Outside scores of the converged lab: Lynis (Debian's package) and ssh-audit (the pinned one), per host.

    .venv/bin/python bench/scores_bench.py [--hosts srv-01,srv-02] [--json out/bench/scores.json]

Run after `jamaa lab run` (or `make lab`): it reads the running lab ($JAMAA_CACHE), never converges.
Per commune server (containers by default; name the VM in --hosts to include it, about 15 min under
software emulation) it prints the Lynis hardening index, its warnings and remaining suggestions, and
ssh-audit's failures and warnings with the key exchanges sshd offers (post-quantum ones marked).

Lynis is the controller's Debian package (`make apt` installs it): its files are copied to a
temporary directory on the host, run from there (`--usecwd`, log and report in that directory), and
the directory is removed afterwards, so the converged host keeps no audit tool and no trace in its
logs that would change the baseline. ssh-audit is the version pinned in pyproject.toml, run from the
controller against the host's SSH forward. Targets (issue 16): Lynis ≥ 90 with 0 warnings; ssh-audit
0 failures, 0 warnings, a post-quantum key exchange offered.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from jamaa.lab.generated import SSH_CONFIG
from jamaa.lab.lab import lab_dir
from jamaa.lab.state import LabState, load_state
from jamaa.paths import REPO

# Debian's lynis package: where each part lives on the controller → its place in a standalone tree
LYNIS_PARTS = {
    Path("/usr/sbin/lynis"): "lynis",
    Path("/usr/share/lynis/include"): "include",
    Path("/usr/share/lynis/db"): "db",
    Path("/etc/lynis/plugins"): "plugins",
    Path("/etc/lynis/default.prf"): "default.prf",
}
PQ_KEX = ("mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")
TARGET_INDEX = 90


def lynis_tarball() -> bytes:
    missing = [str(p) for p in LYNIS_PARTS if not p.exists()]
    if missing:
        raise SystemExit(f"scores_bench: Lynis is not installed here ({', '.join(missing)}): run `make apt`")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for source, name in LYNIS_PARTS.items():
            # root-owned and not group/other-writable: Lynis refuses include files that are not
            tar.add(source, arcname=name, filter=_root_owned)
    return buffer.getvalue()


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode &= 0o755
    return info


def ssh(config: Path, host: str, command: str, data: bytes | None = None, timeout: float = 3600) -> str:
    proc = subprocess.run(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", host, command],
        input=data,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"scores_bench: {host}: `{command[:60]}…` exit {proc.returncode}: {proc.stderr.decode()}"
        )
    return proc.stdout.decode(errors="replace")


def run_lynis(config: Path, host: str, tarball: bytes) -> dict[str, Any]:
    started = time.monotonic()
    workdir = ssh(config, host, "mktemp -d /root/.jamaa-lynis.XXXXXX").strip()
    try:
        ssh(
            config,
            host,
            f"tar xzf - -C {workdir} --no-same-owner && chown -R root:root {workdir}",
            data=tarball,
        )
        ssh(
            config,
            host,
            f"cd {workdir} && sh ./lynis audit system --usecwd --quick --no-colors --quiet"
            f" --logfile {workdir}/lynis.log --report-file {workdir}/report.dat >/dev/null 2>&1; true",
        )
        report = ssh(config, host, f"cat {workdir}/report.dat")
        # where points were lost: the test running when Lynis assigned fewer hardening points than its maximum
        lost = ssh(
            config,
            host,
            f'awk \'/Performing test ID/ {{t=$0; sub(/.*Performing test ID /, "", t); sub(/ .*/, "", t)}}'
            f" /assigned partial number of hardening points/ {{print t, $0}}' {workdir}/lynis.log",
        )
    finally:
        ssh(config, host, f"rm -rf {workdir}")
    values: dict[str, list[str]] = {}
    for line in report.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values.setdefault(key, []).append(value)
    index = int(values.get("hardening_index", ["0"])[0] or 0)

    def entries(key: str) -> list[dict[str, str]]:
        found = []
        for raw in values.get(key, []):
            test, text, details, solution = ([*raw.split("|"), "", "", ""])[:4]
            found.append({"test": test, "text": text, "details": details, "solution": solution})
        return found

    return {
        "version": (values.get("lynis_version") or [""])[0],
        "hardening_index": index,
        "warnings": entries("warning[]"),
        "suggestions": entries("suggestion[]"),
        "points_lost": [_points(line) for line in lost.splitlines() if line.strip()],
        "seconds": round(time.monotonic() - started, 1),
    }


def _points(line: str) -> str:
    """`TEST ... (X of Y) ...` → `TEST X/Y`."""
    test = line.split()[0]
    part = line.split("points (", 1)[1].split(")", 1)[0] if "points (" in line else "?"
    return f"{test} {part.replace(' of ', '/')}"


def print_lynis_items(lynis: dict[str, Any]) -> None:
    """Lynis's warnings, then its suggestions, one per line."""
    for kind in ("warning", "suggestion"):
        for item in lynis[f"{kind}s"]:
            print(f"    {kind:<10} {item['test']}: {item['text']} {item['details']}".rstrip())


def run_ssh_audit(port: int) -> dict[str, Any]:
    tool = shutil.which("ssh-audit", path=str(Path(sys.executable).parent))
    if tool is None:
        raise SystemExit("scores_bench: the pinned ssh-audit is not in this venv: run `make setup`")
    version = subprocess.run([tool, "--help"], capture_output=True, text=True, check=False).stdout
    proc = subprocess.run(
        [tool, "-j", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, timeout=120, check=False
    )
    data = json.loads(proc.stdout)
    fails: list[str] = []
    warns: list[str] = []
    for section in ("kex", "key", "enc", "mac"):
        for algorithm in data.get(section, []):
            notes = algorithm.get("notes", {})
            fails += [f"({section}) {algorithm['algorithm']}: {n}" for n in notes.get("fail", [])]
            warns += [f"({section}) {algorithm['algorithm']}: {n}" for n in notes.get("warn", [])]
    fails += [f"(cve) {c.get('name')}: {c.get('description', '')}" for c in data.get("cves", [])]
    # ssh-audit's additional notes (Terrapin peers, DHEat connection rate) are information, not warnings
    # (they do not change its exit status); printed apart so nothing is hidden
    notes = [note for note in data.get("additional_notes", []) or [] if note]
    kex = [k["algorithm"] for k in data.get("kex", [])]
    return {
        "version": version.split("ssh-audit v", 1)[1].split(",")[0] if "ssh-audit v" in version else "",
        "banner": (data.get("banner") or {}).get("raw", ""),
        "failures": fails,
        "warnings": warns,
        "notes": notes,
        "exit_status": proc.returncode,
        "kex": kex,
        "post_quantum_kex": [k for k in kex if k in PQ_KEX],
    }


def servers(state: LabState, wanted: list[str] | None) -> list[str]:
    names = [n for n, h in state.hosts.items() if "commune_servers" in h.groups]
    if wanted:
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise SystemExit(f"--hosts: not commune servers of this lab: {', '.join(unknown)} (have {names})")
        return [n for n in names if n in wanted]
    return [n for n in names if state.hosts[n].kind == "container"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", help="comma-separated commune servers (default: every container)")
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "scores.json")
    args = parser.parse_args()
    state = load_state(lab_dir())
    if state is None or not state.ready:
        raise SystemExit("scores_bench: no lab is up ($JAMAA_CACHE); run `jamaa lab run` first")
    config = Path(state.generated) / SSH_CONFIG
    tarball = lynis_tarball()
    results: dict[str, Any] = {}
    for name in servers(state, args.hosts.split(",") if args.hosts else None):
        record = state.hosts[name]
        suite = record.suite or state.suite
        print(f"== {name} ({record.kind}, Debian {suite})", flush=True)
        lynis = run_lynis(config, name, tarball)
        audit = run_ssh_audit(record.ssh_port or 22)
        results[name] = {"kind": record.kind, "suite": suite, "lynis": lynis, "ssh_audit": audit}
        ok_lynis = lynis["hardening_index"] >= TARGET_INDEX and not lynis["warnings"]
        ok_audit = not audit["failures"] and not audit["warnings"] and audit["post_quantum_kex"]
        print(
            f"  Lynis {lynis['version']}: hardening index {lynis['hardening_index']}, "
            f"{len(lynis['warnings'])} warning(s), {len(lynis['suggestions'])} suggestion(s) "
            f"[{lynis['seconds']} s] {'target met' if ok_lynis else 'TARGET MISSED'}"
        )
        print_lynis_items(lynis)
        print(f"    points lost: {', '.join(lynis['points_lost']) or 'none'}")
        print(
            f"  ssh-audit {audit['version']}: {len(audit['failures'])} failure(s), "
            f"{len(audit['warnings'])} warning(s), {len(audit['notes'])} note(s), "
            f"exit {audit['exit_status']}; "
            f"post-quantum KEX {audit['post_quantum_kex'] or 'NONE'}; "
            f"offered {','.join(audit['kex'])} {'target met' if ok_audit else 'TARGET MISSED'}"
        )
        for line in audit["failures"]:
            print(f"    fail {line}")
        for line in audit["warnings"]:
            print(f"    warn {line}")
        for line in audit["notes"]:
            print(f"    note {line[:160]}…")
    print("\nhost      Debian    Lynis  warn  sugg  ssh-audit fail  warn  PQ KEX")
    for name, r in results.items():
        lynis, audit = r["lynis"], r["ssh_audit"]
        print(
            f"{name:<9} {r['suite']:<9} {lynis['hardening_index']:>5} {len(lynis['warnings']):>5} "
            f"{len(lynis['suggestions']):>5} {len(audit['failures']):>15} {len(audit['warnings']):>5}  "
            f"{audit['post_quantum_kex'][0] if audit['post_quantum_kex'] else 'none'}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
