"""Run a Pulumi Python program in-process under Pulumi's mocks and capture every resource it registers.

This is an offline preview: no Pulumi CLI, no engine, no credentials. The program runs exactly as
`pulumi preview` would run it (same `__main__.py`, same config, `is_dry_run()` true), but every
resource registration lands in a recording mock monitor instead of the engine. Values a real
preview could not know (ids, ARNs of resources not yet created) stay unknown and are marked so.

Pulumi's runtime settings are process globals (context variables plus the thread's event loop), so
each run happens in its own copy of the context with its own event loop, its settings reset, and
the program's own modules dropped from `sys.modules` before and after, so several programs (or one
program for several stacks) can be planned in one process.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import hashlib
import importlib.metadata
import json
import logging
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from google.protobuf import json_format, struct_pb2
from packaging.requirements import InvalidRequirement, Requirement
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import engine_pb2, resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from jamaa.errors import JamaaError
from jamaa.plan.invokes import ANSWERS, Context
from jamaa.plan.model import UNKNOWN, Plan, PlannedResource

OFFLINE_ACCOUNT_ID = "000000000000"
"""What `aws.get_caller_identity()` answers offline: a placeholder, never a real account."""

_RUN_LOCK = threading.Lock()
_CAPTURE_STACK_TRACE = pulumi_resource._get_stack_trace


class _SharedExecutor(ThreadPoolExecutor):
    """Worker threads shared by every run: Pulumi gives each worker thread its own event loop, and
    threads that come and go with each run leave those loops to be collected half-closed."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Kept alive across runs; the interpreter joins the threads at exit."""


_EXECUTOR = _SharedExecutor(max_workers=8, thread_name_prefix="jamaa-plan")


class PlanError(JamaaError):
    """The program could not be planned (bad argument, missing config, exception in the program)."""


class _Program:
    """Where a program lives and what it is called, read from its Pulumi.yaml when there is one."""

    def __init__(self, main_dir: Path, project: str, project_dir: Path | None, defaults: dict[str, str]):
        self.main_dir = main_dir
        self.project = project
        self.project_dir = project_dir
        self.defaults = defaults

    @property
    def main_file(self) -> Path:
        return self.main_dir / "__main__.py"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PlanError(f"{path}: cannot read: {str(error).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PlanError(f"{path}: expected a mapping at the top level")
    return data


def _config_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) <= {"value", "default", "type", "description", "secret"}:
        for key in ("value", "default"):  # Pulumi.yaml: a value, or a typed entry with its default
            if key in value:
                return _config_value(value[key])
    return json.dumps(value)


def _namespaced(project: str, config: dict[str, Any]) -> dict[str, str]:
    return {
        (key if ":" in key else f"{project}:{key}"): _config_value(value) for key, value in config.items()
    }


def _project_from(project_file: Path) -> tuple[str, Path, dict[str, str]]:
    doc = _read_yaml(project_file)
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise PlanError(f"{project_file}: name: a project name is required")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise PlanError(f"{project_file}: runtime: only Python programs can be planned, not {runtime_name!r}")
    main = doc.get("main", ".")
    if not isinstance(main, str):
        raise PlanError(f"{project_file}: main: expected a path")
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise PlanError(f"{project_file}: config: expected a mapping")
    return name, (project_file.parent / main).resolve(), _namespaced(name, config)


def locate_program(program_dir: Path) -> _Program:
    """Find the program: a directory with a Pulumi.yaml (its `main`), or a directory with a __main__.py."""
    program_dir = program_dir.resolve()
    if (program_dir / "Pulumi.yaml").is_file():
        name, main_dir, defaults = _project_from(program_dir / "Pulumi.yaml")
        program = _Program(main_dir, name, program_dir, defaults)
    elif (program_dir / "__main__.py").is_file():
        parent_file = program_dir.parent / "Pulumi.yaml"
        program = _Program(program_dir, program_dir.name, None, {})
        if parent_file.is_file():
            name, main_dir, defaults = _project_from(parent_file)
            if main_dir == program_dir:
                program = _Program(program_dir, name, program_dir.parent, defaults)
    else:
        raise PlanError(f"{program_dir}: not a Pulumi Python program (no Pulumi.yaml, no __main__.py)")
    if not program.main_file.is_file():
        raise PlanError(f"{program.main_file}: the program's entry point is missing")
    return program


