"""ansible-lint, production profile (.ansible-lint at the repository root: roles/ and playbooks/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jamaa.paths import REPO

BIN = Path(sys.executable).parent


def test_ansible_lint_production_profile_has_no_violation() -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    result = subprocess.run(
        [str(BIN / "ansible-lint"), "--nocolor", "-f", "pep8"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"ansible-lint found violations:\n{output[-4000:]}"
    assert "Profile 'production' was required, and it passed" in output, output[-2000:]
