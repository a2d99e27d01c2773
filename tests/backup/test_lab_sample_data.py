"""playbooks/lab_sample_data.yml writes sample records on lab hosts only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from jamaa.paths import REPO


def test_sample_records_are_refused_on_a_host_that_is_not_a_lab_host(tmp_path: Path) -> None:
    playbook = Path(sys.executable).parent / "ansible-playbook"
    result = subprocess.run(
        [
            playbook,
            "-i",
            "not-a-lab-host,",
            "-c",
            "local",
            "-e",
            "backup_hosts=all",
            "playbooks/lab_sample_data.yml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": f"{playbook.parent}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_NOCOLOR": "1"},
    )
    assert result.returncode != 0
    assert "lab hosts only, and jamaa_lab is not true for not-a-lab-host" in result.stdout, result.stdout[
        -2000:
    ]
    assert "changed=0" in result.stdout and "failed=1" in result.stdout
