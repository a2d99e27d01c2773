"""Offline plan: run a Pulumi Python program under Pulumi's mocks and see every resource it would create.

Contract (used by `jamaa policy check`): `run_program(program_dir, stack, config) -> Plan`, with
`Plan.stack`, `Plan.project`, `Plan.resources: list[PlannedResource]` and
`PlannedResource(urn, type, name, parent_urn, inputs, unknown_keys)`; see `jamaa.plan.model`.
"""

from jamaa.plan.model import UNKNOWN, Plan, PlannedResource
from jamaa.plan.runner import OFFLINE_ACCOUNT_ID, PlanError, known_stacks, locate_program, run_program

__all__ = [
    "OFFLINE_ACCOUNT_ID",
    "UNKNOWN",
    "Plan",
    "PlanError",
    "PlannedResource",
    "known_stacks",
    "locate_program",
    "run_program",
]
