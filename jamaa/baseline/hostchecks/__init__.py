"""The baseline's host checks, one (or more) per host control of the catalogue.

Each area module registers plain functions with `@check("HOST-SSH-003")`; the suite's
`test_host_controls.py` (jamaa/baseline/suite, run by the pytest plugin jamaa.baseline.plugin) crosses
the catalogue's host controls with the inventory's servers and calls them. A check looks at
what the running system does (`sshd -T`, `sysctl -n`, `nft list ruleset`, `systemctl is-active`), not
at a file the daemon may not read, and fails with an assertion that says what it found.

A check that does not apply to a host (a service the host does not run, according to its inventory
groups) raises `NotApplicable` with the reason; a kernel-level control on a container is decided by
the framework from the catalogue's `kernel_level` flag, never by the check.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jamaa import paths

Check = Callable[[Any, "HostContext"], None]
REGISTRY: dict[str, Check] = {}


class NotApplicable(Exception):
    """The control does not apply to this host; the message says why."""


def check(*control_ids: str) -> Callable[[Check], Check]:
    def register(func: Check) -> Check:
        for control_id in control_ids:
            if control_id in REGISTRY:
                raise RuntimeError(f"{control_id}: two checks registered ({REGISTRY[control_id].__name__})")
            REGISTRY[control_id] = func
        return func

    return register


def load_all() -> dict[str, Check]:
    """Import every area module (registration happens at import) and return the registry."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


@dataclass
class HostContext:
    """What the framework knows about one host before any check runs."""

    name: str
    groups: list[str] = field(default_factory=list)
    hostvars: dict[str, Any] = field(default_factory=dict)
    container: str | None = None  # systemd-detect-virt --container, None on a VM or metal
    cache: dict[str, Any] = field(default_factory=dict)

    def var(self, name: str, default: Any) -> Any:
        return self.hostvars.get(name, default)

    def in_any(self, *groups: str) -> bool:
        return any(g in self.groups for g in groups)


def _yaml(path: Path) -> dict[str, Any]:
    from jamaa.yamlio import load_yaml

    if not path.is_file():
        return {}
    data = load_yaml(path)
    return dict(data) if isinstance(data, dict) else {}


def _trusted(value: Any) -> Any:
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    return value


def render(ctx: HostContext, value: Any) -> Any:
    """Template an inventory value with the host's variables, as Ansible would (None if it cannot)."""
    if not (isinstance(value, str) and "{{" in value) and not isinstance(value, list | dict):
        return value
    if "templar" not in ctx.cache:
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar

        ctx.cache["templar"] = Templar(loader=DataLoader(), variables=_trusted(dict(ctx.hostvars)))
    try:
        return ctx.cache["templar"].template(_trusted(value))
    except Exception:
        return None


def setting(ctx: HostContext, role: str, name: str) -> Any:
    """A role variable as Ansible resolves it for this host, for the values the checks compare with.

    Inventory variables first (the environment's group_vars and host_vars are part of the inventory),
    then the role's defaults; templated with the host's variables like Ansible does (a value that
    needs facts gathered on the host cannot be rendered here and comes back as None).
    """
    if name in ctx.hostvars:
        return render(ctx, ctx.hostvars[name])
    value = _yaml(paths.ROLES / role / "defaults" / "main.yml").get(name)
    return render(ctx, value)


CONTROLS_JSON = "JAMAA_BASELINE_CONTROLS"
"""Environment variable: a JSON dump of the host controls (`jamaa verify` writes it once, so each
pytest-xdist worker skips parsing and validating the whole catalogue)."""


@functools.lru_cache(maxsize=1)
def host_controls() -> list[Any]:
    """The catalogue's host controls that name a testinfra verification, sorted by id."""
    from jamaa.controls import Control, load_catalogue

    dump = os.environ.get(CONTROLS_JSON)
    if dump:
        controls = [Control.model_validate(c) for c in json.loads(Path(dump).read_text(encoding="utf-8"))]
    else:
        controls = load_catalogue(paths.CONTROLS).host_controls()
    return sorted((c for c in controls if f"testinfra:{c.id}" in c.verified_by), key=lambda c: c.id)


def runs_role(ctx: HostContext, role: str) -> bool:
    """Whether the playbooks apply `role` to this host (jamaa.scope, the collection's
    plugin_utils/scope.py, whose rules jamaa_context applies too)."""
    from jamaa import scope

    facts = scope.host_facts(ctx.hostvars)
    return scope.role_applies(role, facts.scope, facts.communes)


# ---- helpers the area modules share --------------------------------------------------------------


def cached(ctx: HostContext, key: str, compute: Callable[[], Any]) -> Any:
    if key not in ctx.cache:
        ctx.cache[key] = compute()
    return ctx.cache[key]


