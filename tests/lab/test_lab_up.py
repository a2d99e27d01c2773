"""The lab's real hosts: SSH, the LAN, the way out (or none), the S3 endpoint, the VM's own kernel.

Marked `lab`: run by `make test` (stage `hosts`) first among the host suites; the `lab` fixture brings
the lab up once. tests/lab/test_zz_lab_down.py takes it down and checks nothing is left.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from jamaa.lab.lab import Lab, LabHandle
from jamaa.paths import REPO

pytestmark = pytest.mark.lab


def test_every_host_answers_ssh_with_its_own_name(lab: LabHandle) -> None:
    assert set(lab.group("commune_servers")) >= {"srv-01", "srv-02", "vm-01"}
    assert lab.group("attackers") == ["attacker"]
    for name in lab.hosts:
        proc = lab.ssh(name, "hostname && systemctl is-system-running")
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
        assert proc.stdout.split() == [name, "running"]


def test_each_host_runs_its_debian_release(lab: LabHandle) -> None:
    """Debian 12 and 13 in every run: each host's os-release is the suite its profile entry asks for."""
    seen = {}
    for name, record in lab.hosts.items():
        proc = lab.ssh(name, ". /etc/os-release && echo $VERSION_CODENAME")
        seen[name] = proc.stdout.strip()
        assert seen[name] == record.suite, (
            f"{name}: runs {seen[name]!r}, the profile asks for {record.suite!r}"
        )
    if lab.profile == "default":
        assert {"bookworm", "trixie"} <= {seen[h] for h in lab.group("commune_servers")}, seen


def test_each_host_has_its_own_ssh_host_keys(lab: LabHandle) -> None:
    fingerprints = {
        name: lab.ssh(name, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
        for name in lab.hosts
    }
    assert len(set(fingerprints.values())) == len(fingerprints), fingerprints


def test_attacker_reaches_a_server_ssh_port_on_the_lan(lab: LabHandle) -> None:
    target = lab.hosts["srv-01"].lan_ip
    proc = lab.ssh("attacker", f"nc -z -w 3 {target} 22 && echo open")
    assert proc.stdout.strip() == "open", proc.stderr
    vm = lab.hosts["vm-01"].lan_ip
    assert lab.ssh("attacker", f"nc -z -w 5 {vm} 22 && echo open").stdout.strip() == "open"


def test_attacker_has_no_way_out(lab: LabHandle) -> None:
    routes = lab.ssh("attacker", "ip -4 route show default").stdout.strip()
    assert routes == ""
    proc = lab.ssh("attacker", "curl -s -m 3 -o /dev/null http://deb.debian.org/debian/ && echo out")
    assert "out" not in proc.stdout


def test_servers_reach_debian_archive_for_apt(lab: LabHandle) -> None:
    for name in ("srv-01", "vm-01"):
        proc = lab.ssh(name, "apt-get update -q 2>&1", timeout=300)
        assert proc.returncode == 0, f"{name}: {proc.stdout}"
        assert "Err:" not in proc.stdout and "W: " not in proc.stdout, f"{name}: {proc.stdout}"


def test_servers_reach_the_s3_endpoint_on_the_lan(lab: LabHandle) -> None:
    assert lab.s3["lan"].startswith("http://192.168.77.")
    probe = f"import urllib.request; print(urllib.request.urlopen('{lab.s3['lan']}/', timeout=5).status)"
    for name in ("srv-01", "vm-01"):
        proc = lab.ssh(name, f'python3 -c "{probe}"')
        assert proc.stdout.strip() == "200", f"{name}: {proc.stderr}"


def test_s3_endpoint_is_one_server_seen_from_controller_and_lan(lab: LabHandle) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=lab.s3["controller"],
        region_name=lab.s3["region"],
        aws_access_key_id=lab.s3["access_key_id"],
        aws_secret_access_key=lab.s3["secret_access_key"],
    )
    bucket = f"lab-smoke-{int(time.time())}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": lab.s3["region"]})
    read = f"import urllib.request; print(urllib.request.urlopen('{lab.s3['lan']}/').read().decode())"
    listing = lab.ssh("srv-02", f'python3 -c "{read}"')
    assert f"<Name>{bucket}</Name>" in listing.stdout


def test_vm_has_its_own_kernel_a_container_does_not(lab: LabHandle) -> None:
    vm = lab.ssh("vm-01", "sysctl -w kernel.dmesg_restrict=1 && sysctl -n kernel.dmesg_restrict")
    assert vm.returncode == 0 and vm.stdout.strip().endswith("1"), vm.stderr
    container = lab.ssh("srv-01", "sysctl -w kernel.dmesg_restrict=1")
    assert container.returncode != 0
    assert "denied" in container.stderr or "Read-only" in container.stderr