def stack_file(program: _Program, stack: str) -> Path | None:
    if program.project_dir is None:
        return None
    return program.project_dir / f"Pulumi.{stack}.yaml"


def known_stacks(program_dir: Path) -> list[str]:
    """The stacks that have a Pulumi.<stack>.yaml next to the program's Pulumi.yaml."""
    program = locate_program(program_dir)
    if program.project_dir is None:
        return []
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in program.project_dir.glob("Pulumi.*.yaml"))


def stack_config(program: _Program, stack: str) -> dict[str, str]:
    config = dict(program.defaults)
    path = stack_file(program, stack)
    if path is not None and path.is_file():
        doc = _read_yaml(path)
        values = doc.get("config") or {}
        if not isinstance(values, dict):
            raise PlanError(f"{path}: config: expected a mapping")
        config.update(_namespaced(program.project, values))
    return config


def _plain(value: Any, path: str, unknown: set[str]) -> Any:
    """Make a deserialized input JSON-shaped; record where the unknowns are."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN):
        unknown.add(path)
        return UNKNOWN
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value), path, unknown)
    if isinstance(value, dict):
        return {k: _plain(v, f"{path}.{k}" if path else k, unknown) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire has only doubles; 400.0 days is 400 days
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    return str(value)


STACK_REFERENCE = "pulumi:pulumi:StackReference"
ACCOUNT = "aws:organizations/account:Account"
ORGANIZATION = "aws:organizations/organization:Organization"
OFFLINE_ORGANIZATION_ID = "o-offlineplan"
OFFLINE_ROOT_ID = "r-off0"
"""What an organization's id and root id are offline: placeholders, so the stacks reading them
(through the `org` stack's outputs) can be planned."""


def offline_account_id(name: str) -> str:
    """A vended account's id offline: a placeholder derived from its name (distinct, stable), so
    the stacks that read it through a StackReference can be planned; never a real account."""
    digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return f"9{digest % 10**11:011d}"


class PlanMocks(pulumi.runtime.Mocks):
    """Answers like a preview of a create: outputs echo the inputs, ids and computed values unknown.

    A StackReference is answered with `references[name]` (the outputs of that stack's own offline
    plan); an unknown one with no outputs, its name kept in `unresolved_references`."""

    def __init__(self, references: dict[str, dict[str, Any]] | None = None) -> None:
        self.unanswered_calls: list[str] = []
        self.references = dict(references or {})
        self.unresolved_references: list[str] = []
        self.monitor: RecordingMonitor | None = None
        self.config: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            name = str(args.inputs.get("name") or args.resource_id)
            if name not in self.references:
                self.unresolved_references.append(name)
            outputs = self.references.get(name, {})
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        if args.typ == ORGANIZATION:
            state = dict(args.inputs)
            state.update(
                id=OFFLINE_ORGANIZATION_ID,
                arn=f"arn:aws:organizations::{OFFLINE_ACCOUNT_ID}:organization/{OFFLINE_ORGANIZATION_ID}",
                masterAccountId=OFFLINE_ACCOUNT_ID,
                roots=[{"id": OFFLINE_ROOT_ID, "name": "Root", "arn": "", "policyTypes": []}],
            )
            return OFFLINE_ORGANIZATION_ID, state
        if args.typ == ACCOUNT and isinstance(args.inputs.get("name"), str):
            return offline_account_id(args.inputs["name"]), dict(args.inputs)
        return "", dict(args.inputs)

    def _assumed_account(self, provider_ref: str | None) -> str | None:
        """The account of the role an explicit provider assumes (offline, from its recorded config)."""
        if not provider_ref or self.monitor is None:
            return None
        urn = provider_ref.rsplit("::", 1)[0]
        for resource in self.monitor.planned:
            if resource.urn == urn:
                roles = resource.inputs.get("assumeRoles")
                if isinstance(roles, str) and roles != UNKNOWN:
                    roles = json.loads(roles)
                if isinstance(roles, list) and roles and isinstance(roles[-1], dict):
                    arn = roles[-1].get("roleArn")
                    if isinstance(arn, str) and arn.startswith("arn:aws:iam::"):
                        return arn.split(":")[4]
        return None

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = self._assumed_account(args.provider) or OFFLINE_ACCOUNT_ID
            return {
                "accountId": account,
                "arn": f"arn:aws:iam::{account}:user/offline-plan",
                "userId": "OFFLINEPLAN",
                "id": account,
            }, []
        answer = ANSWERS.get(args.token)
        if answer is not None:
            account = self._assumed_account(args.provider) or OFFLINE_ACCOUNT_ID
            return answer(args.args, Context(region=self._region(args.provider), account=account)), []
        self.unanswered_calls.append(args.token)
        return {}, []

    def _region(self, provider_ref: str | None) -> str:
        """The region an invoke runs in: its explicit provider's, else the stack's aws:region (as the
        default provider has it), else AWS_REGION; us-east-1 when nothing says (a placeholder)."""
        if provider_ref and self.monitor is not None:
            urn = provider_ref.rsplit("::", 1)[0]
            for resource in self.monitor.planned:
                if resource.urn == urn and isinstance(resource.inputs.get("region"), str):
                    return str(resource.inputs["region"])
        configured = self.config.get("aws:region") if self.config else None
        return (
            configured or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        )


def _without_resource_references(struct: Any) -> Any:
    """The inputs with each resource passed as a value (`role=lambda_role`) replaced by what a
    provider receives for it: a custom resource's id, else its URN. Deserializing the reference
    itself would rebuild the resource on the SDK's own event loop, which the mocks do not run on."""
    data = json_format.MessageToDict(struct, preserving_proto_field_name=True)

    def downgrade(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get(rpc._special_sig_key) == rpc._special_resource_sig:
                return value.get("id") or value.get("urn")
            return {k: downgrade(v) for k, v in value.items()}
        if isinstance(value, list):
            return [downgrade(v) for v in value]
        return value

    result = struct_pb2.Struct()
    result.update(downgrade(data))
    return result


def _package_version(package: str) -> str | None:
    """The installed provider SDK's version (`pulumi_aws` for `aws`), None when there is none."""
    try:
        return importlib.metadata.version(f"pulumi_{package}")
    except importlib.metadata.PackageNotFoundError:
        return None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, recording each registration's type, name, parent and inputs."""

    def __init__(
        self,
        mocks: pulumi.runtime.Mocks,
        config: dict[str, str] | None = None,
        project: str = "",
        stack: str = "",
    ) -> None:
        super().__init__(mocks)
        self.planned: list[PlannedResource] = []
        self.outputs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.config = dict(config or {})
        self.project = project
        self.stack = stack
        self.default_providers: dict[str, str] = {}

    def _default_provider(self, package: str) -> str | None:
        """The URN of the package's default provider, registered (once) as the engine would: its
        inputs are the stack's `<package>:*` configuration (Pulumi.yaml, then Pulumi.<stack>.yaml),
        and for AWS the region falls back to AWS_REGION / AWS_DEFAULT_REGION as the provider does."""
        with self._lock:
            if package in self.default_providers:
                return self.default_providers[package]
            version = _package_version(package)
            if version is None:  # not a provider package (a test's own resource type)
                return None
            name = f"default_{version.replace('.', '_')}"
            urn = f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::{name}"
            inputs: dict[str, Any] = {
                key.split(":", 1)[1]: value
                for key, value in self.config.items()
                if key.startswith(f"{package}:")
            }
            if package == "aws" and "region" not in inputs:
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                if region:
                    inputs["region"] = region
            inputs["version"] = version
            self.planned.append(
                PlannedResource(
                    urn=urn,
                    type=f"pulumi:providers:{package}",
                    name=name,
                    parent_urn=None,
                    inputs=inputs,
                    unknown_keys=set(),
                )
            )
            self.default_providers[package] = urn
            return urn

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        inputs = rpc.deserialize_properties(_without_resource_references(request.object))
        resource_args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(resource_args)
        obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        unknown: set[str] = set()
        provider_urn = request.provider.rsplit("::", 1)[0] if request.provider else None
        if provider_urn is None and request.custom and not request.type.startswith("pulumi:"):
            provider_urn = self._default_provider(request.type.split(":", 1)[0])
        planned = PlannedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent_urn=request.parent or None,
            inputs=_plain(inputs, "", unknown),
            unknown_keys=unknown,
            provider_urn=provider_urn,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                key: sorted(set(deps.urns))
                for key, deps in sorted(request.propertyDependencies.items())
                if deps.urns
            },
            protect=bool(request.protect),
        )
        with self._lock:
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
            self.planned.append(planned)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj_proto)