def key_values(host: Any, ctx: HostContext, path: str) -> dict[str, str]:
    """A `Key = value` file (auditd.conf, usbguard-daemon.conf) as its daemon reads it: comments
    skipped, spaces around `=` stripped, the last value of a key wins. Read once per host."""

    def read() -> dict[str, str]:
        settings: dict[str, str] = {}
        for line in run_ok(host, f"cat {shlex.quote(path)}").splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                settings[key.strip()] = value.strip()
        return settings

    return dict(cached(ctx, path, read))


def run_ok(host: Any, command: str) -> str:
    """Run a command that must succeed; return its stdout."""
    result = host.run(command)
    assert result.rc == 0, f"`{command}` exited {result.rc}: {(result.stderr or result.stdout).strip()[:300]}"
    return str(result.stdout)


def sshd_effective(host: Any, match: str | None = None) -> dict[str, list[str]]:
    """`sshd -T` (the daemon's effective configuration), lower-case keys, every value of a key."""
    command = "sshd -T" if match is None else f"sshd -T -C {shlex.quote(match)}"
    out = run_ok(host, f"PATH=/usr/sbin:/usr/bin:/sbin:/bin {command}")
    config: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            config.setdefault(key.lower(), []).append(value.strip())
    return config


def sshd(host: Any, ctx: HostContext) -> dict[str, list[str]]:
    return dict(cached(ctx, "sshd -T", lambda: sshd_effective(host)))


def sshd_one(host: Any, ctx: HostContext, key: str) -> str:
    values = sshd(host, ctx).get(key)
    assert values, f"sshd -T prints no `{key}`"
    return values[0]


def csv_subset(found: str, allowed: set[str], what: str) -> None:
    items = [x for x in found.split(",") if x]
    weak = [x for x in items if x not in allowed]
    assert items, f"no {what} configured"
    assert not weak, f"{what} not allowed: {weak} (offered: {items})"


def sysctl(host: Any, key: str) -> str:
    return run_ok(host, f"sysctl -n {shlex.quote(key)}").strip()


def stat(host: Any, path: str) -> tuple[int, str, str] | None:
    """(mode, owner, group) of a path, following symlinks, in one command; None if it does not exist."""
    out = host.run(f"stat -L -c '%a %U %G' -- {shlex.quote(path)}")
    if out.rc != 0:
        return None
    mode, owner, group = out.stdout.split()
    return int(mode, 8), owner, group


def mode_at_most(host: Any, path: str, most: int, owner: str = "root", group: str | None = "root") -> None:
    found = stat(host, path)
    assert found is not None, f"{path} does not exist"
    mode, user, grp = found
    extra = mode & ~most & 0o7777
    assert not extra, f"{path} is mode {mode:04o}, allows more than {most:04o}"
    assert user == owner, f"{path} is owned by {user}, not {owner}"
    if group is not None:
        assert grp == group, f"{path} has group {grp}, not {group}"


def package_states(host: Any, *packages: str) -> dict[str, bool]:
    """Which of `packages` dpkg has installed, in one dpkg-query."""
    names = " ".join(shlex.quote(p) for p in packages)
    out = host.run(f"dpkg-query -W -f='${{Package}} ${{db:Status-Status}}\\n' {names} 2>/dev/null").stdout
    states = {line.split()[0]: line.split()[-1] == "installed" for line in out.splitlines() if line.strip()}
    return {p: states.get(p, False) for p in packages}


def not_installed(host: Any, *packages: str) -> None:
    found = [p for p, present in package_states(host, *packages).items() if present]
    assert not found, f"installed: {found}"


def installed(host: Any, *packages: str) -> None:
    missing = [p for p, present in package_states(host, *packages).items() if not present]
    assert not missing, f"not installed: {missing}"


def active_enabled(host: Any, unit: str) -> None:
    service = host.service(unit)
    assert service.is_running, f"{unit} is not running"
    assert service.is_enabled, f"{unit} is not enabled"


def confined(host: Any, unit: str, want: dict[str, str], capabilities: set[str]) -> dict[str, str]:
    """A unit systemd confines: each property in `want` has its value, and its capability bounding set
    keeps nothing beyond `capabilities`. The unit's properties, for the caller's own checks."""
    asked = " -p ".join([*want, "CapabilityBoundingSet", "ReadWritePaths"])
    props = dict(
        line.partition("=")[::2] for line in run_ok(host, f"systemctl show {unit} -p {asked}").splitlines()
    )
    loose = {k: props.get(k, "") for k, value in want.items() if props.get(k) != value}
    assert not loose, f"{unit} is not confined: {loose} (want {want})"
    extra = set(props.get("CapabilityBoundingSet", "").split()) - capabilities
    assert not extra, f"{unit} keeps capabilities beyond {sorted(capabilities)}: {sorted(extra)}"
    return props


def json_of(host: Any, command: str) -> Any:
    return json.loads(run_ok(host, command))
