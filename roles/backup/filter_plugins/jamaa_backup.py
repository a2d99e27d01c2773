"""Ansible filter: the retention of a data class in an environment, from `environments/` (jamaa.config).

    {{ 'personal' | jamaa_backup_retention(environments_dir, 'lab') }}  ->  365

max(national.yaml data_classes.<class>.retention_floor_days,
    <env>/environment.yaml backup_retention_days.<class>):
an environment may keep longer than the floor, never shorter. One implementation with the Pulumi side
and `jamaa audit`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleFilterError


@lru_cache(maxsize=4)
def _environments(root: str) -> Any:
    try:
        from jamaa.config import load_environments
        from jamaa.errors import JamaaError
    except ImportError as error:
        raise AnsibleFilterError(
            f"jamaa_backup_retention: cannot import jamaa ({error}); use the project's venv"
        ) from None
    try:
        return load_environments(Path(root), check_ledger=False)
    except JamaaError as error:
        raise AnsibleFilterError(f"environments: {error}") from None


def jamaa_backup_retention(data_class: str, environments_dir: str, environment: str) -> int:
    envs = _environments(str(environments_dir))
    classes = envs.national.data_classes
    if data_class not in classes:
        raise AnsibleFilterError(
            f"backup_data_class: unknown data class {data_class!r} ({', '.join(classes)})"
        )
    if environment not in envs.environments:
        raise AnsibleFilterError(f"backup_environment: unknown environment {environment!r}")
    floor = classes[data_class].retention_floor_days
    figure = envs.environments[environment].backup_retention_days.get(data_class, 0)
    return max(floor, figure)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"jamaa_backup_retention": jamaa_backup_retention}
