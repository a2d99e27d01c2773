"""Meta-test: every automated host control of the catalogue has a check here, and every check a control.

Runs without hosts (it reads the catalogue and imports the checks), so `make unit` guards it. The
catalogue's `verified_by: testinfra:ID` is derived from these registrations (jamaa.links), so the
comparison is with the records themselves, never with the derived field.
"""

from __future__ import annotations

from jamaa.baseline import hostchecks
from jamaa.baseline.hostchecks import host_controls
from jamaa.controls import load_catalogue


def test_every_automated_host_control_has_a_check() -> None:
    catalogue = load_catalogue()
    automated = {c.id for c in catalogue.host_controls() if c.automated}
    assert automated, "the catalogue has no host control (policies/controls/host-*.yaml)"
    registry = hostchecks.load_all()
    missing = sorted(automated - set(registry))
    assert not missing, f"host controls without a check in jamaa/baseline/hostchecks: {missing}"


def test_every_check_names_a_catalogue_control() -> None:
    controls = {c.id for c in load_catalogue().host_controls()}
    unknown = sorted(set(hostchecks.load_all()) - controls)
    assert not unknown, f"checks registered for controls the catalogue does not have: {unknown}"


def test_the_derived_verification_is_the_registry() -> None:
    """What the suite parametrizes over (host_controls) is exactly what is registered here."""
    registry = hostchecks.load_all()
    assert {c.id for c in host_controls()} == set(registry)
    for control in host_controls():
        assert f"testinfra:{control.id}" in control.verified_by
