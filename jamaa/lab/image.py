"""The lab's Debian image: debootstrap from Debian's archive, prepared for lab use, cached by inputs.

Three cached artefacts under `$JAMAA_CACHE/images/` (default /var/cache/jamaa), each a directory
named after the digest of its inputs with a `manifest.json` (inputs, digest, build time, packages):

- `base-SUITE-DIGEST/rootfs`: the root filesystem every host starts from (debootstrap minbase +
  BASE_PACKAGES + the profile's `image.packages`), prepared: the controller's public key for root, a
  first-boot unit generating each clone's own SSH host keys, systemd-networkd with DHCP on `en*`,
  `resolv.conf` → 10.0.2.3 (the user-mode NAT's DNS), an empty machine-id, empty apt lists, no
  stale host keys, the security and updates suites on deb.debian.org (the security archive in
  sources.list's one-line format, where audit tools look for it);
- `attacker-SUITE-DIGEST/layer`: an overlay layer over that rootfs with `image.attacker_packages`
  (the attacker has no way out, so its tools are installed here);
- `vm-SUITE-DIGEST/`: `disk.qcow2` (ext4 of the rootfs + linux-image-amd64 + `image.vm_packages`),
  with `vmlinuz` and `initrd.img` copied out of that same filesystem.

A directory exists only once complete (built under `.build-*`, then renamed), so a crash never leaves
a half image that looks valid; an image is rebuilt only when its inputs (hence its digest) change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jamaa.lab.profile import Profile
from jamaa.lab.system import LabError, locked, mounts_under, require_root, require_tools, run, unmount_under

# Bump when the preparation steps below change in a way the inputs do not show.
RECIPE = 5
BASE_PACKAGES = (
    "systemd-sysv",
    "udev",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "iproute2",
    "sudo",
    "ca-certificates",
    "procps",
)
KERNEL_PACKAGE = "linux-image-amd64"

Note = Callable[[str], None]

_DHCP_NETWORK = """\
# jamaa lab: DHCP on the VM's NAT interface. Containers' interfaces (tap0, lan0) are set from
# outside and left alone; the VM's LAN interface gets 10-jamaa-lan.network from jamaa-lab-net.
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no
"""

_LAB_NET_SCRIPT = """\
#!/bin/sh
# jamaa lab: `jamaa.lan=MAC,ADDRESS/PREFIX` on the kernel command line (the VM) becomes a
# systemd-networkd file for the LAN interface; the hostname (systemd.hostname=) goes in /etc/hosts.
set -eu
for word in $(cat /proc/cmdline); do
  case "$word" in
    jamaa.lan=*)
      value=${word#jamaa.lan=}
      mkdir -p /run/systemd/network
      printf '[Match]\\nMACAddress=%s\\n\\n[Network]\\nAddress=%s\\n' "${value%%,*}" "${value#*,}" \\
        > /run/systemd/network/10-jamaa-lan.network
      printf 'LinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' >> /run/systemd/network/10-jamaa-lan.network
      ;;
  esac
done
name=$(hostname)
grep -q "[[:space:]]$name\\$" /etc/hosts || printf '127.0.1.1\\t%s\\n' "$name" >> /etc/hosts
"""

_LAB_NET_UNIT = """\
[Unit]
Description=jamaa lab: LAN address of a VM from the kernel command line
ConditionKernelCommandLine=jamaa.lan
DefaultDependencies=no
Before=systemd-networkd.service network-pre.target
Wants=network-pre.target
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/jamaa-lab-net

[Install]
WantedBy=sysinit.target
"""

_HOSTKEYS_UNIT = """\
[Unit]
Description=jamaa lab: this host's own SSH host keys (the image carries none)
Before=ssh.service ssh.socket
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""


def _sources(suite: str, mirror: str) -> str:
    return (
        f"Types: deb\nURIs: {mirror}\nSuites: {suite} {suite}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


def _security_list(suite: str, mirror: str) -> str:
    """The security archive in apt's one-line format in /etc/apt/sources.list: the place audit tools
    (Lynis PKGS-7388) look for it; they do not read deb822 `.sources` stanzas."""
    security = mirror.rsplit("/", 1)[0] + "/debian-security"
    return (
        "# jamaa lab: Debian's security archive (the rest is in sources.list.d/debian.sources)\n"
        f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {security} {suite}-security main\n"
    )


def _prepared_files(suite: str, mirror: str, pubkey: str) -> dict[str, tuple[str, int]]:
    """Files written into the rootfs: path → (content, mode). Part of the image's digest."""
    return {
        "etc/hostname": ("debian\n", 0o644),
        "etc/hosts": ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
        "etc/fstab": (
            "# jamaa lab: no entries (containers get their root from nspawn, the VM from the kernel)\n",
            0o644,
        ),
        "etc/resolv.conf": ("nameserver 10.0.2.3\n", 0o644),
        "etc/machine-id": ("", 0o444),
        "etc/apt/sources.list": (_security_list(suite, mirror), 0o644),
        "etc/apt/sources.list.d/debian.sources": (_sources(suite, mirror), 0o644),
        "etc/systemd/network/95-jamaa-dhcp.network": (_DHCP_NETWORK, 0o644),
        "usr/local/sbin/jamaa-lab-net": (_LAB_NET_SCRIPT, 0o755),
        "etc/systemd/system/jamaa-lab-net.service": (_LAB_NET_UNIT, 0o644),
        "etc/systemd/system/jamaa-ssh-hostkeys.service": (_HOSTKEYS_UNIT, 0o644),
        "root/.ssh/authorized_keys": (pubkey.strip() + "\n", 0o600),
    }


_SYSTEMCTL = (
    ("enable", "systemd-networkd.service", "jamaa-lab-net.service", "jamaa-ssh-hostkeys.service"),
    ("mask", "systemd-networkd-wait-online.service"),
    # the roles enable these when they want them; at boot they would race Ansible for the dpkg lock
    ("disable", "apt-daily.timer", "apt-daily-upgrade.timer"),
)


# Only in the VM's disk: cloud-init reads the commune server's user data (jamaa.cloudinit, the same
# document EC2 launch templates carry) from the NoCloud seed disk the lab attaches (label cidata); the
# network stays the image's own (systemd-networkd), as on the lab's other hosts.
VM_CLOUD_CFG = """\
# jamaa lab VM: user data from the NoCloud seed disk only (no cloud metadata service to probe)
datasource_list: [NoCloud, None]
network:
  config: disabled
# the image's own first-boot unit (jamaa-ssh-hostkeys) gives each clone its host keys: generating them
# a second time costs minutes under software emulation
ssh_deletekeys: false
ssh_genkeytypes: []
"""
VM_FILES: dict[str, tuple[str, int]] = {"etc/cloud/cloud.cfg.d/90-jamaa-lab.cfg": (VM_CLOUD_CFG, 0o644)}


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class BaseImage:
    directory: Path
    digest: str

    @property
    def rootfs(self) -> Path:
        return self.directory / "rootfs"


@dataclass(frozen=True)
class LayerImage:
    directory: Path
    digest: str

    @property
    def layer(self) -> Path:
        return self.directory / "layer"


@dataclass(frozen=True)
class VmImage:
    directory: Path
    digest: str

    @property
    def disk(self) -> Path:
        return self.directory / "disk.qcow2"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"


@dataclass(frozen=True)
class Images:
    base: BaseImage
    attacker: LayerImage | None
    vm: VmImage | None
    built: tuple[str, ...]  # which artefacts this call built (empty: all from cache)


def controller_key(cache: Path) -> Path:
    """The controller's SSH key (private part path); made once per cache directory."""
    key = cache / "ssh" / "id_ed25519"
    if not key.exists():
        require_tools(["ssh-keygen"])
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jamaa-lab-controller", "-f", key])
    return key


class ImageBuilder:
    """Builds (or finds in the cache) the images a profile needs."""

    def __init__(self, profile: Profile, cache: Path, note: Note | None = None) -> None:
        self.profile = profile
        self.cache = cache
        self.images_dir = cache / "images"
        self.note: Note = note or (lambda _msg: None)
        self.pubkey = controller_key(cache).with_suffix(".pub").read_text().strip()

    # -- inputs ------------------------------------------------------------------------------------
    def base_inputs(self) -> dict[str, Any]:
        p = self.profile
        return {
            "kind": "base",
            "recipe": RECIPE,
            "suite": p.suite,
            "mirror": p.mirror,
            "packages": sorted({*BASE_PACKAGES, *p.image.packages}),
            "files": _prepared_files(p.suite, p.mirror, self.pubkey),
            "systemctl": _SYSTEMCTL,
        }

    def attacker_inputs(self, base_digest: str) -> dict[str, Any]:
        return {
            "kind": "attacker",
            "recipe": RECIPE,
            "base": base_digest,
            "packages": sorted(self.profile.image.attacker_packages),
        }

    def vm_inputs(self, base_digest: str) -> dict[str, Any]:
        return {
            "kind": "vm",
            "recipe": RECIPE,
            "base": base_digest,
            "packages": sorted({KERNEL_PACKAGE, *self.profile.image.vm_packages}),
            "disk_gb": self.profile.image.vm_disk_gb,
            "files": VM_FILES,
        }

    def _dir(self, kind: str, digest: str) -> Path:
        return self.images_dir / f"{kind}-{self.profile.suite}-{digest[:16]}"

    @staticmethod
    def _valid(directory: Path, digest: str) -> bool:
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, ValueError):
            return False
        return bool(manifest.get("digest") == digest)

    # -- build -------------------------------------------------------------------------------------
    def ensure(self, *, force: bool = False, need_vm: bool | None = None) -> Images:
        require_root("jamaa lab image")
        need_vm = bool(self.profile.vms) if need_vm is None else need_vm
        built: list[str] = []
        self.images_dir.mkdir(parents=True, exist_ok=True)
        with locked(self.images_dir / ".lock"):
            base_digest = _digest(self.base_inputs())
            base = BaseImage(self._dir("base", base_digest), base_digest)
            if force or not self._valid(base.directory, base_digest):
                self._build_base(base)
                built.append("base")
            attacker = None
            if self.profile.needs_attacker_layer:
                digest = _digest(self.attacker_inputs(base_digest))
                attacker = LayerImage(self._dir("attacker", digest), digest)
                if force or "base" in built or not self._valid(attacker.directory, digest):
                    self._build_attacker(base, attacker)
                    built.append("attacker")
            vm = None
            if need_vm:
                digest = _digest(self.vm_inputs(base_digest))
                vm = VmImage(self._dir("vm", digest), digest)
                if force or "base" in built or not self._valid(vm.directory, digest):
                    self._build_vm(base, vm)
                    built.append("vm")
        return Images(base, attacker, vm, tuple(built))

    def prune(self, keep: Images) -> list[Path]:
        """Remove this suite's other cached images (older inputs). Refused while a lab is up."""
        if (self.cache / "lab" / "state.json").exists():
            raise LabError(
                "jamaa lab image --prune: a lab is up (it may run on an older image); take it down first"
            )
        kept = {keep.base.directory, *(i.directory for i in (keep.attacker, keep.vm) if i is not None)}
        removed = []
        with locked(self.images_dir / ".lock"):
            for kind in ("base", "attacker", "vm"):
                for directory in sorted(self.images_dir.glob(f"{kind}-{self.profile.suite}-*")):
                    if directory not in kept and not mounts_under(directory):
                        shutil.rmtree(directory)
                        removed.append(directory)
        return removed

    def _fresh_build_dir(self, final: Path) -> Path:
        build = final.with_name(".build-" + final.name)
        if build.exists():
            unmount_under(build)
            shutil.rmtree(build)
        build.mkdir(parents=True)
        return build

    def _publish(self, build: Path, final: Path, inputs: dict[str, Any], digest: str, **extra: Any) -> None:
        manifest = {
            "digest": digest,
            "inputs": inputs,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **extra,
        }
        (build / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if final.exists():
            unmount_under(final)
            shutil.rmtree(final)
        build.rename(final)

    def _build_base(self, image: BaseImage) -> None:
        require_tools(["debootstrap"])
        p = self.profile
        build = self._fresh_build_dir(image.directory)
        rootfs = build / "rootfs"
        log = build / "build.log"
        started = time.monotonic()
        self.note(f"debootstrap {p.suite} from {p.mirror} (about a minute)")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(sorted({*BASE_PACKAGES, *p.image.packages})),
                p.suite,
                rootfs,
                p.mirror,
            ],
            log=log,
        )
        self.note("preparing the rootfs for lab use")
        for pattern in ("etc/ssh/ssh_host_*", "var/lib/dbus/machine-id", "etc/apt/sources.list.d/*"):
            for path in rootfs.glob(pattern):
                path.unlink()
        for relative, (content, mode) in _prepared_files(p.suite, p.mirror, self.pubkey).items():
            path = rootfs / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                path.unlink()
            path.write_text(content)
            path.chmod(mode)
        (rootfs / "root/.ssh").chmod(0o700)
        for action, *units in _SYSTEMCTL:
            run(["systemctl", f"--root={rootfs}", action, *units], log=log)
        _clean_apt(rootfs)
        packages = _dpkg_list(rootfs)
        self._publish(
            build,
            image.directory,
            self.base_inputs(),
            image.digest,
            build_seconds=round(time.monotonic() - started, 1),
            installed=packages,
        )

    def _install_in_overlay(self, base: BaseImage, build: Path, packages: list[str], log: Path) -> Path:
        """Mount an overlay over the base rootfs and apt-get install `packages` into it; returns merged."""
        upper, work, merged = build / "layer", build / "work", build / "merged"
        for d in (upper, work, merged):
            d.mkdir()
        run(
            ["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={base.rootfs},upperdir={upper},workdir={work}", merged],
        )  # fmt: skip
        policy = merged / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        # the layer starts current (security updates applied natively, not later under emulation)
        script = (
            "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q; apt-get dist-upgrade -y -q; "
            "apt-get install -y -q --no-install-recommends " + " ".join(sorted(packages))
        )
        run(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--resolv-conf=bind-host",
             "--timezone=off", "--link-journal=no", "-D", merged, "--pipe", "sh", "-c", script],
            log=log,
        )  # fmt: skip
        policy.unlink()
        _clean_apt(merged)
        return merged

    def _build_attacker(self, base: BaseImage, image: LayerImage) -> None:
        build = self._fresh_build_dir(image.directory)
        log = build / "build.log"
        started = time.monotonic()
        packages = list(self.profile.image.attacker_packages)
        self.note(f"attacker layer: {', '.join(packages)}")
        merged = self._install_in_overlay(base, build, packages, log)
        installed = _dpkg_list(merged)
        unmount_under(merged)
        shutil.rmtree(build / "work")
        merged.rmdir()
        self._publish(
            build,
            image.directory,
            self.attacker_inputs(base.digest),
            image.digest,
            build_seconds=round(time.monotonic() - started, 1),
            installed=installed,
        )

    def _build_vm(self, base: BaseImage, image: VmImage) -> None:
        require_tools(["qemu-img", "mkfs.ext4"])
        build = self._fresh_build_dir(image.directory)
        log = build / "build.log"
        started = time.monotonic()
        packages = sorted({KERNEL_PACKAGE, *self.profile.image.vm_packages})
        self.note(f"VM disk: {', '.join(packages)}")
        merged = self._install_in_overlay(base, build, packages, log)
        try:
            kernels = sorted((merged / "boot").glob("vmlinuz-*"))
            if not kernels:
                raise LabError(f"VM image: no kernel in {merged / 'boot'} after installing {KERNEL_PACKAGE}")
            version = kernels[-1].name.removeprefix("vmlinuz-")
            initrd = merged / "boot" / f"initrd.img-{version}"
            if not initrd.exists():
                raise LabError(f"VM image: no initrd for kernel {version}")
            shutil.copyfile(kernels[-1], build / "vmlinuz")
            shutil.copyfile(initrd, build / "initrd.img")
            installed = _dpkg_list(merged)
            for relative, (content, mode) in VM_FILES.items():
                target = merged / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
                target.chmod(mode)
            raw = build / "disk.raw"
            self.note(f"VM disk: ext4 {self.profile.image.vm_disk_gb} GiB → qcow2")
            run(
                [
                    "mkfs.ext4",
                    "-q",
                    "-F",
                    "-L",
                    "root",
                    "-d",
                    merged,
                    raw,
                    f"{self.profile.image.vm_disk_gb}G",
                ],
                log=log,
            )
        finally:
            unmount_under(merged)
        run(["qemu-img", "convert", "-O", "qcow2", raw, build / "disk.qcow2"], log=log)
        raw.unlink()
        for leftover in ("layer", "work", "merged"):
            shutil.rmtree(build / leftover)
        self._publish(
            build,
            image.directory,
            self.vm_inputs(base.digest),
            image.digest,
            build_seconds=round(time.monotonic() - started, 1),
            kernel=version,
            installed=installed,
        )


def _clean_apt(root: Path) -> None:
    """No stale package lists or downloaded .debs in an image (hosts run `apt update` themselves)."""
    for pattern in ("var/lib/apt/lists/*", "var/cache/apt/archives/*.deb", "var/cache/apt/*.bin"):
        for path in root.glob(pattern):
            if path.is_file() and path.name != "lock":
                path.unlink()


def _dpkg_list(root: Path) -> list[str]:
    proc = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f", "${Package}=${Version}\n"])
    return sorted(proc.stdout.split())


def describe(images: Images) -> list[tuple[str, Path, str]]:
    """(artefact, path, digest) rows for a table."""
    rows = [("base rootfs", images.base.rootfs, images.base.digest)]
    if images.attacker is not None:
        rows.append(("attacker layer", images.attacker.layer, images.attacker.digest))
    if images.vm is not None:
        rows.append(("VM disk", images.vm.disk, images.vm.digest))
    return rows