class RecordingEngine(pulumi_mocks.MockEngine):
    """Keeps the program's warnings and errors (deprecations, pulumi.log.warn) for the plan."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("jamaa.plan.engine"))
        self.messages: list[str] = []

    def Log(self, request: Any) -> None:
        if request.severity in (engine_pb2.WARNING, engine_pb2.ERROR):
            level = "error" if request.severity == engine_pb2.ERROR else "warning"
            where = f" ({request.urn})" if request.urn else ""
            self.messages.append(f"{level}: {request.message.strip()}{where}")
        super().Log(request)  # type: ignore[no-untyped-call]


def _describe(error: BaseException, program: _Program, stack: str) -> str:
    """One line: where in the program, what kind of error, its first line."""
    where = ""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename)
        if path.is_relative_to(program.main_dir):
            base = program.project_dir or program.main_dir
            where = f"{path.relative_to(base) if path.is_relative_to(base) else path}:{frame.lineno}: "
            break
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"plan {stack}: {where}{type(error).__name__}: {message}".rstrip(": ")


def _forget_modules(main_dir: Path) -> None:
    """Drop the modules a program imported from its own directory (fresh namespace next run)."""
    prefix = str(main_dir) + "/"
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and file.startswith(prefix):
            del sys.modules[name]


def run_callable(
    program_fn: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: dict[str, str],
    describe: Callable[[BaseException], str],
    mocks: PlanMocks | None = None,
) -> Plan:
    """Run `program_fn` as a Pulumi program under recording mocks, in preview mode, isolated."""
    mocks = mocks or PlanMocks()
    monitor = RecordingMonitor(mocks, config, project, stack)
    mocks.monitor = monitor
    mocks.config = config
    engine = RecordingEngine()

    def run() -> None:
        # The engine uses each registration's stack trace only for its diagnostics; the mocks never
        # read it, and capturing it (a stat per frame) is the SDK's largest per-resource cost here.
        pulumi_resource._get_stack_trace = source_pb2.StackTrace
        pulumi_settings.reset_options(project=project, stack=stack, preview=True, organization="organization")
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_EXECUTOR)
        previous = _current_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)
            pulumi_settings.SETTINGS.engine = engine
            pulumi.runtime.set_all_config(config, [])
            loop.run_until_complete(run_pulumi_func(program_fn))
            monitor.outputs = loop.run_until_complete(_stack_outputs())
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
            asyncio.set_event_loop(previous)
            pulumi_resource._get_stack_trace = _CAPTURE_STACK_TRACE

    with _RUN_LOCK:
        # Everything alive before the run (the SDK's modules, the loaded config) is long-lived:
        # keep it out of the collector's scans while the run allocates its many small objects.
        gc.freeze()
        try:
            contextvars.copy_context().run(run)
        except JamaaError:
            raise
        except Exception as error:
            raise PlanError(describe(error)) from error
        finally:
            gc.unfreeze()
    warnings = list(engine.messages)
    warnings += [
        f"warning: no offline answer for invoke {token}" for token in sorted(set(mocks.unanswered_calls))
    ]
    resources = sorted(monitor.planned, key=lambda r: r.urn)
    return Plan(stack=stack, project=project, resources=resources, warnings=warnings, outputs=monitor.outputs)


async def _stack_outputs() -> dict[str, Any]:
    """What the program exported (`pulumi.export`), resolved as a preview would see it."""
    root = pulumi_settings.get_root_resource()
    exported = getattr(root, "outputs", None)
    if not exported:
        return {}
    serialized = await rpc.serialize_properties(dict(exported), {})
    plain: dict[str, Any] = _plain(rpc.deserialize_properties(serialized), "", set())
    return plain


def _current_loop() -> asyncio.AbstractEventLoop | None:
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    loop = getattr(local, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) and not loop.is_closed() else None


_REFERENCED: dict[tuple[str, str, str], dict[str, Any]] = {}
"""Outputs of stacks planned to answer another stack's StackReference, per (program, stack, config)."""


