"""The Jamaa CrossGuard policy pack: `pulumi preview --policy-pack policies`.

Only assembles the pack (building a PolicyPack starts the policy server); the policies live in the
importable package `jamaa_policies`, which `jamaa policy check` evaluates offline.
"""

from jamaa_policies import PACK_DESCRIPTION, PACK_NAME, build_policies, default_settings, initial_config
from pulumi_policy import EnforcementLevel, PolicyPack

settings = default_settings()

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own: mandatory for high/critical
    policies=build_policies(settings),
    initial_config=initial_config(settings),
    provider="aws",
    tags=["aws", "morocco", "communes"],
)
