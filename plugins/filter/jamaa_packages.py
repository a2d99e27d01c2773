"""Ansible filter: the packages a host's roles install (collection jamaa.commune).

    jamaa_role_packages:  roles -> the packages they install on this release, in one list

Each role that installs software names its packages once, in its per-release variables
(`roles/<role>/vars/<Distribution>-<major>.yml`): `<role>_packages` for every host, and
`<role>_kernel_packages` for a host with its own kernel (auditd, AIDE: not in a container). The role's
own install task reads them there; the host_packages role reads them here for every role a host runs,
to install them in one apt transaction.

Self-contained like jamaa_waivers.py: PyYAML (ansible-core's own dependency), no `jamaa` package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError


def _release_vars(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except FileNotFoundError:
        raise AnsibleFilterError(f"{path}: missing: the role has no variables for this release") from None
    except (OSError, yaml.YAMLError) as error:
        raise AnsibleFilterError(f"{path}: cannot read: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AnsibleFilterError(f"{path}: must be a mapping of variables")
    return data


def _names(path: Path, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) and name.strip() for name in value):
        raise AnsibleFilterError(f"{path}: {key}: must be a list of package names")
    return value


def jamaa_role_packages(roles: list[str], roles_dir: str, release: str, kernel: bool = True) -> list[str]:
    """The packages `roles` install on `release` (e.g. Debian-13), each once, in the roles' order.

    A role without a `vars/` directory installs nothing; one with it must have the release's file."""
    found: list[str] = []
    for role in roles:
        role_dir = Path(roles_dir) / role
        if not role_dir.is_dir():
            raise AnsibleFilterError(f"{role_dir}: no such role")
        if not (role_dir / "vars").is_dir():
            continue
        path = role_dir / "vars" / f"{release}.yml"
        data = _release_vars(path)
        keys = [f"{role}_packages", *([f"{role}_kernel_packages"] if kernel else [])]
        for key in keys:
            if key in data:
                found += [name for name in _names(path, key, data[key]) if name not in found]
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"jamaa_role_packages": jamaa_role_packages}
