"""The environments model: one typed, validated view of everything under `environments/`.

`load_environments(root)` reads
  national.yaml                 hosting, IP plan, mandatory tags, data classes, CNDP authorisations
  regions/ma-NN.yaml            the 12 regions (2015 division) and their overrides
  catalog/communes.csv          the commune catalogue (`jamaa communes import`)
  ipam.yaml                     the IP ledger (`jamaa ipplan sync`)
  organization.yaml             the AWS organization: OUs, accounts, roles, guardrails (optional)
  <env>/environment.yaml        per-environment settings (prod, staging, lab, …)
and raises `ConfigError` listing every problem as `FILE: FIELD.PATH: reason`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from jamaa import ipplan
from jamaa.communes import REGION_CODES, Commune, load_catalogue_csv
from jamaa.errors import ConfigError, JamaaError
from jamaa.yamlio import load_yaml

# Private address space (RFC 1918): every network of the plan lives in it, nothing public.
PRIVATE_SPACE = tuple(ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

DataClassName = Literal["public", "internal", "personal", "sensitive"]
DATA_CLASSES: tuple[str, ...] = ("public", "internal", "personal", "sensitive")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- national.yaml ---------------------------------------------------------------------------


class SovereignLocation(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    city: str
    description: str

    @field_validator("id")
    @classmethod
    def _not_a_cloud_location(cls, value: str) -> str:
        # data stores name their location "aws", "aws:<region>" or a sovereign id: the two must never meet
        if value == "aws" or value.startswith("aws-") or AWS_REGION.match(value):
            raise ValueError(f"{value!r} collides with a cloud location name (aws, aws:<region>, a region)")
        return value


class Hosting(StrictModel):
    primary_region: str = "eu-south-2"
    dr_region: str = "eu-west-3"
    allowed_regions: list[str] = Field(min_length=1)
    sovereign_locations: list[SovereignLocation] = Field(min_length=1)
    # DNS domain under which the tenancies' internal services are named (TLS certificates).
    internal_domain: str = Field("jamaa.gov.ma", pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    # Who publishes the TLS certificates' DNS validation records: "route53" (each stack owns the
    # public zone <region>.<env>.<internal_domain>, delegated once from the parent domain) or
    # "external" (the parent domain's owner publishes the record each stack exports).
    certificate_validation: Literal["route53", "external"] = "route53"

    @field_validator("sovereign_locations")
    @classmethod
    def _unique_ids(cls, value: list[SovereignLocation]) -> list[SovereignLocation]:
        ids = [location.id for location in value]
        for index, location_id in enumerate(ids):
            if location_id in ids[:index]:
                raise ValueError(
                    f"duplicate location id {location_id!r} (entries {ids.index(location_id)} and {index})"
                )
        return value

    @field_validator("primary_region", "dr_region")
    @classmethod
    def _aws_region(cls, value: str) -> str:
        if not AWS_REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name")
        return value


class IpPlan(StrictModel):
    supernet: IPv4Network
    region_prefix: int = Field(16, ge=8, le=24)
    dedicated_prefix: int = Field(27, ge=16, le=29)
    office_supernet: IPv4Network
    office_prefix: int = Field(24, ge=16, le=29)


class DataClassPolicy(StrictModel):
    retention_floor_days: int = Field(ge=1)
    description: str
    sovereign_only: bool = False


class CndpAuthorisation(StrictModel):
    reference: str = Field(min_length=1)
    holder: str
    regions: list[str] = Field(min_length=1)
    expires: date


class WaiverPolicy(StrictModel):
    # The longest a waiver may run, counted from the day it is validated (its expiry minus today).
    max_duration_days: int = Field(365, ge=1, le=1095)


class National(StrictModel):
    programme: str
    hosting: Hosting
    ip_plan: IpPlan
    mandatory_tags: list[str] = Field(min_length=1)
    data_classes: dict[DataClassName, DataClassPolicy]
    cndp_authorisations: list[CndpAuthorisation] = []
    waivers: WaiverPolicy = WaiverPolicy()

    def sovereign_ids(self) -> set[str]:
        return {location.id for location in self.hosting.sovereign_locations}

    def retention_floor(self, data_class: str) -> int:
        return self.data_classes[data_class].retention_floor_days  # type: ignore[index]


# --- regions/ma-NN.yaml ----------------------------------------------------------------------


class DedicatedCommune(StrictModel):
    commune: str
    data_class: DataClassName


class Office(StrictModel):
    commune: str
    gateway_ip: IPv4Address
    bgp_asn: int = Field(65000, ge=1, le=4294967295)
    cidr: IPv4Network | None = None


class DataStore(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    data_class: DataClassName
    # "aws" (the primary region), "aws:<region>", or the id of a sovereign location
    location: str


class Region(StrictModel):
    code: str = Field(pattern=r"^MA-\d{2}$")
    name_fr: str = Field(min_length=1)
    name_ar: str = Field(min_length=1)
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    cost_centre: str
    cidr: IPv4Network | None = None
    dedicated_communes: list[DedicatedCommune] = []
    offices: list[Office] = []
    data_stores: list[DataStore] = []

    @field_validator("name_fr", "name_ar")
    @classmethod
    def _no_display_suffix(cls, value: str) -> str:
        if "(EH)" in value:
            raise ValueError("official names carry no '(EH)' display suffix")
        return value

    @property
    def number(self) -> int:
        return int(self.code[3:])


# --- <env>/environment.yaml ------------------------------------------------------------------


class DatabaseSettings(StrictModel):
    multi_az: bool
    deletion_protection: bool
    instance_class: str
    allocated_storage_gb: int = Field(ge=20, le=65536)


class SecurityServices(StrictModel):
    guardduty: bool = True
    config: bool = True
    security_hub: bool = True


# The CIS disk layout of a commune server (CIS Debian Linux 12 Benchmark v1.0.1, section 1.1.2): each
# mount point below is a separate filesystem on the data volume, with at least these options. The
# cloud-init document (jamaa/cloudinit.py) builds it at first boot, in EC2 and in the lab VM alike.
CIS_MOUNTS: dict[str, tuple[str, ...]] = {
    "/tmp": ("nodev", "nosuid", "noexec"),  # 1.1.2.1.1-4
    "/home": ("nodev", "nosuid"),  # 1.1.2.3.1-3
    "/var": ("nodev", "nosuid"),  # 1.1.2.4.1-3
    "/var/tmp": ("nodev", "nosuid", "noexec"),  # 1.1.2.5.1-4
    "/var/log": ("nodev", "nosuid", "noexec"),  # 1.1.2.6.1-4
    "/var/log/audit": ("nodev", "nosuid", "noexec"),  # 1.1.2.7.1-4
}
# Options that break a commune server on that mount point, with the reason shown to whoever set them.
FORBIDDEN_OPTIONS: dict[tuple[str, str], str] = {
    ("/var", "noexec"): (
        "noexec on /var breaks package installs and upgrades: dpkg runs the maintainer scripts "
        "(preinst, postinst, prerm, postrm) from /var/lib/dpkg/info, so apt fails with 'Permission denied' "
        "(CIS asks only nodev and nosuid for /var)"
    ),
    ("/home", "noexec"): (
        "noexec on /home is not a CIS option for /home and stops the administrators' own scripts "
        "(CIS asks only nodev and nosuid for /home)"
    ),
}
# GiB the data volume keeps free beyond its filesystems: the GPT headers and partition alignment.
PARTITION_TABLE_GB = 1
MOUNT_OPTION = r"^[a-z_]+(=[A-Za-z0-9_.,:-]+)?$"


class Filesystem(StrictModel):
    size_gb: int = Field(ge=1, le=16384)
    options: list[Annotated[str, Field(pattern=MOUNT_OPTION)]]


class DiskLayout(StrictModel):
    root_volume_gb: int = Field(ge=8, le=16384)
    data_volume_gb: int = Field(ge=2, le=16384)
    # mount point → filesystem; every CIS mount point (CIS_MOUNTS) is required
    filesystems: dict[Annotated[str, Field(pattern=r"^/[a-z0-9_/-]*[a-z0-9_-]$")], Filesystem]

    def ordered(self) -> list[tuple[str, Filesystem]]:
        """Parents before children (/var before /var/log before /var/log/audit): the mount order."""
        return sorted(self.filesystems.items(), key=lambda item: (item[0].count("/"), item[0]))


class ServerSettings(StrictModel):
    shared_pool_size: int = Field(ge=1, le=50)
    instance_type: str
    disk: DiskLayout


LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


def _one_spelling(value: Any) -> Any:
    if isinstance(value, str) and value not in LOCK_MODES and value.upper() in LOCK_MODES:
        raise ValueError(f"{value!r}: write the lock mode as S3 spells it, {' or '.join(LOCK_MODES)}")
    return value


LockMode = Annotated[Literal["COMPLIANCE", "GOVERNANCE"], BeforeValidator(_one_spelling)]
"""Object Lock and Vault Lock modes, spelled one way: as the S3 API does (COMPLIANCE, GOVERNANCE)."""


class EnvironmentSettings(StrictModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    region: str | None = Field(None, pattern=r"^MA-\d{2}$")  # the region a single-stack env models
    primary_region: str | None = None  # override of national hosting
    dr_region: str | None = None
    availability_zones: int = Field(ge=2, le=3)
    nat_gateway_per_az: bool
    database: DatabaseSettings
    kms_deletion_window_days: int = Field(ge=7, le=30)
    object_lock_mode: LockMode
    backup_vault_lock_mode: LockMode
    log_retention_days: int = Field(ge=1)
    backup_retention_days: dict[DataClassName, int]
    security_services: SecurityServices = SecurityServices()
    servers: ServerSettings
    monthly_budget_usd: int = Field(ge=1)
    # True: each stack deploys into its own member account (organization.yaml), and GuardDuty,
    # Security Hub and the trail come from the organization stacks rather than the stack.
    organization: bool = False


# --- ipam.yaml -------------------------------------------------------------------------------


class Ipam(StrictModel):
    dedicated: dict[str, IPv4Network] = {}
    offices: dict[str, IPv4Network] = {}


# --- organization.yaml -----------------------------------------------------------------------

EMAIL = r"^[a-z0-9][a-z0-9._+-]*@([a-z0-9-]+\.)+[a-z]{2,}$"
OU_PATH = r"^[a-z0-9-]+(/[a-z0-9-]+)*$"
ROLE_NAME = r"^[A-Za-z0-9+=,.@_-]{1,64}$"
ORGANIZATION_STACKS: tuple[str, ...] = ("org", "log-archive", "security")
"""The organization's own stacks, deployed (in this order) before any regional stack."""


