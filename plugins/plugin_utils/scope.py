"""Applicability, in plain Python (standard library only): which roles a host gets, which host
controls do not apply to it and why.

The one implementation: the collection's filters (`jamaa.commune.jamaa_host_roles`,
`jamaa.commune.jamaa_not_applicable`, plugins/filter/jamaa_waivers.py) import it from the collection,
the `jamaa_context` role and the playbooks call those filters (the playbooks name the roles, in
order; the rules here decide which of them a host gets), and the `jamaa` Python package imports
the same file as `jamaa.scope` (a link to this file, not a copy) for the baseline. Which waivers apply
to a host is `waiver_rules.applies_to_host` (the sibling module, shared the same way).

No import of the `jamaa` package, pydantic or Ansible: the collection runs wherever ansible-core runs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The roles themselves, and their order, are the playbooks' (commune_server.yml, backup.yml): the rules
# here say which of them a host gets.
# The kernel scope: only the roles that carry kernel-level controls (the lab's VM, where the
# containers already cover the rest).
KERNEL_ROLES: frozenset[str] = frozenset(
    {
        "sysctl_hardening", "kernel_modules", "mounts_hardening", "core_dumps", "time_sync",
        "auditd", "usbguard", "aide",
    }
)  # fmt: skip
# Service roles run only on hosts that serve at least one commune.
SERVICE_ROLES: frozenset[str] = frozenset({"tls_certificates", "postgresql", "nginx", "monitoring", "backup"})

SCOPES = ("full", "kernel")
DEFAULT_SCOPE = "full"
# The inventory variables applicability reads (and their defaults: full scope, no commune, no region).
SCOPE_VAR = "jamaa_baseline_scope"
COMMUNES_VAR = "jamaa_communes"
REGION_VAR = "jamaa_region"

CONTAINER_REASON = (
    "container ({container}): needs a real kernel, verified on a virtual machine of the same environment"
)
SCOPE_REASON = "role {role} is outside this host's scope ({scope})"
NO_COMMUNE = "no commune served"


@dataclass(frozen=True)
class HostFacts:
    """What an inventory says about a host that decides its roles and its waivers."""

    scope: str = DEFAULT_SCOPE
    communes: tuple[str, ...] = ()
    region: str | None = None


def host_facts(hostvars: Mapping[str, Any]) -> HostFacts:
    """The scope, communes and region of a host from its inventory variables (the defaults above)."""
    communes = hostvars.get(COMMUNES_VAR) or ()
    if isinstance(communes, str):
        communes = (communes,)
    return HostFacts(
        scope=str(hostvars.get(SCOPE_VAR) or DEFAULT_SCOPE),
        communes=tuple(str(c) for c in communes),
        region=str(hostvars[REGION_VAR]) if hostvars.get(REGION_VAR) else None,
    )


def role_applies(role: str, scope: str | None, communes: Collection[str] | None) -> bool:
    """Whether a host gets `role`: every role in the full scope, the kernel roles otherwise; service
    roles only when the host serves a commune."""
    in_scope = (scope or DEFAULT_SCOPE) == "full" or role in KERNEL_ROLES
    return in_scope and (bool(communes) or role not in SERVICE_ROLES)


def host_roles(roles: Iterable[str], scope: str | None, communes: Collection[str] | None) -> list[str]:
    """The roles among `roles` (a play's, in its order) that a host gets."""
    return [role for role in roles if role_applies(role, scope, communes)]


def scope_label(scope: str | None, communes: Collection[str] | None) -> str:
    """How a host's scope reads in a reason: `full`, `kernel`, `full, no commune served`."""
    label = scope or DEFAULT_SCOPE
    return label if communes else f"{label}, {NO_COMMUNE}"


def not_applicable_reason(
    kernel_level: bool,
    control_roles: Collection[str],
    container: str | None,
    scope: str | None,
    communes: Collection[str] | None,
) -> str | None:
    """Why one host control does not apply to a host, or None when it applies.

    `container`: the container type (systemd-detect-virt), empty on a VM or metal: a kernel-level
    control does not apply in a container. A control whose enforcing roles the host does not get
    (`role_applies`) does not apply either.
    """
    if container and kernel_level:
        return CONTAINER_REASON.format(container=container)
    if control_roles and not any(role_applies(r, scope, communes) for r in control_roles):
        return SCOPE_REASON.format(role=", ".join(control_roles), scope=scope_label(scope, communes))
    return None


def not_applicable(
    host_controls: Iterable[tuple[str, bool, Collection[str]]],
    container: str | None,
    scope: str | None,
    communes: Collection[str] | None,
) -> dict[str, str]:
    """Host controls (id, kernel_level, enforcing roles) that do not apply here, with the reason."""
    result: dict[str, str] = {}
    for control_id, kernel_level, control_roles in sorted(host_controls, key=lambda c: c[0]):
        reason = not_applicable_reason(kernel_level, control_roles, container, scope, communes)
        if reason is not None:
            result[control_id] = reason
    return result
