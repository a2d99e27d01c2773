"""Fixtures for the foundation's tests: a private copy of environments/ to break on purpose."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from jamaa.paths import REPO


@pytest.fixture
def envdir(tmp_path: Path) -> Path:
    """A copy of the real environments/ (data only), to be edited by one test."""
    target = tmp_path / "environments"
    shutil.copytree(REPO / "environments", target, ignore=shutil.ignore_patterns("generated"))
    return target


@pytest.fixture
def edit_yaml(envdir: Path) -> Callable[[str, Callable[[dict], None]], Path]:
    """Load a YAML file of the copy, let the test change it, write it back."""

    def edit(relative: str, change: Callable[[dict], None]) -> Path:
        path = envdir / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return edit