def _referenced_stack(program: _Program, name: str) -> str | None:
    """`organization/jamaa/org` (or `jamaa/org`, `org`) → `org` when it is a stack of this project."""
    parts = name.split("/")
    if len(parts) > 1 and parts[-2] != program.project:
        return None
    path = stack_file(program, parts[-1])
    return parts[-1] if path is not None and path.is_file() else None


def run_program(
    program_dir: Path,
    stack: str,
    config: dict[str, str] | None = None,
    references: dict[str, dict[str, Any]] | None = None,
) -> Plan:
    """Plan `program_dir` (a dir with Pulumi.yaml, or the program's own dir) for `stack`, offline.

    Config comes from Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then `config` (namespaced keys
    such as `jamaa:region`; a key without a namespace gets the project's).

    A `pulumi.StackReference` is answered from `references` (stack name → outputs); a reference to
    another stack of the same project that is not given is planned offline first (once per
    process), and the program runs again with its outputs. Any other reference reads no outputs.
    """
    refs = dict(references or {})
    program = locate_program(Path(program_dir))
    for _ in range(4):
        mocks = PlanMocks(refs)
        try:
            plan = _run_once(program, stack, config, mocks)
        except PlanError:
            if not _resolve(program, mocks, refs, stack):
                raise
            continue
        if not _resolve(program, mocks, refs, stack):
            return plan
    raise PlanError(f"plan {stack}: stack references do not settle: {', '.join(sorted(refs))}")


