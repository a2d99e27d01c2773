"""The commune server's cloud-init document (jamaa/cloudinit): rendered from each environment's
servers.disk, valid for cloud-init's own schema check (Debian's cloud-init, installed by `make apt`),
and the disk layouts `jamaa validate` refuses (one line each, exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.cloudinit import HEADER, mounts, render_user_data, schema_problems
from jamaa.config import CIS_MOUNTS, Environments, load_environments
from jamaa.paths import REPO

Edit = Callable[[str, Callable[[dict], None]], Path]


@pytest.fixture(scope="module")
def envs() -> Environments:
    return load_environments(REPO / "environments")


@pytest.mark.parametrize("env", ["lab", "staging", "prod"])
def test_document_passes_cloud_inits_schema_check(envs: Environments, env: str) -> None:
    text = render_user_data(env, envs.environments[env].servers.disk)
    assert text.startswith(HEADER + "\n")
    assert schema_problems(text) == []


def test_schema_check_refuses_a_broken_document() -> None:
    # the check is real: cloud-init's schema refuses a bootcmd that is not a list and an unknown type
    problems = schema_problems(f"{HEADER}\nbootcmd: 5\nssh_pwauth: maybe\n")
    assert problems and any("bootcmd" in line for line in problems), problems


@pytest.mark.parametrize("env", ["lab", "staging", "prod"])
def test_document_lays_out_every_cis_filesystem_with_its_options(envs: Environments, env: str) -> None:
    disk = envs.environments[env].servers.disk
    document = yaml.safe_load(render_user_data(env, disk))
    assert document["ssh_pwauth"] is False
    (script,) = document["bootcmd"]
    assert script.startswith("#!/bin/sh\n")
    # the GPT table: one partition per filesystem, sized from the data, in mount order (parents first)
    table = script.split("label: gpt\n", 1)[1].split("TABLE", 1)[0].split()
    expected = [f"size={fs.size_gb}GiB, name={fs.label}".split() for fs in mounts(disk)]
    assert table == [word for line in expected for word in line]
    order = [fs.mount for fs in mounts(disk)]
    assert order.index("/var") < order.index("/var/log") < order.index("/var/log/audit")
    for mount, required in CIS_MOUNTS.items():
        options = disk.filesystems[mount].options
        assert set(required) <= set(options)
        line = f"LABEL=j{mount.replace('/', '-')} {mount} ext4 {','.join(options)} 0 2"
        assert f'echo "{line}"' in script
    assert all(len(fs.label) <= 16 for fs in mounts(disk))  # ext4 labels hold 16 bytes
    # the files already in /var and /home move with them; /tmp and /var/tmp start empty (mode 1777)
    assert "cp -ax /var/. " in script and "cp -ax /home/. " in script and "cp -ax /tmp/." not in script
    assert 'chmod 1777 "$staging/var/tmp"' in script


@pytest.mark.parametrize("env", ["lab", "staging", "prod"])
def test_document_creates_no_account_with_a_passwordless_sudo_rule(envs: Environments, env: str) -> None:
    # HOST-SUDO-004: without `users`, cloud-init would create the distribution's default user with
    # NOPASSWD:ALL; an empty list (not a missing key, not `[default]`) creates no account at all
    document = yaml.safe_load(render_user_data(env, envs.environments[env].servers.disk))
    assert document["users"] == []


@pytest.mark.parametrize("env", ["lab", "staging", "prod"])
def test_document_sets_a_locale_that_needs_no_locales_package(envs: Environments, env: str) -> None:
    # cloud-init's default en_US.UTF-8 fails cloud-config.service on a minimal Debian 12 server
    document = yaml.safe_load(render_user_data(env, envs.environments[env].servers.disk))
    assert document["locale"] == "C.UTF-8"


def test_schema_check_still_refuses_other_errors_next_to_an_empty_users_list() -> None:
    problems = schema_problems(f"{HEADER}\nusers: []\nbootcmd: 5\n")
    assert any("bootcmd: 5 is not of type" in line for line in problems), problems


def refused(envdir: Path) -> list[str]:
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output.splitlines()


def test_filesystems_larger_than_the_data_volume(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "prod/environment.yaml", lambda d: d["servers"]["disk"]["filesystems"]["/var"].update(size_gb=80)
    )
    assert refused(envdir) == [
        f"{path}: servers.disk.filesystems: the filesystems take 130 GiB but the 100 GiB data volume "
        "(data_volume_gb) holds at most 99 GiB of them (1 GiB stays for the partition table)"
    ]


def test_missing_mount_point(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "staging/environment.yaml", lambda d: d["servers"]["disk"]["filesystems"].pop("/var/log/audit")
    )
    assert refused(envdir) == [
        f"{path}: servers.disk.filesystems: mount point /var/log/audit is missing (CIS Debian Linux 12 "
        "section 1.1.2 asks a separate filesystem for each of "
        "/tmp, /home, /var, /var/tmp, /var/log, /var/log/audit)"
    ]


def test_noexec_on_var_is_refused_with_the_reason(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "lab/environment.yaml",
        lambda d: d["servers"]["disk"]["filesystems"]["/var"]["options"].append("noexec"),
    )
    assert refused(envdir) == [
        f"{path}: servers.disk.filesystems./var.options: "
        "noexec on /var breaks package installs and upgrades: "
        "dpkg runs the maintainer scripts (preinst, postinst, prerm, postrm) from /var/lib/dpkg/info, so apt "
        "fails with 'Permission denied' (CIS asks only nodev and nosuid for /var)"
    ]


def test_missing_cis_option(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "prod/environment.yaml",
        lambda d: d["servers"]["disk"]["filesystems"]["/tmp"].update(options=["nodev"]),
    )
    assert refused(envdir) == [
        f"{path}: servers.disk.filesystems./tmp.options: missing nosuid, noexec (CIS mount options for /tmp)"
    ]


def test_mount_point_whose_label_would_not_fit(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "prod/environment.yaml",
        lambda d: d["servers"]["disk"]["filesystems"].update(
            {"/srv/commune-archive": {"size_gb": 1, "options": ["nodev"]}}
        ),
    )
    assert refused(envdir) == [
        f"{path}: servers.disk.filesystems./srv/commune-archive: "
        "the filesystem label 'j-srv-commune-archive' "
        "is longer than ext4's 16 bytes (choose a shorter mount point)"
    ]