class ManagementAccount(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,48}$")
    email: str = Field(pattern=EMAIL)
    cost_centre: str = Field(min_length=1)


class OrganizationalUnit(StrictModel):
    path: str = Field(pattern=OU_PATH)
    description: str = Field(min_length=1)

    @property
    def parent(self) -> str | None:
        return self.path.rpartition("/")[0] or None


class MemberAccount(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,48}$")
    email: str = Field(pattern=EMAIL)
    ou: str = Field(pattern=OU_PATH)
    kind: Literal["log-archive", "security", "region", "sandbox"]
    stack: str | None = None  # the regional stack that deploys into it (kind: region)


class PipelineTrust(StrictModel):
    """CI's OpenID Connect identity, allowed to assume the pipeline role (no long-lived keys)."""

    provider: str = Field(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}(/[A-Za-z0-9._/-]*)?$")  # host[/path]
    audience: str = "sts.amazonaws.com"
    subjects: list[str] = Field(min_length=1)  # e.g. repo:<owner>/<repo>:ref:refs/heads/main


class AccountRoles(StrictModel):
    account_access: str = Field("OrganizationAccountAccessRole", pattern=ROLE_NAME)
    deployment: str = Field("jamaa-deployment", pattern=ROLE_NAME)
    break_glass: str = Field("jamaa-break-glass", pattern=ROLE_NAME)
    pipeline: str = Field("jamaa-pipeline", pattern=ROLE_NAME)
    # who may assume the pipeline role besides the management account's own principals
    pipeline_oidc: PipelineTrust | None = None


