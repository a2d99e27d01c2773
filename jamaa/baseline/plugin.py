"""The security baseline's pytest plugin: catalogue × servers, waivers and not-applicable, JUnit
properties.

Run against any inventory (the plugin is the package's pytest11 entry point):

    pytest --pyargs jamaa.baseline.suite --ansible-inventory=environments/lab --hosts='ansible://all'

or through `jamaa verify --env ENV` (parallel across hosts, results JSON + JUnit). Every host control
of the catalogue becomes one test per server (suite/test_host_controls.py); each records its control id,
severity, title and references with `record_property`, and one of the statuses pass / fail / waived /
not-applicable / error. A waived control still runs its check (the report shows what it found) and is
reported as waived with owner, reason and expiry; a kernel-level control on a container is reported as
not applicable with the reason. Neither is a pass.

Without `--hosts` the host checks are deselected (they never run against the controller by accident).
The hooks act on the suite's own tests only (jamaa.baseline.SUITE), so the plugin can stay loaded in
any other pytest session.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from jamaa import paths, scope
from jamaa.baseline import hostchecks, in_suite
from jamaa.baseline.hostchecks import HostContext, NotApplicable, host_controls
from jamaa.results import Status

pytest_plugins = ["jamaa.baseline.network_plugin"]

PROP_STATUS = "jamaa_status"  # read by jamaa.verify.plugin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jamaa baseline")
    group.addoption(
        "--jamaa-backend",
        dest="jamaa_backend",
        default="inventory",
        choices=("inventory", "paramiko"),
        help="connect as the inventory says (default) or through testinfra's paramiko backend (faster)",
    )
    group.addoption(
        "--jamaa-env-dir",
        dest="jamaa_env_dir",
        default=None,
        help="environment directory holding waivers.yaml (default: derived from --ansible-inventory)",
    )
    group.addoption(
        "--jamaa-servers",
        dest="jamaa_servers",
        default="commune_servers",
        help="inventory group whose hosts the host checks target (default: commune_servers)",
    )


def _opt(config: pytest.Config, name: str, default: Any = None) -> Any:
    return config.getoption(name, default)


# ---- the catalogue and the waivers ----------------------------------------------------------------


def env_dir_of(config: pytest.Config) -> Path | None:
    explicit = _opt(config, "jamaa_env_dir")
    if explicit:
        return Path(explicit)
    inventory = _opt(config, "ansible_inventory")
    if not inventory:
        return None
    path = Path(inventory).resolve()
    for parent in [path, *path.parents]:
        if parent.parent.name == "environments":
            return parent
    return None


class Baseline:
    """Session state: the controls, the checks, the waivers and what each host is."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.controls = {c.id: c for c in host_controls()}
        self.checks = hostchecks.load_all()
        self._contexts: dict[str, HostContext] = {}
        self._waivers: Any = None
        env_dir = env_dir_of(config)
        if env_dir is not None and (env_dir / "waivers.yaml").exists():
            from jamaa.errors import JamaaError
            from jamaa.waivers import load_waivers

            try:
                known = self._catalogue_ids()
                self._waivers = load_waivers(env_dir, known)
            except JamaaError as error:
                raise pytest.UsageError(f"waivers: {error}") from None

    @staticmethod
    def _catalogue_ids() -> set[str]:
        dump = os.environ.get("JAMAA_BASELINE_CATALOGUE_IDS")
        if dump:
            return set(Path(dump).read_text(encoding="utf-8").split())
        from jamaa.controls import load_records

        return set(load_records(paths.CONTROLS).controls)

    def context(self, host: Any, identity: Any) -> HostContext:
        name = host_name(identity)
        if name not in self._contexts:
            hostvars = host_vars(identity)
            virt = host.run("systemd-detect-virt --container")
            container = virt.stdout.strip() if virt.rc == 0 else None
            self._contexts[name] = HostContext(
                name=name,
                groups=list(hostvars.get("group_names", [])),
                hostvars=hostvars,
                container=container,
            )
        return self._contexts[name]

    def waivers_for(self, ctx: HostContext) -> dict[str, Any]:
        if self._waivers is None:
            return {}
        facts = scope.host_facts(ctx.hostvars)
        return dict(self._waivers.for_host(ctx.name, ctx.groups, list(facts.communes), facts.region))

    def not_applicable(self, control: Any, ctx: HostContext) -> str | None:
        """Why `control` does not apply to this host, decided here (never taken from the host itself)
        by jamaa.scope, the rules the roles' `jamaa_context` records on the host."""
        facts = scope.host_facts(ctx.hostvars)
        return scope.not_applicable_reason(
            control.kernel_level, control.roles, ctx.container, facts.scope, facts.communes
        )

    # ---- one control on one host ----------------------------------------------------------------
    def verify(self, host: Any, identity: Any, control_id: str, record: Any) -> None:
        """Check one control on one host (`identity`: the inventory's host; `host`: how we connect)."""
        control = self.controls[control_id]
        ctx = self.context(host, identity)
        record("control", control.id)
        record("host", ctx.name)
        record("severity", control.severity)
        record("title", control.title.fr)
        record("area", control.id.split("-")[1])
        record("references", json.dumps([_ref(r) for r in control.references], ensure_ascii=False))
        check = self.checks.get(control.id)
        if check is None:
            record(PROP_STATUS, Status.ERROR.value)
            pytest.fail(f"{control.id}: no check registered in jamaa/baseline/hostchecks", pytrace=False)
        reason = self.not_applicable(control, ctx)
        if reason is not None:
            record(PROP_STATUS, Status.NOT_APPLICABLE.value)
            record("reason", reason)
            pytest.skip(f"not applicable: {reason}")
        waiver = self.waivers_for(ctx).get(control.id)
        if waiver is not None:
            observed = _observe(check, host, ctx)
            info = {
                "owner": waiver.owner,
                "reason": waiver.reason,
                "expires": str(waiver.expires),
                "ticket": getattr(waiver, "ticket", None),
                "scope": _scope(waiver),
            }
            record(PROP_STATUS, Status.WAIVED.value)
            record("waiver", json.dumps(info, ensure_ascii=False))
            record("observed", observed[0])
            pytest.skip(
                f"waived until {info['expires']} by {info['owner']}: {info['reason']}"
                f" (check found: {observed[0]}{': ' + observed[1] if observed[1] else ''})"
            )
        try:
            check(host, ctx)
        except NotApplicable as reason:
            record(PROP_STATUS, Status.NOT_APPLICABLE.value)
            record("reason", str(reason))
            pytest.skip(f"not applicable: {reason}")
        except AssertionError:
            record(PROP_STATUS, Status.FAIL.value)
            raise
        except Exception:
            record(PROP_STATUS, Status.ERROR.value)
            raise
        record(PROP_STATUS, Status.PASS.value)


