"""Meta-test: every host control of the catalogue has a check here, and every check a control.

Runs without hosts (it reads the catalogue and imports the checks), so `make unit` guards it.
"""

from __future__ import annotations

import hostchecks
from hostchecks import host_controls


def test_every_host_control_has_a_check() -> None:
    controls = {c.id for c in host_controls()}
    assert controls, "the catalogue has no host control (policies/controls/host-*.yaml)"
    registry = hostchecks.load_all()
    missing = sorted(controls - set(registry))
    assert not missing, f"host controls without a check in tests/baseline/hostchecks: {missing}"


def test_every_check_names_a_catalogue_control() -> None:
    controls = {c.id for c in host_controls()}
    unknown = sorted(set(hostchecks.load_all()) - controls)
    assert not unknown, f"checks registered for controls the catalogue does not have: {unknown}"


def test_catalogue_says_testinfra_verifies_what_is_checked_here() -> None:
    """The catalogue's `verified_by: testinfra:ID` and the checks agree both ways."""
    registry = hostchecks.load_all()
    for control in host_controls():
        says = f"testinfra:{control.id}" in control.verified_by
        if control.id in registry:
            assert says or control.manual, (
                f"{control.id}: checked here but verified_by lacks testinfra:{control.id}"
            )