class Guardrails(StrictModel):
    allowed_regions: list[str] | None = None  # default: national.yaml's allowed_regions
    global_service_actions: list[str] = Field(min_length=1)

    @field_validator("global_service_actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        for action in value:
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z*]+", action):
                raise ValueError(f"{action!r} is not an IAM action (service:Action or service:*)")
        return value


class LogArchiveSettings(StrictModel):
    retention_days: int = Field(ge=1)
    object_lock_mode: LockMode
    kms_deletion_window_days: int = Field(30, ge=7, le=30)


class Organization(StrictModel):
    management: ManagementAccount
    log_archive: LogArchiveSettings
    organizational_units: list[OrganizationalUnit] = Field(min_length=1)
    roles: AccountRoles = AccountRoles()
    guardrails: Guardrails
    accounts: list[MemberAccount] = Field(min_length=1)

    def account_of_kind(self, kind: str) -> MemberAccount:
        return next(a for a in self.accounts if a.kind == kind)

    def account_for_stack(self, stack: str) -> MemberAccount | None:
        return next((a for a in self.accounts if a.stack == stack), None)


# --- the whole ---------------------------------------------------------------------------------


class TenancyPlan(StrictModel):
    """What a regional stack deploys, decided here from the data (`Environments.tenancy_plan`) and checked
    on construction: stacks/__main__.py only wires components with it."""

    region: str
    environment: str
    archive_class: DataClassName | None
    """The class of the region's `archive` data store when it is placed in AWS (None: no archive there)."""
    database_class: DataClassName
    """The class of the region's `database` data store when placed in AWS; personal when it names none."""
    server_data_class: DataClassName
    """What the shared server pool holds: the archive's class, else personal."""
    management_cidr: IPv4Network
    """The first block of the national supernet, which stays national: the DGCT management network."""
    host_backups_class: DataClassName
    """The servers' restic bucket is kept as long as the longest-kept class any server holds."""
    host_backups_retention_days: int = Field(ge=1)
    """The longest of those classes' floors and of the environment's backup retentions."""
    retention_floor_days: int = Field(ge=1)
    """The floor of `host_backups_class` (national.yaml)."""
    budget_shares_usd: dict[str, int]
    """Per dedicated commune: an equal share of the monthly budget (the shared pool keeps one share)."""
    monthly_budget_usd: int = Field(ge=1)

    @model_validator(mode="after")
    def _keeps_floors_and_budget(self) -> TenancyPlan:
        if self.host_backups_retention_days < self.retention_floor_days:
            raise ValueError(
                f"host_backups_retention_days: {self.host_backups_retention_days} is under the "
                f"{self.host_backups_class} floor of {self.retention_floor_days} days"
            )
        if self.management_cidr.prefixlen < 8:
            raise ValueError(f"management_cidr: {self.management_cidr} is wider than a /8")
        if sum(self.budget_shares_usd.values()) > self.monthly_budget_usd:
            raise ValueError(
                f"budget_shares_usd: the dedicated communes' shares exceed the monthly budget of "
                f"{self.monthly_budget_usd} USD"
            )
        return self


@dataclass(frozen=True)
class Stack:
    """A stack resolved to its region and environment."""

    name: str
    region: Region
    environment: EnvironmentSettings


