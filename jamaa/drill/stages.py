"""The backup and drill stages of `jamaa lab run` (`make lab`), registered in jamaa/lab/chain.py.

- backup: the lab's bucket (versioning + Object Lock) and vault secrets, sample commune records
  (playbooks/lab_sample_data.yml, written once), then playbooks/backup.yml on the servers in scope (a
  first backup where none exists); the log says how long it took and what changed.
- drill: `jamaa drill --env lab` (newest snapshot and every database restored to scratch, verified),
  writing out/drill/lab/results.json, which the evidence report shows (RPO, RTO, sizes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jamaa.errors import JamaaError
from jamaa.results import Status

if TYPE_CHECKING:
    from jamaa.lab.chain import Context, Outcome


def backup_stage(ctx: Context) -> Outcome:
    from jamaa.drill.converge import converge_backups, seed_sample_data
    from jamaa.lab.chain import Outcome

    samples, log = ctx.out / "sample-data.log", ctx.out / "backup.log"
    try:
        seeded = seed_sample_data(ctx.environments, log=samples)
        if seeded.returncode != 0:
            return Outcome(Status.FAIL, f"playbooks/lab_sample_data.yml exited {seeded.returncode}", samples)
        done = converge_backups(ctx.environments, log=log)
    except JamaaError as error:
        return Outcome(Status.FAIL, str(error).splitlines()[0], log if log.exists() else None)
    if done.returncode != 0:
        return Outcome(Status.FAIL, f"playbooks/backup.yml exited {done.returncode}", log)
    changed = ", ".join(f"{host}: {n} changed" for host, n in sorted(done.changed.items()))
    return Outcome(Status.PASS, f"{done.seconds:.1f} s ({changed})", log)


def drill_stage(ctx: Context) -> Outcome:
    from jamaa.drill.results import duration, size
    from jamaa.drill.runner import run_drill
    from jamaa.lab.chain import Outcome

    log = ctx.out / "drill.log"
    try:
        results, path, output = run_drill("lab", ctx.environments, repo=ctx.repo)
    except JamaaError as error:
        return Outcome(Status.FAIL, str(error).splitlines()[0])
    log.write_text(output + "\n" + results.model_dump_json(indent=2) + "\n")
    summary = results.summary()
    restored = sum(h.restored_bytes or 0 for h in results.hosts)
    files = sum(h.files_verified or 0 for h in results.hosts)
    tables = sum(db.tables for h in results.hosts for db in h.databases.values())
    rpo, rto = duration(summary["rpo_max_s"]), duration(summary["rto_max_s"])
    detail = (
        f"{summary['passed']}/{summary['hosts']} hosts identical ({files} files, {tables} tables verified), "
        f"worst RPO {rpo}, worst RTO {rto}, {size(restored)} restored ({path.relative_to(ctx.repo)})"
    )
    return Outcome(Status.PASS if results.ok else Status.FAIL, detail, log)
