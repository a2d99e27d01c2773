"""The security baseline: the host checks (`hostchecks`, one `@check` per host control of the
catalogue), the attacker's view of the LAN, and the pytest plugin that runs them against an inventory.

    jamaa verify --env lab                         # parallel, results JSON + JUnit under out/verify/
    pytest --pyargs jamaa.baseline.suite --ansible-inventory=environments/lab --hosts='ansible://all'

The plugin (`jamaa.baseline.plugin`) is registered as a pytest11 entry point of the package, so pytest
finds it wherever Jamaa is installed; `jamaa verify` also names it with `-p`.
"""

from __future__ import annotations

from pathlib import Path

SUITE = Path(__file__).resolve().parent / "suite"
"""The test modules pytest collects: one test per (server, host control), and the attacker's view."""
NETWORK_SUITE = SUITE / "network"


def in_suite(path: Path | str, suite: Path = SUITE) -> bool:
    """Whether a collected test file belongs to the baseline's suite (or to `suite`, a part of it)."""
    return Path(path).resolve().is_relative_to(suite)
