"""The commune server's cloud-init user data: one document, rendered from `environments/<env>`.

EC2 launch templates carry it (stacks/tenancy/servers.py) and the lab VM boots from the very same
text through cloud-init's NoCloud data source (jamaa/lab/vm.py), so the disk layout the lab tests is
the production one. Today the document lays out the data volume (servers.disk: one ext4 filesystem per
CIS mount point, with its mount options) and turns off SSH password logins.

`render_user_data(env_name, disk)` returns the text (it starts with `#cloud-config`);
`schema_problems(text)` runs cloud-init's own schema check (`cloud-init schema --config-file`,
Debian's `cloud-init` package) and returns its complaints.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from jamaa.config import DiskLayout

HEADER = "#cloud-config"
TEMPLATES = Path(__file__).parent


@dataclass(frozen=True)
class Mount:
    mount: str
    size_gb: int
    options: tuple[str, ...]

    @property
    def label(self) -> str:
        """The ext4 label and GPT partition name: `j-var-log-audit` for /var/log/audit (≤ 16 bytes)."""
        return "j" + self.mount.replace("/", "-")


def mounts(disk: DiskLayout) -> list[Mount]:
    """The filesystems in mount order (parents first)."""
    return [Mount(path, fs.size_gb, tuple(fs.options)) for path, fs in disk.ordered()]


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, _str_presenter)


def disk_layout_script(env_name: str, disk: DiskLayout) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    filesystems = mounts(disk)
    paths = {fs.mount for fs in filesystems}
    top_level = [
        fs for fs in filesystems if not any(fs.mount.startswith(p + "/") for p in paths if p != fs.mount)
    ]
    return environment.get_template("disk-layout.sh.j2").render(
        environment=env_name,
        data_volume_gb=disk.data_volume_gb,
        filesystems=filesystems,
        top_level=top_level,
    )


def user_data(env_name: str, disk: DiskLayout) -> dict[str, object]:
    return {
        # bootcmd: the first module of cloud-init's init stage, before any service writes much into
        # /var; the script is idempotent (it does nothing once /etc/fstab carries the layout)
        "bootcmd": [disk_layout_script(env_name, disk)],
        # No account from cloud-init: Debian's cloud.cfg would create its default user (`admin` on
        # EC2, `debian` elsewhere) with `NOPASSWD:ALL` in /etc/sudoers.d/90-cloud-init-users, a sudo
        # rule HOST-SUDO-004 forbids, on an account nobody logs in to (the launch templates carry no
        # key pair: the first converge comes through SSM, the lab logs in as root with its key).
        "users": [],
        "ssh_pwauth": False,
        # The locale glibc carries itself: cloud-init's default (en_US.UTF-8) needs the `locales`
        # package and a generated locale, which a minimal Debian 12 server lacks, and its cc_locale
        # then fails cloud-config.service (found on the lab's Debian 12 VM); trixie's hides it.
        "locale": "C.UTF-8",
    }


def render_user_data(env_name: str, disk: DiskLayout) -> str:
    body = yaml.dump(user_data(env_name, disk), Dumper=_Dumper, sort_keys=False, width=110)
    return (
        f"{HEADER}\n# Rendered by jamaa from environments/{env_name}/environment.yaml; do not edit.\n{body}"
    )


QUIET_LINES = ("Error:", "Cloud config schema deprecations:")
# Errors only Debian 12's cloud-init (22.4.2) reports, on what its own runtime accepts: its schema
# wants one item in `users`, while normalize_users_groups reads [] as "create no account" (checked
# on 22.4.2) and trixie's 25.1.4 schema accepts it. Anything else in the same report still fails.
OLD_SCHEMA_ONLY = ("Cloud config schema errors: users: [] is too short",)


def schema_problems(text: str) -> list[str]:
    """cloud-init's own schema check of one user-data document; [] when valid."""
    tool = shutil.which("cloud-init")
    if tool is None:
        return ["cloud-init is not installed (Debian package cloud-init, `make apt`)"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        done = subprocess.run(
            [tool, "schema", "--config-file", handle.name],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode == 0:
        return []
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    if lines and all(line in OLD_SCHEMA_ONLY or line.startswith(QUIET_LINES) for line in lines):
        return []
    return lines or [f"cloud-init schema exited {done.returncode}"]
