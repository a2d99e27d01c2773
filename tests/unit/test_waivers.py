"""Waivers: known controls only, never expired, applied by scope."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from jamaa.errors import ConfigError
from jamaa.waivers import load_waivers

KNOWN = {"HOST-SSH-010", "HOST-AUD-001"}
WAIVER = """waivers:
  - control: {control}
    scope: {{kind: {kind}, value: {value}}}
    owner: DSI Marrakech-Safi
    reason: Legacy scanner needs this until replaced
    expires: {expires}
    ticket: DGCT-1234
"""


def write(tmp_path: Path, **fields: str) -> Path:
    values = {"control": "HOST-SSH-010", "kind": "host", "value": "srv-02", "expires": "2027-03-31", **fields}
    env = tmp_path / "lab"
    env.mkdir(exist_ok=True)
    (env / "waivers.yaml").write_text(WAIVER.format(**values), encoding="utf-8")
    return env


def test_a_waiver_applies_to_its_scope_only(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path), KNOWN, today=date(2026, 11, 25))
    assert set(waivers.for_host("srv-02")) == {"HOST-SSH-010"}
    assert waivers.for_host("srv-01") == {}


def test_group_commune_region_and_environment_scopes(tmp_path: Path) -> None:
    today = date(2026, 11, 25)
    assert load_waivers(write(tmp_path, kind="group", value="vms"), KNOWN, today).for_host(
        "vm-01", groups=["vms"]
    )
    env = write(tmp_path, kind="commune", value="c3510107")
    assert load_waivers(env, KNOWN, today).for_host("x", communes=["c3510107"])
    assert load_waivers(write(tmp_path, kind="region", value="MA-07"), KNOWN, today).for_host(
        "x", region="MA-07"
    )
    assert load_waivers(write(tmp_path, kind="environment", value="lab"), KNOWN, today).for_host("x")


def test_an_expired_waiver_fails_with_owner_and_date(tmp_path: Path) -> None:
    env = write(tmp_path, expires="2026-01-31")
    with pytest.raises(ConfigError) as caught:
        load_waivers(env, KNOWN, today=date(2026, 11, 25))
    assert caught.value.problems == [
        f"{env / 'waivers.yaml'}: waivers[0].expires: waiver of HOST-SSH-010 for host srv-02 expired "
        "on 2026-01-31 (owner: DSI Marrakech-Safi)"
    ]


def test_a_waiver_for_an_unknown_control_is_an_error(tmp_path: Path) -> None:
    env = write(tmp_path, control="HOST-SSH-999")
    with pytest.raises(ConfigError) as caught:
        load_waivers(env, KNOWN, today=date(2026, 11, 25))
    assert caught.value.problems == [
        f"{env / 'waivers.yaml'}: waivers[0].control: unknown control id HOST-SSH-999"
    ]


def test_an_unknown_scope_kind_is_an_error(tmp_path: Path) -> None:
    env = write(tmp_path, kind="planet")
    with pytest.raises(ConfigError) as caught:
        load_waivers(env, KNOWN, today=date(2026, 11, 25))
    assert caught.value.problems == [
        f"{env / 'waivers.yaml'}: waivers[0].scope.kind: unknown value 'planet'; "
        "expected 'host', 'group', 'commune', 'region', 'environment', 'stack' or 'resource'"
    ]
