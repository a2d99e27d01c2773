"""CLD-* waivers in the offline policy check: the same `environments/<env>/waivers.yaml` and the same
loader as the hosts (`jamaa.waivers`), so an expired waiver or one naming an unknown control is
refused the same way (exit 2). A stack's environment and region come from its Pulumi.<stack>.yaml
(`jamaa:environment`, `jamaa:region`); a program without them has no waivers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jamaa.waivers import Waivers, load_waivers

Lookup = Callable[[str, str | None, str | None], dict[str, Any] | None]


class CloudWaivers:
    """Finds the waiver covering a finding (control, resource URN and name) of a stack."""

    def __init__(self, program_dir: Path, environments: Path) -> None:
        self.program_dir = program_dir
        self.environments = environments
        self._loaded: dict[str, Waivers] = {}

    def _waivers(self, environment: str) -> Waivers | None:
        if environment not in self._loaded:
            env_dir = self.environments / environment
            if not env_dir.is_dir():
                return None
            from jamaa.controls import load_records

            self._loaded[environment] = load_waivers(env_dir, load_records().controls)
        return self._loaded[environment]

    def lookup(self, stack: str) -> Lookup | None:
        from jamaa.plan.runner import PlanError, locate_program, stack_config

        try:
            config = stack_config(locate_program(self.program_dir), stack)
        except PlanError:
            return None
        environment = config.get("jamaa:environment")
        waivers = self._waivers(environment) if environment else None
        if waivers is None or not any(w.control.startswith("CLD-") for w in waivers.entries):
            return None
        region = config.get("jamaa:region")

        def find(control: str, urn: str | None, name: str | None) -> dict[str, Any] | None:
            waiver = waivers.for_cloud(control, stack, region, urn, name)
            if waiver is None:
                return None
            return {
                "control": waiver.control,
                "scope": f"{waiver.scope.kind}:{waiver.scope.value}",
                "owner": waiver.owner,
                "reason": waiver.reason,
                "expires": waiver.expires.isoformat(),
                "ticket": waiver.ticket,
            }

        return find