def test_containers_may_change_their_own_network_stack(lab: LabHandle) -> None:
    proc = lab.ssh("srv-02", "sysctl -w net.ipv4.conf.all.log_martians=1")
    assert proc.returncode == 0, proc.stderr


def test_inventory_parses_with_groups_and_host_vars(lab: LabHandle) -> None:
    import json

    listing = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(lab.inventory), "--list"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    data = json.loads(listing.stdout)
    assert sorted(data["containers"]["hosts"]) == ["srv-01", "srv-02"]
    assert data["vms"]["hosts"] == ["vm-01"]
    assert data["attackers"]["hosts"] == ["attacker"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["srv-01"]["jamaa_communes"] == ["c0410101", "c0410103"]
    assert hostvars["vm-01"]["jamaa_host_kind"] == "vm"
    assert hostvars["srv-02"]["jamaa_lan_ip"] == "192.168.77.12"


def test_ansible_reaches_every_host(lab: LabHandle) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "all", "-i", str(lab.inventory), "-m", "ping", "-o"],
        capture_output=True, text=True, cwd=REPO, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(lab.hosts)


def test_up_again_is_a_no_op(lab: LabHandle) -> None:
    started = time.monotonic()
    result = Lab(lab.environments).up(lab.profile)
    assert result.already_up
    assert time.monotonic() - started < 10
    assert {n: h.ssh_port for n, h in result.state.hosts.items()} == {
        n: h.ssh_port for n, h in lab.hosts.items()
    }


def test_vm_boots_the_commune_server_document_with_its_disk_layout(lab: LabHandle) -> None:
    """The VM boots from the user data the EC2 launch templates carry (cloud-init, NoCloud seed) and
    its second disk, the data volume, holds every CIS filesystem of environments/lab with its options."""
    from jamaa.cloudinit import mounts, render_user_data
    from jamaa.config import CIS_MOUNTS, load_environments

    disk = load_environments(lab.environments).environments["lab"].servers.disk
    document = render_user_data("lab", disk)
    # cloud-init is Python: under software emulation on a busy machine each call takes long
    seen = lab.ssh("vm-01", "cloud-init status; cloud-init query userdata", timeout=600)
    assert seen.returncode == 0, seen.stderr
    status, _, userdata = seen.stdout.partition("\n")
    assert status.strip() == "status: done", seen.stdout
    assert userdata.rstrip("\n") == document.rstrip("\n")
    root_disk = lab.ssh("vm-01", "findmnt -no SOURCE /").stdout.strip()
    assert root_disk == "/dev/vda"
    assert {fs.mount for fs in mounts(disk)} >= set(CIS_MOUNTS)
    for fs in mounts(disk):
        row = lab.ssh(
            "vm-01",
            f"findmnt -n -o SOURCE,FSTYPE,LABEL,OPTIONS --mountpoint {fs.mount} | tail -n1; "
            f"lsblk -bno PKNAME,SIZE $(findmnt -no SOURCE --mountpoint {fs.mount} | tail -n1)",
        )
        lines = row.stdout.split("\n")
        _source, fstype, label, options = lines[0].split()
        parent, size = lines[1].split()
        assert (fstype, label, parent) == ("ext4", fs.label, "vdb"), (fs.mount, row.stdout)
        assert int(size) == fs.size_gb * 1024**3, (fs.mount, size)
        assert set(fs.options) <= set(options.split(",")), (fs.mount, options)
    # /var moved with its contents: dpkg's database is on the data volume and apt still works
    dpkg = lab.ssh("vm-01", "stat -c %m /var/lib/dpkg/status && dpkg-query -W -f '${Status}' cloud-init")
    assert dpkg.stdout.split("\n") == ["/var", "install ok installed"], dpkg.stdout + dpkg.stderr
    # noexec is real: a script in /tmp does not run
    noexec = lab.ssh(
        "vm-01",
        "printf '#!/bin/sh\\necho ran\\n' >/tmp/x && chmod +x /tmp/x && /tmp/x; "
        "rc=$?; rm -f /tmp/x; exit $rc",
    )
    assert noexec.returncode != 0 and "ran" not in noexec.stdout and "Permission denied" in noexec.stderr
    # HOST-SUDO-004 from the first boot: cloud-init created no default user and no NOPASSWD rule
    accounts = lab.ssh("vm-01", "ls /etc/sudoers.d; getent passwd debian admin; true")
    assert "90-cloud-init-users" not in accounts.stdout and "/home/" not in accounts.stdout, accounts.stdout