def _resolve(program: _Program, mocks: PlanMocks, refs: dict[str, dict[str, Any]], stack: str) -> bool:
    """Plan the referenced stacks the last run could not answer; False when there is none to plan."""
    added = False
    for name in dict.fromkeys(mocks.unresolved_references):
        target = _referenced_stack(program, name)
        if target is None or target == stack or name in refs:
            continue
        key = (str(program.main_dir), target, json.dumps(stack_config(program, target), sort_keys=True))
        if key not in _REFERENCED:
            outputs = run_program(program.project_dir or program.main_dir, target).outputs
            # An output the preview cannot know is not there yet for the stack that reads it.
            _REFERENCED[key] = {k: v for k, v in outputs.items() if UNKNOWN not in json.dumps(v)}
        refs[name] = _REFERENCED[key]
        added = True
    return added


def _run_once(program: _Program, stack: str, config: dict[str, str] | None, mocks: PlanMocks) -> Plan:
    merged = stack_config(program, stack)
    if config:
        merged.update(_namespaced(program.project, dict(config)))
    main_dir = str(program.main_dir)

    def program_fn() -> None:
        sys.path.insert(0, main_dir)
        try:
            runpy.run_path(str(program.main_file), run_name="__main__")
        finally:
            if main_dir in sys.path:
                sys.path.remove(main_dir)

    check_requirements(program)
    # The program's own modules are imported fresh for each run, and dropped only once every
    # registration has resolved (Pulumi reads the component classes' annotations from them).
    # As under the CLI, the program runs in its own directory (its files open relative to it).
    _forget_modules(program.main_dir)
    previous = os.getcwd()
    os.chdir(main_dir)
    try:
        return run_callable(
            program_fn,
            project=program.project,
            stack=stack,
            config=merged,
            describe=lambda error: _describe(error, program, stack),
            mocks=mocks,
        )
    finally:
        os.chdir(previous)
        _forget_modules(program.main_dir)


def check_requirements(program: _Program) -> None:
    """The program's requirements.txt, honoured: each requirement must be installed here, in a
    version it accepts (the offline plan runs the program with this environment's packages)."""
    for directory in dict.fromkeys(d for d in (program.main_dir, program.project_dir) if d is not None):
        path = directory / "requirements.txt"
        if path.is_file():
            break
    else:
        return
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(f"{path}: cannot read: {error}") from None
    for number, raw in enumerate(lines, start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "git+", "http://", "https://", "file:")):
            continue  # comments, pip options (-r, -e, --index-url), direct URLs
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            raise PlanError(f"{path}:{number}: not a requirement: {line!r}") from None
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            raise PlanError(
                f"{path}:{number}: {requirement.name} is not installed here; the offline plan runs the "
                f"program with this environment's packages (install {str(requirement)!r}, or use Pulumi)"
            ) from None
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            raise PlanError(
                f"{path}:{number}: {requirement.name} {installed} is installed, the program requires "
                f"{requirement.specifier}"
            )
