"""The jamaa package is usable without the repository checkout (the policy pack's requirement): its wheel
carries the control catalogue, and an installed copy loads it from the package, outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from jamaa.controls import DEFAULT_CONTROLS_DIR, load_catalogue

REPO = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("jamaa-*.whl")
    return built


def test_the_catalogue_goes_through_one_place_the_package() -> None:
    assert (REPO / "policies" / "controls").resolve() == DEFAULT_CONTROLS_DIR
    assert (REPO / "jamaa" / "catalogue_controls").resolve() == DEFAULT_CONTROLS_DIR


def test_the_wheel_carries_every_catalogue_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {
        f"jamaa/catalogue_controls/{p.name}"
        for p in (REPO / "policies" / "controls").iterdir()
        if p.is_file()
    }
    expected.add("jamaa/frameworks.yaml")  # the documents the controls cite (policies/frameworks.yaml)
    assert expected and expected <= names, sorted(expected - names)


def test_the_installed_package_loads_its_catalogue_outside_the_repository(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    proc = subprocess.run(
        [*PIP, "install", "--no-deps", "--quiet", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = (
        "import json, jamaa, jamaa.controls as c; cat = c.load_catalogue(); "
        "print(json.dumps({'package': jamaa.__file__, 'root': str(cat.root), 'controls': len(cat.controls)}))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout)
    assert Path(seen["package"]).is_relative_to(target), seen
    assert Path(seen["root"]).is_relative_to(target) and not Path(seen["root"]).is_relative_to(REPO), seen
    assert seen["controls"] == len(load_catalogue().controls)


def test_the_policy_pack_requires_the_package_not_the_checkout() -> None:
    lines = [
        line.strip()
        for line in (REPO / "policies" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not [line for line in lines if line.startswith(("-e", "."))], lines
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"jamaa=={version}" in lines
