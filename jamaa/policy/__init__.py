"""Offline evaluation of the CrossGuard policy pack (`policies/`) over an offline plan.

`load_pack()` imports the pack's policies (without starting a policy server), `evaluate(resources,
pack, stack=...)` runs their validate functions exactly as the analyzer does, and
`jamaa.policy.formats` renders the report as text, JSON, SARIF or JUnit.
"""

from jamaa.policy.engine import Finding, PolicyEvaluationError, Report, evaluate, resolve_config
from jamaa.policy.pack import Pack, PolicyInfo, load_pack

__all__ = [
    "Finding",
    "Pack",
    "PolicyEvaluationError",
    "PolicyInfo",
    "Report",
    "evaluate",
    "load_pack",
    "resolve_config",
]
