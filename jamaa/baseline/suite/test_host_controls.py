"""One test per (server, host control of the catalogue); the logic lives in jamaa.baseline.plugin."""

from __future__ import annotations

from typing import Any


def test_control(
    baseline_host: Any, _testinfra_host: Any, control_id: str, baseline: Any, record_property: Any
) -> None:
    baseline.verify(baseline_host, _testinfra_host, control_id, record_property)