@dataclass
class Environments:
    root: Path
    national: National
    regions: dict[str, Region]
    communes: dict[str, Commune]
    environments: dict[str, EnvironmentSettings]
    ipam: Ipam
    files: dict[str, Path] = field(default_factory=dict)
    organization: Organization | None = None

    def allowed_regions_scp(self) -> list[str]:
        """The regions the region-guard SCP leaves open."""
        org = self.organization
        if org is not None and org.guardrails.allowed_regions is not None:
            return list(org.guardrails.allowed_regions)
        return list(self.national.hosting.allowed_regions)

    def region_network(self, code: str) -> IPv4Network:
        region = self.regions[code]
        if region.cidr is not None:
            return region.cidr
        plan = self.national.ip_plan
        return ipplan.region_network(plan.supernet, plan.region_prefix, region.number)

    def dedicated_network(self, commune_id: str) -> IPv4Network:
        return self.ipam.dedicated[commune_id]

    def office_network(self, region_code: str, commune_id: str) -> IPv4Network:
        for office in self.regions[region_code].offices:
            if office.commune == commune_id:
                return office.cidr or self.ipam.offices[commune_id]
        raise KeyError(commune_id)

    def communes_in(self, region_code: str) -> list[Commune]:
        return [c for c in self.communes.values() if c.region == region_code]

    def primary_region(self, environment: str) -> str:
        return self.environments[environment].primary_region or self.national.hosting.primary_region

    def dr_region(self, environment: str) -> str:
        return self.environments[environment].dr_region or self.national.hosting.dr_region

    def tenancy_plan(self, region_code: str, environment: str) -> TenancyPlan:
        """The decisions of the regional stack `region_code` × `environment` (see TenancyPlan)."""
        if region_code not in self.regions:
            raise JamaaError(
                f"jamaa:region: unknown region {region_code!r} (known: {', '.join(sorted(self.regions))})"
            )
        if environment not in self.environments:
            raise JamaaError(
                f"jamaa:environment: unknown environment {environment!r} "
                f"(known: {', '.join(sorted(self.environments))})"
            )
        region = self.regions[region_code]
        settings = self.environments[environment]
        national = self.national
        in_aws = {
            s.name: s for s in region.data_stores if s.location == "aws" or s.location.startswith("aws:")
        }
        archive_class = in_aws["archive"].data_class if "archive" in in_aws else None
        server_class = archive_class or "personal"
        held = {server_class, *(d.data_class for d in region.dedicated_communes)}
        host_class = max(sorted(held), key=national.retention_floor)
        plan = national.ip_plan
        share = settings.monthly_budget_usd // (len(region.dedicated_communes) + 1)
        return TenancyPlan(
            region=region_code,
            environment=environment,
            archive_class=archive_class,
            database_class=in_aws["database"].data_class if "database" in in_aws else "personal",
            server_data_class=server_class,
            management_cidr=next(iter(plan.supernet.subnets(new_prefix=plan.region_prefix))),
            host_backups_class=host_class,
            host_backups_retention_days=max(
                max(national.retention_floor(c), settings.backup_retention_days.get(c, 0)) for c in held
            ),
            retention_floor_days=national.retention_floor(host_class),
            budget_shares_usd={d.commune: share for d in region.dedicated_communes},
            monthly_budget_usd=settings.monthly_budget_usd,
        )

    def stack(self, name: str) -> Stack:
        """`ma-07-prod` → (MA-07, prod); an environment with a fixed region (`lab`) is its own stack."""
        match = re.fullmatch(r"(ma-\d{2})-([a-z][a-z0-9-]*)", name)
        if match:
            code, env = match.group(1).upper(), match.group(2)
        elif name in self.environments and self.environments[name].region:
            env, code = name, self.environments[name].region or ""
        else:
            raise JamaaError(f"stack {name!r}: expected ma-NN-<environment> or an environment with a region")
        if code not in self.regions:
            raise JamaaError(f"stack {name!r}: unknown region {code}")
        if env not in self.environments:
            raise JamaaError(
                f"stack {name!r}: unknown environment {env!r} (known: {', '.join(sorted(self.environments))})"
            )
        return Stack(name=name, region=self.regions[code], environment=self.environments[env])

    def region_stack_names(self) -> list[str]:
        """The regional stacks: ma-NN-<env> for each environment without a fixed region, then those
        environments with one (`lab`)."""
        names = [
            f"{code.lower()}-{env}"
            for env, settings in sorted(self.environments.items())
            if not settings.region
            for code in sorted(self.regions)
        ]
        names += [env for env, settings in sorted(self.environments.items()) if settings.region]
        return names

    def stack_names(self) -> list[str]:
        """Every stack: the organization's (in deployment order, when there is an organization),
        then the regional ones."""
        organization = list(ORGANIZATION_STACKS) if self.organization is not None else []
        return organization + self.region_stack_names()


# --- loading ---------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (typo?)"
    if kind == "missing":
        return "required key is missing"
    if kind in ("literal_error", "enum") and error.get("ctx"):
        shown = repr(error["input"])
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"unknown value {shown}; expected {error['ctx'].get('expected')}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


class _Unreadable:
    """Marks a file whose YAML could not be read (its problem is already recorded)."""


UNREADABLE = _Unreadable()


def _parse(model: type[M], data: Any, path: Path, problems: list[str]) -> M | None:
    if data is UNREADABLE:
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{path}: (top level): expected a mapping of keys")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("[")))
            problems.append(f"{path}: {_location(loc)}: {_reason(item)}")
        return None


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return load_yaml(path)
    except ConfigError as error:
        problems.extend(error.problems)
        return UNREADABLE


def load_environments(root: Path, *, check_ledger: bool = True) -> Environments:
    """Load and cross-check every file; raise ConfigError with all problems found.

    `check_ledger=False` skips the IP ledger's completeness (what `jamaa ipplan sync` repairs).
    """
    problems: list[str] = []
    if not root.is_dir():
        raise ConfigError([f"{root}: not a directory of environments"])
    problems.extend(check_tree(root))
    if problems:  # a link out of the tree, or a misplaced file: nothing else is read
        raise ConfigError(problems)

    national_path = root / "national.yaml"
    national = _parse(National, _read(national_path, problems), national_path, problems)

    regions: dict[str, Region] = {}
    region_files: dict[str, Path] = {}
    for path in sorted((root / "regions").glob("*.yaml")):
        region = _parse(Region, _read(path, problems), path, problems)
        if region is None:
            continue
        if region.code not in REGION_CODES:
            problems.append(f"{path}: code: unknown region code {region.code!r} (MA-01 … MA-12)")
            continue
        if region.code in regions:
            problems.append(
                f"{path}: code: duplicate region code {region.code} (also in {region_files[region.code]})"
            )
            continue
        if path.stem != region.code.lower():
            problems.append(f"{path}: code: {region.code} must live in {region.code.lower()}.yaml")
        regions[region.code] = region
        region_files[region.code] = path
    if not problems:
        for code in REGION_CODES:
            if code not in regions:
                problems.append(f"{root / 'regions'}: {code}: region file missing ({code.lower()}.yaml)")

    catalogue_path = root / "catalog" / "communes.csv"
    communes: dict[str, Commune] = {}
    try:
        communes = {c.commune_id: c for c in load_catalogue_csv(catalogue_path)}
    except ConfigError as error:
        problems.extend(error.problems)

    environments: dict[str, EnvironmentSettings] = {}
    for path in sorted(root.glob("*/environment.yaml")):
        settings = _parse(EnvironmentSettings, _read(path, problems), path, problems)
        if settings is None:
            continue
        if settings.name != path.parent.name:
            problems.append(f"{path}: name: {settings.name!r} must match its directory {path.parent.name!r}")
        environments[settings.name] = settings

    ipam_path = root / "ipam.yaml"
    ipam = _parse(Ipam, _read(ipam_path, problems), ipam_path, problems) if ipam_path.exists() else Ipam()

    organization_path = root / "organization.yaml"
    organization = (
        _parse(Organization, _read(organization_path, problems), organization_path, problems)
        if organization_path.exists()
        else None
    )

    if national is None or ipam is None or problems:
        raise ConfigError(problems)

    envs = Environments(
        root=root,
        national=national,
        regions=regions,
        communes=communes,
        environments=environments,
        ipam=ipam,
        files={"national": national_path, "ipam": ipam_path, **region_files},
        organization=organization,
    )
    problems.extend(_cross_checks(envs, region_files, check_ledger))
    problems.extend(_check_organization(envs, organization_path))
    problems.extend(_check_disk_layouts(envs))
    if problems:
        raise ConfigError(problems)
    return envs


def check_tree(root: Path) -> Iterator[str]:
    """Links that leave `root`, and waiver files outside an environment (read without following links)."""
    top = root.resolve()
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(directory)
        for name in sorted([*dirnames, *filenames]):
            path = here / name
            if path.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):
                    yield f"{path}: symbolic link that never resolves (a loop)"
                    continue
                if not target.is_relative_to(top):
                    yield f"{path}: symbolic link to {target} leads outside {top}"
        if "waivers.yaml" in filenames and not (here / "environment.yaml").exists():
            yield f"{here / 'waivers.yaml'}: waivers outside an environment (no environment.yaml beside it)"


