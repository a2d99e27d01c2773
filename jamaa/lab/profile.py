"""The lab profile: which hosts the lab runs, what each plays, and what its image carries.

A profile is data (`environments/lab/profile.yaml` is the default one, `profile.NAME.yaml` the others)
read into this model. Bad input stops here with `FILE: FIELD.PATH: reason`.

Hosts get Ansible groups from what they are: `role: commune_server` → `commune_servers`,
`role: attacker` → `attackers`; `kind: container` → `containers` (servers only: the attacker is a
probe, not a target), `kind: vm` → `vms`; plus any `groups:` listed. Every host sits on the lab LAN at
`lan_ip`; commune servers also get a way out (slirp4netns for containers, QEMU's user-mode NAT for
the VM) so apt reaches Debian's archive. The attacker gets the LAN only.

`suite` is the lab's Debian release; a host may run another one (`suite:` on the host), so one lab
converges and verifies Debian 12 and Debian 13 side by side. Each suite in use gets its own cached image.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jamaa.errors import ConfigError
from jamaa.yamlio import load_yaml

SUITES = ("trixie", "bookworm")
HOST_NAME = r"^[a-z][a-z0-9-]{0,13}[a-z0-9]$"
PACKAGE_NAME = r"^[a-z0-9][a-z0-9+.-]+$"
DEFAULT_PROFILE = "default"

PackageName = Annotated[str, Field(pattern=PACKAGE_NAME)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageSpec(_Strict):
    """What the image carries beyond the base set (see `jamaa.lab.image.BASE_PACKAGES`).

    `packages` go in every host's root filesystem; `vm_packages` only in the VM's disk (things that
    need a kernel of their own: auditd, aide, nftables...), so the containers still prove the roles
    install them on a fresh host; `attacker_packages` only in the attacker's layer (it has no way out
    to install anything).
    """

    packages: list[PackageName] = []
    vm_packages: list[PackageName] = []
    attacker_packages: list[PackageName] = ["netcat-openbsd", "nmap", "curl"]
    vm_disk_gb: int = Field(default=4, ge=2, le=64)


class VmSpec(_Strict):
    """QEMU settings. TCG (software emulation) unless `accel: kvm` and /dev/kvm really works."""

    accel: Literal["tcg", "kvm"] = "tcg"
    cpu_model: str = Field(default="max", pattern=r"^[A-Za-z0-9_.,=-]+$")
    memory_mb: int = Field(default=1024, ge=256, le=16384)
    cpus: int = Field(default=2, ge=1, le=16)
    boot_timeout_s: int = Field(default=240, ge=10, le=1800)
    boot_attempts: int = Field(default=3, ge=1, le=10)


class LanSpec(_Strict):
    """The lab's private LAN: a bridge in a network namespace of its own (never on the host's side).

    `service_ip` is the bridge's own address, where the lab's services (the S3 endpoint) listen.
    """

    cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("192.168.77.0/24")
    service_ip: ipaddress.IPv4Address = ipaddress.IPv4Address("192.168.77.1")

    @model_validator(mode="after")
    def _service_in_lan(self) -> LanSpec:
        if self.service_ip not in self.cidr or self.service_ip in (
            self.cidr.network_address,
            self.cidr.broadcast_address,
        ):
            raise ValueError(f"service_ip {self.service_ip} is not a host address of {self.cidr}")
        return self


class S3Spec(_Strict):
    """moto's S3 server, run inside the LAN's namespace at `lan.service_ip:port`."""

    port: int = Field(default=9000, ge=1, le=65535)
    region: str = "eu-west-3"
    access_key_id: str = "jamaa-lab"
    secret_access_key: str = "jamaa-lab-secret"


class HostSpec(_Strict):
    name: str = Field(pattern=HOST_NAME)
    kind: Literal["container", "vm"]
    role: Literal["commune_server", "attacker"]
    lan_ip: ipaddress.IPv4Address
    communes: list[str] = []
    groups: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = []
    suite: Literal["trixie", "bookworm"] | None = None  # None: the profile's suite

    @model_validator(mode="after")
    def _attacker_shape(self) -> HostSpec:
        if self.role == "attacker" and self.kind != "container":
            raise ValueError("an attacker is a container (it only needs the LAN)")
        if self.role == "attacker" and self.communes:
            raise ValueError("an attacker serves no commune")
        return self

    @property
    def ansible_groups(self) -> list[str]:
        groups = []
        if self.role == "commune_server":
            groups.append("commune_servers")
            groups.append("containers" if self.kind == "container" else "vms")
        else:
            groups.append("attackers")
        return groups + [g for g in self.groups if g not in groups]

    @property
    def has_way_out(self) -> bool:
        """Commune servers reach Debian's archive; the attacker has the LAN only."""
        return self.role != "attacker"


