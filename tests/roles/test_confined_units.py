"""HOST-AIDE-007 and HOST-BKP-007: the units Jamaa writes for its scanners and its backup are confined, as
systemd itself rates them (`systemd-analyze security --offline` on the rendered unit files), and a waiver
takes the confinement out whole. On the hosts, the baseline checks the loaded units and tests/roles and
tests/backup run them confined."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest

from jamaa.paths import REPO

BACKUP_VARS = {
    "backup_env_file": "/etc/jamaa/backup.env",
    "backup_timeout": "6h",
    "backup_state_dir": "/var/lib/jamaa/backup",
    "backup_staging_dir": "/var/backups/jamaa/staging",
    "backup_textfile_dir": "/var/lib/prometheus/node-exporter",
}
AIDE_VARS = {
    "aide_binary": "/usr/bin/aide",
    "aide_conf": "/etc/aide/aide.conf",
    "aide_db_dir": "/var/lib/aide",
    "aide_debsums_check": "/usr/local/sbin/jamaa-debsums-check",
}
# unit template → (role, its control, the highest exposure systemd may rate it, on its 0-10 scale)
UNITS = {
    "jamaa-aide-check.service": ("aide", "HOST-AIDE-007", 2.0),
    "jamaa-debsums-check.service": ("aide", "HOST-AIDE-007", 2.0),
    "jamaa-backup.service": ("backup", "HOST-BKP-007", 3.0),
    "jamaa-backup-check.service": ("backup", "HOST-BKP-007", 3.0),
}


def render(unit: str, waived: list[str]) -> str:
    role = UNITS[unit][0]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(REPO / "roles" / role / "templates"), undefined=jinja2.StrictUndefined
    )
    env.filters["comment"] = lambda text: f"# {text}"
    env.filters["dirname"] = os.path.dirname
    variables: dict[str, Any] = {**AIDE_VARS, **BACKUP_VARS}
    return env.get_template(f"{unit}.j2").render(
        ansible_managed="Ansible managed", jamaa_waived_controls=waived, **variables
    )


def exposure(tmp_path: Path, unit: str, text: str) -> float:
    path = tmp_path / unit
    path.write_text(text)
    rated = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    overall = [line for line in rated.stdout.splitlines() if "Overall exposure level" in line]
    assert overall, f"systemd-analyze did not rate {unit}: {rated.stderr.strip()[-400:]}"
    return float(overall[-1].split(":", 1)[1].split()[0])


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_each_unit_is_rated_confined_and_a_waiver_takes_the_confinement_out(
    tmp_path: Path, unit: str
) -> None:
    _, control, ceiling = UNITS[unit]
    text = render(unit, [])
    lines = set(text.splitlines())
    for directive in ("ProtectSystem=strict", "ProtectHome=read-only", "NoNewPrivileges=yes"):
        assert directive in lines, f"{unit}: no {directive} ({control})"
    confined = exposure(tmp_path, unit, text)
    assert confined <= ceiling, f"{unit}: systemd rates it {confined} (at most {ceiling} expected, {control})"
    waived = render(unit, [control])
    assert "ProtectSystem=" not in waived and "CapabilityBoundingSet=" not in waived, waived
    assert exposure(tmp_path, unit, waived) > 8.0


def test_the_scanners_still_see_the_kernel_modules_and_only_debsums_forbids_writable_code() -> None:
    # ProtectKernelModules hides /usr/lib/modules: debsums then reports every module file missing.
    aide, debsums = render("jamaa-aide-check.service", []), render("jamaa-debsums-check.service", [])
    assert "\nProtectKernelModules=" not in aide + debsums
    assert "CAP_SYS_MODULE" not in aide + debsums
    # AIDE's PCRE2 may compile its rules to machine code (JIT); debsums is perl, which never does.
    assert "MemoryDenyWriteExecute=yes" in debsums and "MemoryDenyWriteExecute" not in aide


def test_the_backup_may_write_only_its_own_directories() -> None:
    text = render("jamaa-backup.service", [])
    (line,) = [x for x in text.splitlines() if x.startswith("ReadWritePaths=")]
    assert sorted(p.lstrip("-") for p in line.split("=", 1)[1].split()) == sorted(
        [
            "/var/lib/jamaa/backup",
            "/var/backups/jamaa",
            "/var/cache/restic",
            "/var/lib/prometheus/node-exporter",
        ]
    )