# --- cross-file rules ------------------------------------------------------------------------


def _cross_checks(envs: Environments, region_files: dict[str, Path], check_ledger: bool) -> Iterator[str]:
    national = envs.national
    national_path = envs.root / "national.yaml"
    hosting = national.hosting
    allowed = set(hosting.allowed_regions)
    today = date.today()

    if hosting.dr_region == hosting.primary_region:
        yield (
            f"{national_path}: hosting.dr_region: must differ from the primary region "
            f"{hosting.primary_region}"
        )
    for key in ("primary_region", "dr_region"):
        value = getattr(hosting, key)
        if value not in allowed:
            yield f"{national_path}: hosting.{key}: {value} is outside the allowed regions {sorted(allowed)}"
    for index, auth in enumerate(national.cndp_authorisations):
        for aws_region in auth.regions:
            if aws_region not in allowed:
                yield (
                    f"{national_path}: cndp_authorisations[{index}].regions: {aws_region} is outside "
                    f"the allowed regions"
                )
    missing_classes = [name for name in DATA_CLASSES if name not in national.data_classes]
    if missing_classes:
        yield f"{national_path}: data_classes: missing {', '.join(missing_classes)}"
        return
    if not national.data_classes["sensitive"].sovereign_only:
        yield f"{national_path}: data_classes.sensitive.sovereign_only: sensitive data is sovereign-only"

    cloud_classes = [name for name, policy in national.data_classes.items() if not policy.sovereign_only]
    for name, settings in sorted(envs.environments.items()):
        path = envs.root / name / "environment.yaml"
        primary = settings.primary_region or hosting.primary_region
        dr = settings.dr_region or hosting.dr_region
        for key, value in (("primary_region", primary), ("dr_region", dr)):
            if value not in allowed:
                yield f"{path}: {key}: {value} is outside the allowed regions {sorted(allowed)}"
        if primary == dr:
            yield f"{path}: dr_region: must differ from the primary region {primary}"
        if settings.region and settings.region not in envs.regions:
            yield f"{path}: region: unknown region {settings.region}"
        left_out = [c for c in cloud_classes if c not in settings.backup_retention_days]
        if left_out:
            yield (
                f"{path}: backup_retention_days: missing {', '.join(left_out)} (every data class that may "
                f"live in the cloud has backup plans, so a retention figure)"
            )
        for data_class, days in sorted(settings.backup_retention_days.items()):
            floor = national.retention_floor(data_class)
            if days < floor:
                yield (
                    f"{path}: backup_retention_days.{data_class}: {days} days is below the "
                    f"{data_class} floor of {floor} days"
                )
        internal_floor = national.retention_floor("internal")
        if settings.log_retention_days < internal_floor:
            yield (
                f"{path}: log_retention_days: {settings.log_retention_days} days is below the "
                f"internal floor of {internal_floor} days"
            )

    sovereign = national.sovereign_ids()
    for code, region in sorted(envs.regions.items()):
        path = region_files[code]
        placements: list[tuple[str, list[str]]] = [
            ("dedicated_communes", [d.commune for d in region.dedicated_communes]),
            ("offices", [o.commune for o in region.offices]),
        ]
        for key, commune_ids in placements:
            seen: set[str] = set()
            for index, commune_id in enumerate(commune_ids):
                commune = envs.communes.get(commune_id)
                where = f"{path}: {key}[{index}].commune"
                if commune is None:
                    yield f"{where}: unknown commune {commune_id!r} (not in the catalogue)"
                elif commune.region != code:
                    yield (
                        f"{where}: commune {commune_id} ({commune.name_fr}) belongs to "
                        f"{commune.region}, not {code}"
                    )
                if commune_id in seen:
                    yield f"{where}: duplicate commune {commune_id}"
                seen.add(commune_id)
        for index, dedicated in enumerate(region.dedicated_communes):
            if dedicated.data_class == "sensitive":
                yield (
                    f"{path}: dedicated_communes[{index}].data_class: sensitive data cannot run on "
                    f"cloud servers; place it on a sovereign location"
                )
        for index, store in enumerate(region.data_stores):
            yield from _check_store(
                store, f"{path}: data_stores[{index}]", national, sovereign, hosting.primary_region
            )
    yield from _check_transfers(envs, region_files, today)

    yield from _check_networks(envs, region_files, check_ledger)


