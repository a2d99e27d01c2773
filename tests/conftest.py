"""Session-wide fixtures. `lab`: the lab's real hosts, brought up once (by whichever suite asks first).

Host suites (tests/lab, tests/roles, tests/verify, tests/backups…) mark their tests `lab` and take
the `lab` fixture: a `jamaa.lab.lab.LabHandle` with `inventory`, `ssh_config`, `hosts` (name →
record: kind, role, lan_ip, ssh_port, groups, communes), `group(name)`, `ssh(host, command)` and the
`s3` endpoints. The fixture never takes the lab down: `make test` runs the suites in order as separate
pytest runs on one lab, and tests/lab/test_zz_lab_down.py takes it down last.
`plugin_module`: an Ansible plugin file of the collection loaded as a module by its path, the way
Ansible loads it, so tests call its functions directly.
`JAMAA_LAB_PROFILE` picks another profile (default: environments/lab/profile.yaml);
`JAMAA_LAB_ENVIRONMENTS` another environments directory (its lab/generated/ gets the inventory), e.g.
for a second lab on the same machine (with its own `JAMAA_CACHE`).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from jamaa.paths import REPO

if TYPE_CHECKING:
    from jamaa.lab.lab import LabHandle


@pytest.fixture(scope="session")
def lab() -> Iterator[LabHandle]:
    from jamaa.errors import JamaaError
    from jamaa.lab.lab import Lab, handle

    profile = os.environ.get("JAMAA_LAB_PROFILE", "default")
    try:
        environments = Path(os.environ.get("JAMAA_LAB_ENVIRONMENTS") or REPO / "environments")
        result = Lab(environments).up(profile)
    except JamaaError as error:
        pytest.fail(f"the lab did not come up: {error}", pytrace=False)
    yield handle(result.state, result.profile)


@pytest.fixture
def plugin_module() -> Callable[[Path], ModuleType]:
    def load(path: Path) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"jamaa_plugin_{path.stem}", path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
