"""`converged_lab`: the lab after site.yml (tests/roles converges it first in `make test`)."""

from __future__ import annotations

from typing import Any

import pytest

from jamaa.paths import REPO

MARKER = "/etc/sysctl.d/60-jamaa-network.conf"
"""Written by roles/sysctl_hardening, which site.yml applies in every scope (full and kernel)."""


def _converged(lab: Any) -> list[str]:
    """Servers where site.yml has not run (the backup playbook alone writes /etc/jamaa too)."""
    missing = []
    for name in lab.group("commune_servers"):
        done = lab.ssh(name, f"test -s {MARKER} && echo yes")
        if "yes" not in done.stdout:
            missing.append(name)
    return missing


@pytest.fixture(scope="session")
def converged_lab(lab: Any) -> Any:
    missing = _converged(lab)
    if missing:
        log = REPO / "out" / "verify" / "converge.log"
        code = lab.converge_site(log)
        if code != 0:
            pytest.fail(f"site.yml failed on the lab (exit {code}, see {log})", pytrace=False)
    return lab