def _check_disk_layouts(envs: Environments) -> Iterator[str]:
    """The commune server's disk layout: every CIS mount point, its CIS options, nothing that breaks
    the server, and filesystems that fit the data volume."""
    for name, settings in sorted(envs.environments.items()):
        yield from check_disk_layout(settings.servers.disk, envs.root / name / "environment.yaml")


def check_disk_layout(disk: DiskLayout, path: Path) -> Iterator[str]:
    field = "servers.disk"
    for mount in CIS_MOUNTS:
        if mount not in disk.filesystems:
            yield (
                f"{path}: {field}.filesystems: mount point {mount} is missing (CIS Debian Linux 12 section "
                f"1.1.2 asks a separate filesystem for each of {', '.join(CIS_MOUNTS)})"
            )
    for mount, filesystem in disk.ordered():
        label = "j" + mount.replace("/", "-")  # jamaa.cloudinit.Mount.label
        if len(label.encode()) > 16:
            yield (
                f"{path}: {field}.filesystems.{mount}: the filesystem label {label!r} is longer than ext4's "
                "16 bytes (choose a shorter mount point)"
            )
        where = f"{field}.filesystems.{mount}.options"
        for option in filesystem.options:
            reason = FORBIDDEN_OPTIONS.get((mount, option.split("=", 1)[0]))
            if reason:
                yield f"{path}: {where}: {reason}"
        lacking = [o for o in CIS_MOUNTS.get(mount, ("nodev",)) if o not in filesystem.options]
        if lacking:
            yield f"{path}: {where}: missing {', '.join(lacking)} (CIS mount options for {mount})"
        for option, opposite in (("dev", "nodev"), ("suid", "nosuid"), ("exec", "noexec")):
            if option in filesystem.options and opposite in filesystem.options:
                yield f"{path}: {where}: both {option} and {opposite}"
    total = sum(f.size_gb for f in disk.filesystems.values())
    room = disk.data_volume_gb - PARTITION_TABLE_GB
    if total > room:
        yield (
            f"{path}: {field}.filesystems: the filesystems take {total} GiB but the "
            f"{disk.data_volume_gb} GiB data volume (data_volume_gb) holds at most {room} GiB of them "
            f"({PARTITION_TABLE_GB} GiB stays for the partition table)"
        )


def _check_store(
    store: DataStore, where: str, national: National, sovereign: set[str], primary: str
) -> Iterator[str]:
    if store.location in sovereign:
        return
    if store.location != "aws" and not store.location.startswith("aws:"):
        yield (
            f"{where}.location: unknown location {store.location!r} "
            f"(aws, aws:<region> or one of {sorted(sovereign)})"
        )
        return
    aws_region = store.location.partition(":")[2] or primary
    if aws_region not in national.hosting.allowed_regions:
        yield f"{where}.location: {aws_region} is outside the allowed regions"
    if store.data_class == "sensitive":
        yield (
            f"{where}.location: sensitive data must stay on a sovereign location "
            f"({', '.join(sorted(sovereign))}), not {store.location}"
        )


def _check_transfers(envs: Environments, region_files: dict[str, Path], today: date) -> Iterator[str]:
    """Personal data abroad needs a valid CNDP authorisation: one line per root cause, not per store."""
    national = envs.national
    national_path = envs.root / "national.yaml"
    needs: dict[str, list[str]] = {}  # AWS region -> the personal data stores placed there
    for code, region in sorted(envs.regions.items()):
        for index, store in enumerate(region.data_stores):
            if store.data_class != "personal" or not (
                store.location == "aws" or store.location.startswith("aws:")
            ):
                continue
            aws_region = store.location.partition(":")[2] or national.hosting.primary_region
            needs.setdefault(aws_region, []).append(f"{region_files[code]}: data_stores[{index}]")
    expired_reported: set[int] = set()
    for aws_region, stores in sorted(needs.items()):
        covering = [(i, a) for i, a in enumerate(national.cndp_authorisations) if aws_region in a.regions]
        if any(auth.expires >= today for _, auth in covering):
            continue
        placed = stores[0] if len(stores) == 1 else f"{len(stores)} data stores, first {stores[0]}"
        if covering:
            for index, auth in covering:
                if index not in expired_reported:
                    expired_reported.add(index)
                    yield (
                        f"{national_path}: cndp_authorisations[{index}].expires: {auth.reference} "
                        f"expired on {auth.expires.isoformat()}; personal data in {aws_region} needs a "
                        f"valid one ({placed})"
                    )
        elif len(stores) == 1:
            yield (
                f"{stores[0]}.location: personal data in {aws_region} (abroad) needs a valid CNDP "
                f"authorisation recorded in national.yaml"
            )
        else:
            yield (
                f"{national_path}: cndp_authorisations: personal data in {aws_region} (abroad) needs a valid "
                f"CNDP authorisation ({placed})"
            )


