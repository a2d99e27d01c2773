"""Where each control is enforced and verified, derived from the implementation (never written by hand).

The control records (`policies/controls/*.yaml`) say what a control is; the implementation says where it
is enforced and verified, each link declared once, at the place that does the work:

| kind       | where it is declared                                              | enforces | verifies |
| ---------- | ----------------------------------------------------------------- | -------- | -------- |
| `policy`   | a CrossGuard policy's `controls=` (policies/jamaa_policies)       | yes      | yes      |
| `role`     | a role task whose name starts with the id, or tagged with it      | yes      |          |
| `testinfra`| the baseline's `@check("ID")` registrations                       |          | yes      |
| `audit`    | the live-account audit's `CONTROLS` (jamaa/audit)                 |          | yes      |
| `scp`      | a service control policy's `Guardrail(control=…)` (landingzone)   | yes      |          |

`derive_links()` reads them all; `jamaa.controls.load_catalogue` fills each control's `enforced_by` and
`verified_by` from them, and `jamaa controls show ID` prints them with their file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from jamaa import waiver_rules
from jamaa.paths import REPO

REPO_ROOT = REPO

Kind = Literal["policy", "role", "testinfra", "audit", "scp"]
KINDS: tuple[Kind, ...] = ("policy", "role", "testinfra", "audit", "scp")
ENFORCING: frozenset[str] = frozenset({"policy", "role", "scp"})
VERIFYING: frozenset[str] = frozenset({"policy", "testinfra", "audit"})


@dataclass(frozen=True, order=True)
class Link:
    """One place that enforces or verifies a control."""

    control: str
    kind: Kind
    name: str  # policy name, role name, check id, audit check, SCP name
    path: Path  # relative to the repository when inside it
    line: int
    what: str = ""  # the task name, the check function, the policy's description (for people)

    @property
    def ref(self) -> str:
        """`kind:name`, the form of `enforced_by` / `verified_by` entries."""
        return f"{self.kind}:{self.name}"

    @property
    def enforces(self) -> bool:
        return self.kind in ENFORCING

    @property
    def verifies(self) -> bool:
        return self.kind in VERIFYING

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _relative(path: Path | str, repo: Path) -> Path:
    path = Path(path).resolve()
    try:
        return path.relative_to(repo.resolve())
    except ValueError:
        return path


# ---- roles ------------------------------------------------------------------------------------------


def _plain(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    return None


def _task_nodes(node: yaml.Node | None) -> Iterator[tuple[yaml.MappingNode, dict[str, yaml.Node]]]:
    if not isinstance(node, yaml.SequenceNode):
        return
    for item in node.value:
        if isinstance(item, yaml.MappingNode):
            keys = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
            yield item, keys
            for section in waiver_rules.TASK_SECTIONS:
                yield from _task_nodes(keys.get(section))


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def role_links(roles_dir: Path, repo: Path = REPO_ROOT) -> list[Link]:
    """Each role task that names a control (`"<ID> | …"` or tagged `<ID>`), with its file and line."""
    links: list[Link] = []
    for path in sorted(roles_dir.glob("*/tasks/*.yml")):
        role = path.parents[1].name
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_Loader)
        for node, keys in _task_nodes(root):
            name = _plain(keys["name"]) if "name" in keys else None
            tags = _plain(keys["tags"]) if "tags" in keys else None
            for control_id in waiver_rules.task_controls(name, tags):
                line = node.start_mark.line + 1
                links.append(Link(control_id, "role", role, _relative(path, repo), line, str(name or "")))
    return links


# ---- policies ---------------------------------------------------------------------------------------


def policy_links(policies_dir: Path, repo: Path = REPO_ROOT) -> list[Link]:
    """Each CrossGuard policy's `controls=`, at the line of its declaration."""
    from jamaa.policy.pack import policies_module

    module = policies_module(policies_dir)
    links = []
    for spec in module.specs():
        code = spec.rule.__code__
        for control_id in spec.controls:
            path = _relative(code.co_filename, repo)
            links.append(Link(control_id, "policy", spec.name, path, code.co_firstlineno, spec.description))
    return links


