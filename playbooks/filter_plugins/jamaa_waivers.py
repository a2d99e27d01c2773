"""Ansible filters over Jamaa's waivers and control catalogue.

Enforcement (these filters, used by the `jamaa_context` role) and verification (tests/baseline, the
evidence report) read the same files through the same code, `jamaa.waivers` and `jamaa.catalogue`, so
a control waived for a host is neither enforced nor reported as a failure there, and an expired
waiver or a waiver naming an unknown control stops the run with the loader's message.

    jamaa_waivers:           host -> {control id: {owner, reason, expires, ticket, scope}}
    jamaa_waived_controls:   host -> [control id, ...]
    jamaa_not_applicable:    catalogue dir -> {control id: reason} for a container / a reduced scope
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleFilterError

CONTAINER_REASON = (
    "not applicable: container ({container}); needs a real kernel, verified on a virtual machine "
    "of the same environment"
)
SCOPE_REASON = "not applicable: role {role} is outside this host's scope ({scope})"


def _jamaa() -> Any:
    try:
        import jamaa.catalogue
        import jamaa.errors
        import jamaa.waivers
    except ImportError as error:  # the controller runs from the project's venv (make setup)
        raise AnsibleFilterError(
            f"jamaa_waivers: cannot import the jamaa package ({error}); run Ansible from the project's "
            "virtualenv (.venv/bin/ansible-playbook) or `pip install -e .`"
        ) from None
    return jamaa


@lru_cache(maxsize=8)
def _catalogue(catalogue_dir: str) -> Any:
    jamaa = _jamaa()
    try:
        return jamaa.catalogue.load_catalogue(Path(catalogue_dir))
    except jamaa.errors.JamaaError as error:
        raise AnsibleFilterError(f"control catalogue: {error}") from None


@lru_cache(maxsize=8)
def _waivers(env_dir: str, catalogue_dir: str, today: str) -> Any:
    jamaa = _jamaa()
    known = _catalogue(catalogue_dir).controls
    try:
        return jamaa.waivers.load_waivers(Path(env_dir), known, date.fromisoformat(today))
    except jamaa.errors.JamaaError as error:
        raise AnsibleFilterError(f"waivers refused, nothing was changed: {error}") from None


def jamaa_waivers(
    host: str,
    env_dir: str,
    catalogue_dir: str,
    groups: list[str] | None = None,
    communes: list[str] | None = None,
    region: str | None = None,
    today: str | None = None,
) -> dict[str, dict[str, str]]:
    """The waivers that apply to `host`, by control id, as plain data for facts and files."""
    waivers = _waivers(str(env_dir), str(catalogue_dir), today or date.today().isoformat())
    applies = waivers.for_host(str(host), list(groups or []), list(communes or []), region or None)
    return {
        control: {
            "owner": waiver.owner,
            "reason": waiver.reason,
            "expires": waiver.expires.isoformat(),
            "ticket": waiver.ticket,
            "scope": f"{waiver.scope.kind}:{waiver.scope.value}",
        }
        for control, waiver in sorted(applies.items())
    }


def jamaa_waived_controls(host: str, *args: Any, **kwargs: Any) -> list[str]:
    """Only the ids of `jamaa_waivers` (what the roles' `when:` conditions test)."""
    return sorted(jamaa_waivers(host, *args, **kwargs))


def jamaa_not_applicable(
    catalogue_dir: str,
    container: str | None = None,
    roles: list[str] | None = None,
    scope: str = "full",
) -> dict[str, str]:
    """Host controls that cannot or do not apply here, with the reason recorded on the host.

    `container`: the container type (systemd-detect-virt), empty on a VM or metal: kernel-level
    controls are then not applicable. `roles`: the roles this host runs; a control whose enforcing
    roles are all outside the list is not applicable in this scope.
    """
    result: dict[str, str] = {}
    applied = set(roles) if roles is not None else None
    for control in sorted(_catalogue(str(catalogue_dir)).host_controls(), key=lambda c: c.id):
        if container and control.kernel_level:
            result[control.id] = CONTAINER_REASON.format(container=container)
        elif applied is not None and control.roles and not applied.intersection(control.roles):
            result[control.id] = SCOPE_REASON.format(role=", ".join(control.roles), scope=scope)
    return result


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "jamaa_waivers": jamaa_waivers,
            "jamaa_waived_controls": jamaa_waived_controls,
            "jamaa_not_applicable": jamaa_not_applicable,
        }