def _check_networks(envs: Environments, region_files: dict[str, Path], check_ledger: bool) -> Iterator[str]:
    plan = envs.national.ip_plan
    national_path = envs.root / "national.yaml"
    ipam_path = envs.root / "ipam.yaml"
    claimed: list[tuple[IPv4Network, str]] = []

    def claim(network: IPv4Network, owner: str) -> Iterator[str]:
        for other, other_owner in claimed:
            if network.overlaps(other):
                yield f"{owner}: {network} overlaps {other} ({other_owner})"
        claimed.append((network, owner))

    plan_problems = list(_check_plan(plan, national_path))
    if plan_problems:  # every region's network derives from the plan: its problems are the root cause
        yield from plan_problems
        return
    misplaced: set[str] = set()  # regions whose block is wrong: their slices are not checked against it
    for code in sorted(envs.regions):
        path = region_files[code]
        network = envs.region_network(code)
        if not _private(network):
            yield f"{path}: cidr: {network} is public address space (the plan is private, RFC 1918)"
            misplaced.add(code)
        elif not network.subnet_of(plan.supernet):
            yield f"{path}: cidr: {network} is outside the national supernet {plan.supernet}"
            misplaced.add(code)
        else:
            yield from claim(network, f"{path}: cidr")

    needed_dedicated = {d.commune: code for code, r in envs.regions.items() for d in r.dedicated_communes}
    needed_offices = {
        o.commune: code for code, r in envs.regions.items() for o in r.offices if o.cidr is None
    }
    ledgers = (
        ("dedicated", needed_dedicated, envs.ipam.dedicated),
        ("offices", needed_offices, envs.ipam.offices),
    )
    for kind, needed, recorded in ledgers if check_ledger else ():
        for commune_id in sorted(set(needed) - set(recorded)):
            yield f"{ipam_path}: {kind}.{commune_id}: no allocation recorded; run `jamaa ipplan sync`"
        for commune_id in sorted(set(recorded) - set(needed)):
            yield f"{ipam_path}: {kind}.{commune_id}: allocation no longer needed; run `jamaa ipplan sync`"
    for commune_id, network in sorted(envs.ipam.dedicated.items()):
        owner = needed_dedicated.get(commune_id)
        if owner is None or owner in misplaced:
            continue
        code = owner
        pool = ipplan.upper_half(envs.region_network(code))
        if network.prefixlen != plan.dedicated_prefix or not network.subnet_of(pool):
            yield (
                f"{ipam_path}: dedicated.{commune_id}: {network} is not a /{plan.dedicated_prefix} of {pool}"
            )
        # inside its own region's block by design: checked against other communes only
        for other_id, other in envs.ipam.dedicated.items():
            if other_id < commune_id and network.overlaps(other):
                yield (
                    f"{ipam_path}: dedicated.{commune_id}: {network} overlaps {other} (dedicated.{other_id})"
                )
    for code, region in sorted(envs.regions.items()):
        for index, office in enumerate(region.offices):
            where = f"{region_files[code]}: offices[{index}]"
            office_network: IPv4Network | None = None
            if office.cidr is not None:
                office_network = office.cidr
                if not office.cidr.subnet_of(plan.office_supernet):
                    yield f"{where}.cidr: {office.cidr} is outside the office supernet {plan.office_supernet}"
                yield from claim(office.cidr, f"{where}.cidr")
            elif office.commune in envs.ipam.offices:
                office_network = envs.ipam.offices[office.commune]
                if not office_network.subnet_of(plan.office_supernet):
                    yield (
                        f"{ipam_path}: offices.{office.commune}: {office_network} is outside "
                        f"{plan.office_supernet}"
                    )
                yield from claim(office_network, f"{ipam_path}: offices.{office.commune}")
            yield from _check_gateway(office.gateway_ip, office_network, plan, f"{where}.gateway_ip")


def _private(network: IPv4Network) -> bool:
    return any(network.subnet_of(space) for space in PRIVATE_SPACE)  # type: ignore[arg-type]


def _check_plan(plan: IpPlan, national_path: Path) -> Iterator[str]:
    for key in ("supernet", "office_supernet"):
        network: IPv4Network = getattr(plan, key)
        if not _private(network):
            yield (
                f"{national_path}: ip_plan.{key}: {network} is public address space "
                "(the plan is private, RFC 1918)"
            )
    if plan.office_supernet.overlaps(plan.supernet):
        yield (
            f"{national_path}: ip_plan.office_supernet: {plan.office_supernet} overlaps the "
            f"supernet {plan.supernet}"
        )
    blocks = 2 ** max(plan.region_prefix - plan.supernet.prefixlen, 0) - 1
    if blocks < len(REGION_CODES):
        yield (
            f"{national_path}: ip_plan.region_prefix: {plan.supernet} split into /{plan.region_prefix} gives "
            f"{max(blocks, 0)} region blocks; {len(REGION_CODES)} are needed (block 0 stays national)"
        )
    if plan.dedicated_prefix <= plan.region_prefix:
        yield (
            f"{national_path}: ip_plan.dedicated_prefix: /{plan.dedicated_prefix} must be longer than "
            f"/{plan.region_prefix}"
        )
    if plan.office_prefix < plan.office_supernet.prefixlen:
        yield (
            f"{national_path}: ip_plan.office_prefix: /{plan.office_prefix} is wider than the office "
            f"supernet {plan.office_supernet}"
        )


def _check_gateway(
    gateway: IPv4Address, network: IPv4Network | None, plan: IpPlan, where: str
) -> Iterator[str]:
    """The office router's address: a real unicast host address, outside the national plan."""
    unusable = (
        ("the unspecified address", gateway.is_unspecified),
        ("a loopback address", gateway.is_loopback),
        ("a multicast address", gateway.is_multicast),
        ("a link-local address", gateway.is_link_local),
        ("the broadcast address", gateway == IPv4Address("255.255.255.255")),
        ("a reserved address", gateway.is_reserved),
    )
    for reason, applies in unusable:
        if applies:
            yield f"{where}: {gateway} is {reason}; it cannot be a gateway"
            return
    if (
        network is not None
        and network.prefixlen < 31
        and gateway in (network.network_address, network.broadcast_address)
    ):
        kind = "network" if gateway == network.network_address else "broadcast"
        yield f"{where}: {gateway} is the {kind} address of {network}; it cannot be a gateway"
    elif gateway in plan.supernet:
        yield f"{where}: {gateway} is inside the national supernet {plan.supernet}, not an office router"