# ---- the baseline's checks --------------------------------------------------------------------------


def _baseline_registry(repo: Path) -> dict[str, Callable[..., Any]]:
    """The baseline's `@check` registry (the package jamaa.baseline.hostchecks)."""
    from jamaa.baseline import hostchecks

    registry: dict[str, Callable[..., Any]] = hostchecks.load_all()
    return registry


def _declaration_line(path: Path, control_id: str, fallback: int) -> int:
    """The line that registers `control_id` in `path`: its quoted id (`@check("ID")`, or the row of the
    table a loop registers from), else `fallback` (the function's own line)."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if f'"{control_id}"' in text:
            return number
    return fallback


def check_links(repo: Path = REPO_ROOT) -> list[Link]:
    """Each baseline check, at the line that registers it for the control."""
    links = []
    sources: dict[str, Path] = {}
    for control_id, func in sorted(_baseline_registry(repo).items()):
        code = func.__code__
        path = sources.setdefault(code.co_filename, Path(code.co_filename))
        line = _declaration_line(path, control_id, code.co_firstlineno)
        doc = (func.__doc__ or "").strip().splitlines()
        what = f"{path.stem}: {doc[0] if doc else func.__qualname__}"
        links.append(Link(control_id, "testinfra", control_id, _relative(path, repo), line, what))
    return links


# ---- audit and SCPs: module-level declarations read without importing boto ---------------------------


def _constant_dict_entries(path: Path, variable: str) -> Iterator[tuple[str, str, int]]:
    """(key, value, line) of the string entries of `VARIABLE = {...}` / `VARIABLE: T = {...}`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == variable and isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(item, ast.Constant):
                    yield str(key.value), str(item.value), key.lineno


def audit_links(audit_dir: Path, repo: Path = REPO_ROOT) -> list[Link]:
    """Each live-account audit check (`CONTROLS = {check: control id}` of jamaa/audit/*.py)."""
    links = []
    for path in sorted(audit_dir.glob("*.py")):
        for check, control_id, line in _constant_dict_entries(path, "CONTROLS"):
            what = f"jamaa audit{' --organization' if path.stem == 'organization' else ''}: {check}"
            links.append(Link(control_id, "audit", check, _relative(path, repo), line, what))
    return links


def scp_links(landingzone: Path, repo: Path = REPO_ROOT) -> list[Link]:
    """Each service control policy (`Guardrail(key=…, control=…)` of jamaa/landingzone.py)."""
    tree = ast.parse(landingzone.read_text(encoding="utf-8"), filename=str(landingzone))
    links = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Guardrail":
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            key, control, description = kw.get("key"), kw.get("control"), kw.get("description")
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and isinstance(control, ast.Constant)
            ):
                what = description.value if isinstance(description, ast.Constant) else ""
                path = _relative(landingzone, repo)
                links.append(
                    Link(str(control.value), "scp", f"jamaa-{key.value}", path, node.lineno, str(what))
                )
    return links


def derive_links(repo: Path = REPO_ROOT) -> list[Link]:
    """Every link of the repository, sorted by control, kind, place."""
    # An installed package without the checkout has no policies/ (nor roles/): only what exists is read.
    links = [
        *(policy_links(repo / "policies", repo) if (repo / "policies" / "jamaa_policies").is_dir() else []),
        *role_links(repo / "roles", repo),
        *check_links(repo),
        *audit_links(repo / "jamaa" / "audit", repo),
        *scp_links(repo / "jamaa" / "landingzone.py", repo),
    ]
    return sorted(links, key=lambda link: (link.control, KINDS.index(link.kind), str(link.path), link.line))


def refs(links: Iterable[Link], enforcing: bool) -> tuple[str, ...]:
    """The `kind:name` entries of the links that enforce (or verify), each once, in order."""
    return tuple(dict.fromkeys(link.ref for link in links if (link.enforces if enforcing else link.verifies)))