class Profile(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    suite: Literal["trixie", "bookworm"] = "trixie"
    mirror: str = Field(default="http://deb.debian.org/debian", pattern=r"^https?://[^\s]+[^/\s]$")
    ssh_port_base: int = Field(default=22200, ge=1024, le=65000)
    lan: LanSpec = LanSpec()
    image: ImageSpec = ImageSpec()
    vm: VmSpec = VmSpec()
    s3: S3Spec = S3Spec()
    hosts: list[HostSpec] = Field(min_length=1)

    @field_validator("hosts")
    @classmethod
    def _unique_names(cls, hosts: list[HostSpec]) -> list[HostSpec]:
        seen: set[str] = set()
        for host in hosts:
            if host.name in seen:
                raise ValueError(f"host name {host.name!r} is used twice")
            seen.add(host.name)
        return hosts

    @model_validator(mode="after")
    def _lan_addresses(self) -> Profile:
        taken = {self.lan.service_ip: "lan.service_ip"}
        for index, host in enumerate(self.hosts):
            where = f"hosts.{index}.lan_ip"
            if host.lan_ip not in self.lan.cidr or host.lan_ip in (
                self.lan.cidr.network_address,
                self.lan.cidr.broadcast_address,
            ):
                raise ValueError(f"{where}: {host.lan_ip} is not a host address of {self.lan.cidr}")
            if host.lan_ip in taken:
                raise ValueError(f"{where}: {host.lan_ip} is already used by {taken[host.lan_ip]}")
            taken[host.lan_ip] = where
        if not any(h.role == "commune_server" for h in self.hosts):
            raise ValueError("hosts: the lab needs at least one commune_server")
        if self.lan.cidr.overlaps(ipaddress.IPv4Network("10.0.2.0/24")):
            raise ValueError("lan.cidr: overlaps 10.0.2.0/24, the user-mode NAT's network")
        return self

    def suite_of(self, host: HostSpec) -> str:
        """The Debian suite a host runs: its own `suite`, else the profile's."""
        return host.suite or self.suite

    @property
    def suites(self) -> list[str]:
        """The suites in use, the profile's own first."""
        used = {self.suite_of(h) for h in self.hosts}
        return [self.suite, *sorted(used - {self.suite})] if self.suite in used else sorted(used)

    def for_suite(self, suite: str) -> Profile:
        """This profile narrowed to the hosts of one suite (what that suite's image must carry)."""
        hosts = [h for h in self.hosts if self.suite_of(h) == suite]
        return self.model_copy(update={"suite": suite, "hosts": hosts})

    def host(self, name: str) -> HostSpec:
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise ConfigError([f"profile {self.name}: no host named {name!r} (hosts: {known})"])

    @property
    def containers(self) -> list[HostSpec]:
        return [h for h in self.hosts if h.kind == "container"]

    @property
    def vms(self) -> list[HostSpec]:
        return [h for h in self.hosts if h.kind == "vm"]

    @property
    def needs_attacker_layer(self) -> bool:
        return any(h.role == "attacker" for h in self.hosts)


def profile_path(environments: Path, name: str) -> Path:
    """`default` is `environments/lab/profile.yaml`; any other NAME is `profile.NAME.yaml` beside it."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ConfigError([f"--profile: {name!r}: a profile name is lower-case letters, digits, '-'"])
    lab_dir = environments / "lab"
    return lab_dir / ("profile.yaml" if name == DEFAULT_PROFILE else f"profile.{name}.yaml")


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top)"


def load_profile(path: Path, catalogue: Path | None = None) -> Profile:
    """Read and validate one profile; every problem is `FILE: FIELD.PATH: reason`.

    With `catalogue` (the communes CSV), each host's communes must exist there.
    """
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top): a profile is a mapping"])
    try:
        profile = Profile.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            message = str(item["msg"]).removeprefix("Value error, ")
            loc = _format_loc(item["loc"])
            # whole-profile checks already name their field ("hosts.1.lan_ip: ...")
            problems.append(
                f"{path}: {message}" if loc == "(top)" and ": " in message else f"{path}: {loc}: {message}"
            )
        raise ConfigError(problems) from None
    if catalogue is not None and catalogue.exists():
        from jamaa.communes import load_catalogue_csv

        known = {c.commune_id for c in load_catalogue_csv(catalogue)}
        problems = [
            f"{path}: hosts.{i}.communes.{j}: unknown commune {cid!r} (not in {catalogue})"
            for i, host in enumerate(profile.hosts)
            for j, cid in enumerate(host.communes)
            if cid not in known
        ]
        if problems:
            raise ConfigError(problems)
    return profile


def load_named_profile(environments: Path, name: str = DEFAULT_PROFILE) -> Profile:
    return load_profile(profile_path(environments, name), catalogue=environments / "catalog" / "communes.csv")