def _check_organization(envs: Environments, path: Path) -> Iterator[str]:
    """Accounts and OUs against the stacks: each regional stack of an `organization: true`
    environment has exactly one account, names and e-mails are never reused, OUs exist, and the
    region guard never denies a region national.yaml allows."""
    org = envs.organization
    needing = [name for name in envs.region_stack_names() if envs.stack(name).environment.organization]
    if org is None:
        for name in needing:
            yield f"{path}: accounts: stack {name} deploys into the organization, but the file is missing"
        return
    paths: dict[str, int] = {}
    for index, ou in enumerate(org.organizational_units):
        if ou.path in paths:
            yield f"{path}: organizational_units[{index}].path: OU {ou.path} listed twice"
        paths[ou.path] = index
    for index, ou in enumerate(org.organizational_units):
        if ou.parent is not None and ou.parent not in paths:
            yield f"{path}: organizational_units[{index}].path: parent OU {ou.parent} does not exist"
    names: dict[str, int] = {org.management.name: -1}
    emails: dict[str, int] = {org.management.email: -1}

    def first(where: int) -> str:
        return "management" if where < 0 else f"accounts[{where}]"

    stacks: dict[str, int] = {}
    for index, account in enumerate(org.accounts):
        where = f"{path}: accounts[{index}]"
        if account.name in names:
            yield f"{where}.name: account name {account.name} is already used by {first(names[account.name])}"
        names.setdefault(account.name, index)
        if account.email in emails:
            yield f"{where}.email: e-mail {account.email} is already used by {first(emails[account.email])}"
        emails.setdefault(account.email, index)
        if account.ou not in paths:
            yield f"{where}.ou: OU {account.ou} does not exist (organizational_units: {', '.join(paths)})"
        if account.kind == "region":
            if account.stack is None:
                yield f"{where}.stack: a region account names the stack that deploys into it"
                continue
            try:
                target = envs.stack(account.stack)
            except JamaaError:
                yield f"{where}.stack: unknown stack {account.stack!r}"
                continue
            if not target.environment.organization:
                yield (
                    f"{where}.stack: stack {account.stack} is in environment {target.environment.name}, "
                    f"which has no organization (organization: false)"
                )
            if account.stack in stacks:
                yield (
                    f"{where}.stack: stack {account.stack} already has an account "
                    f"({first(stacks[account.stack])})"
                )
            stacks.setdefault(account.stack, index)
        elif account.stack is not None:
            yield f"{where}.stack: only region accounts name a stack (kind {account.kind})"
    for kind in ("log-archive", "security"):
        count = sum(1 for a in org.accounts if a.kind == kind)
        if count != 1:
            yield f"{path}: accounts: exactly one {kind} account is required, found {count}"
    for name in needing:
        if name not in stacks:
            yield f"{path}: accounts: stack {name} has no account (add one with kind: region, stack: {name})"
    floor = envs.national.retention_floor("internal")
    if org.log_archive.retention_days < floor:
        yield (
            f"{path}: log_archive.retention_days: {org.log_archive.retention_days} days is below the "
            f"internal floor of {floor} days"
        )
    allowed = envs.national.hosting.allowed_regions
    guard = org.guardrails.allowed_regions
    if guard is not None:
        for region in allowed:
            if region not in guard:
                yield (
                    f"{path}: guardrails.allowed_regions: the region guard would deny {region}, "
                    f"which national.yaml allows"
                )
        for region in guard:
            if region not in allowed:
                yield (
                    f"{path}: guardrails.allowed_regions: {region} is outside national.yaml's allowed_regions"
                )


def sync_ipam(envs: Environments) -> Ipam:
    """The ledger the current needs call for: recorded slices kept, new ones in the lowest free slot."""
    plan = envs.national.ip_plan
    dedicated: dict[str, IPv4Network] = {}
    for code, region in sorted(envs.regions.items()):
        keys = [d.commune for d in region.dedicated_communes]
        pool = ipplan.upper_half(envs.region_network(code))
        existing = {k: v for k, v in envs.ipam.dedicated.items() if k in keys and v.subnet_of(pool)}
        dedicated.update(ipplan.allocate(pool, plan.dedicated_prefix, keys, existing))
    office_keys = [o.commune for r in envs.regions.values() for o in r.offices if o.cidr is None]
    explicit = [o.cidr for r in envs.regions.values() for o in r.offices if o.cidr is not None]
    existing_offices = {k: v for k, v in envs.ipam.offices.items() if k in office_keys}
    offices = ipplan.allocate(plan.office_supernet, plan.office_prefix, office_keys, existing_offices)
    for commune_id, network in offices.items():
        if any(network.overlaps(other) for other in explicit):
            raise JamaaError(f"office slice {network} for {commune_id} overlaps an explicit office cidr")
    return Ipam(dedicated=dedicated, offices=offices)


def render_ipam(ledger: Ipam) -> str:
    """The ledger as YAML text, sorted, so re-running `jamaa ipplan sync` is byte-identical."""
    lines = [
        "# The IP ledger: slices handed to communes. Written by `jamaa ipplan sync`; an allocation",
        "# never moves while its commune needs it. Review changes like code.",
    ]
    for kind, entries in (("dedicated", ledger.dedicated), ("offices", ledger.offices)):
        if not entries:
            lines.append(f"{kind}: {{}}")
            continue
        lines.append(f"{kind}:")
        lines.extend(f"  {key}: {network}" for key, network in sorted(entries.items()))
    return "\n".join(lines) + "\n"
