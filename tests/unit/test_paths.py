"""jamaa.paths: the one module that knows the checkout's layout."""

from __future__ import annotations

import re
from pathlib import Path

from jamaa import paths

HERE = Path(__file__).resolve()


def test_the_paths_name_the_checkout() -> None:
    assert (paths.REPO / "pyproject.toml").is_file()
    assert HERE.is_relative_to(paths.REPO)
    assert paths.ANSIBLE_CFG.is_file() and paths.SITE.is_file()
    assert paths.ENVIRONMENTS.is_dir() and paths.ROLES.is_dir() and paths.POLICIES.is_dir()
    assert any(paths.CONTROLS.glob("*.yaml"))


def test_no_other_module_computes_the_repository_root() -> None:
    """Modules find their own files beside them (`Path(__file__).parent`), never the checkout by
    climbing out of their package (`.parents[N]`, `.parent.parent`)."""
    climbing = re.compile(r"Path\(__file__\)\S*\.(parents\[|parent\.parent)")
    offenders = [
        f"{path.relative_to(paths.REPO)}:{number}"
        for top in ("jamaa", "stacks", "policies", "bench")
        for path in sorted((paths.REPO / top).rglob("*.py"))
        if path.resolve() != Path(paths.__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if climbing.search(line)
    ]
    assert not offenders, offenders