def _observe(check: Any, host: Any, ctx: HostContext) -> tuple[str, str]:
    try:
        check(host, ctx)
    except NotApplicable as reason:
        return Status.NOT_APPLICABLE.value, str(reason)
    except AssertionError as error:
        return Status.FAIL.value, str(error).splitlines()[0] if str(error) else "assertion failed"
    except Exception as error:
        return Status.ERROR.value, f"{type(error).__name__}: {error}"
    return Status.PASS.value, ""


def _ref(ref: Any) -> dict[str, Any]:
    data = {"framework": ref.framework}
    if getattr(ref, "id", None):
        data["id"] = ref.id
    return data


def _scope(waiver: Any) -> str | None:
    scope = getattr(waiver, "scope", None)
    if scope is None:
        return None
    kind = getattr(scope, "kind", None)
    value = getattr(scope, "value", None)
    return f"{kind}:{value}" if kind else str(scope)


def host_name(host: Any) -> str:
    backend = host.backend
    if backend.NAME == "ansible":
        return str(backend.host)
    return str(backend.get_pytest_id())


def host_vars(host: Any) -> dict[str, Any]:
    backend = host.backend
    if backend.NAME == "ansible":
        return dict(backend.get_variables())
    return {}


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def baseline(request: pytest.FixtureRequest) -> Baseline:
    return Baseline(request.config)


@pytest.fixture(scope="module")
def baseline_host(_testinfra_host: Any, request: pytest.FixtureRequest) -> Any:
    """testinfra's host, through paramiko when asked (`--jamaa-backend=paramiko`)."""
    if _opt(request.config, "jamaa_backend") != "paramiko" or _testinfra_host.backend.NAME != "ansible":
        return _testinfra_host
    import testinfra

    backend = _testinfra_host.backend
    ssh_config = _opt(request.config, "ssh_config") or _ssh_config_beside(request.config)
    if ssh_config and _has_entry(Path(ssh_config), backend.host):
        return testinfra.get_host(f"paramiko://{backend.host}", ssh_config=ssh_config)
    inner = backend.ansible_runner.get_host(backend.host)
    if (
        inner is None
        or inner.backend.NAME not in ("ssh", "paramiko")
        or "proxycommand" in str(getattr(inner.backend, "ssh_extra_args", "")).lower().replace(" ", "")
    ):
        return _testinfra_host
    spec = inner.backend.host
    target = (
        f"paramiko://{spec.user + '@' if spec.user else ''}{spec.name}{':' + spec.port if spec.port else ''}"
    )
    return testinfra.get_host(target, ssh_identity_file=getattr(inner.backend, "ssh_identity_file", None))


def _ssh_config_beside(config: pytest.Config) -> str | None:
    inventory = _opt(config, "ansible_inventory")
    if inventory:
        base = Path(inventory) if Path(inventory).is_dir() else Path(inventory).parent
        for candidate in (base / "ssh_config", base / "generated" / "ssh_config"):
            if candidate.exists():
                return str(candidate)
    return None


def _has_entry(path: Path, name: str) -> bool:
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].lower() == "host" and name in words[1:]:
            return True
    return False


# ---- parametrisation, selection, grouping ---------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "control_id" in metafunc.fixturenames and in_suite(metafunc.definition.path):
        ids = [c.id for c in host_controls()]
        metafunc.parametrize("control_id", ids, ids=ids)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep host checks to the servers; group each host's checks on one xdist worker."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    group = _opt(config, "jamaa_servers", "commune_servers")
    no_hosts = _opt(config, "hosts") is None
    for item in items:
        callspec = getattr(item, "callspec", None)
        testinfra_host = callspec.params.get("_testinfra_host") if callspec else None
        if "_testinfra_host" not in getattr(item, "fixturenames", ()) or not in_suite(item.path):
            keep.append(item)
            continue
        if no_hosts or testinfra_host is None:
            dropped.append(item)
            continue
        hostvars = host_vars(testinfra_host)
        names = hostvars.get("groups", {})
        if group in names and host_name(testinfra_host) not in names[group]:
            dropped.append(item)
            continue
        item.add_marker(pytest.mark.xdist_group(name=host_name(testinfra_host)))
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
