"""One test per (server, host control of the catalogue); the logic lives in conftest.Baseline."""

from __future__ import annotations

from typing import Any


def test_control(
    host: Any, _testinfra_host: Any, control_id: str, baseline: Any, record_property: Any
) -> None:
    baseline.verify(host, _testinfra_host, control_id, record_property)
