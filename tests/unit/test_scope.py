"""jamaa.scope (the collection's plugins/plugin_utils/scope.py): which roles a host gets, which host
controls do not apply to it and why; the same module the filters, jamaa_context and the baseline read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from jamaa import scope
from jamaa.controls import load_catalogue
from jamaa.paths import REPO

communes_st = st.lists(st.sampled_from(["c0410101", "c0410103", "c0410109"]), max_size=3, unique=True)
scope_st = st.sampled_from([None, "", "full", "kernel"])


def play_roles(playbook: str) -> list[str]:
    """The roles a playbook applies, in order (the one list of the roles), without jamaa_context."""
    plays = yaml.safe_load((REPO / "playbooks" / playbook).read_text())
    return [r["role"] for play in plays for r in play.get("roles", []) if r["role"] != "jamaa_context"]


ALL_ROLES = play_roles("commune_server.yml") + play_roles("backup.yml")


def test_the_lab_servers_get_what_the_playbooks_applied_before() -> None:
    """A commune-serving host gets every role of the plays; one in the kernel scope (one commune)
    the eight kernel roles; a full host serving no commune loses the service roles."""
    assert scope.host_roles(ALL_ROLES, "full", ["c0410101"]) == ALL_ROLES
    assert scope.host_roles(ALL_ROLES, "kernel", ["c0410305"]) == [
        "sysctl_hardening",
        "kernel_modules",
        "mounts_hardening",
        "core_dumps",
        "time_sync",
        "auditd",
        "usbguard",
        "aide",
    ]
    assert set(ALL_ROLES) - set(scope.host_roles(ALL_ROLES, "full", [])) == {
        "tls_certificates",
        "postgresql",
        "nginx",
        "monitoring",
        "backup",
    }
    assert scope.host_roles(["backup"], "full", ["c0410101"]) == ["backup"]
    assert scope.host_roles(["backup"], "kernel", ["c0410101"]) == []
    assert scope.host_roles(["backup"], None, []) == []


@settings(deadline=None)  # a loaded CI machine is slow, not wrong
@given(scope_st, communes_st, st.permutations(ALL_ROLES))
def test_host_roles_keep_the_play_order_and_the_rules(
    scope_name: str | None, communes: list[str], order: list[str]
) -> None:
    roles = scope.host_roles(order, scope_name, communes)
    assert roles == [r for r in order if r in roles], "not in the play's order"
    if scope_name == "kernel":
        assert set(roles) <= scope.KERNEL_ROLES
    if not communes:
        assert not set(roles) & scope.SERVICE_ROLES
    kept = {
        r
        for r in order
        if (scope_name in (None, "", "full") or r in scope.KERNEL_ROLES)
        and (communes or r not in scope.SERVICE_ROLES)
    }
    assert set(roles) == kept
    assert all(scope.role_applies(r, scope_name, communes) == (r in kept) for r in order)


def test_the_rules_name_roles_the_playbooks_apply() -> None:
    assert set(ALL_ROLES) >= scope.KERNEL_ROLES
    assert set(ALL_ROLES) >= scope.SERVICE_ROLES
    for role in ALL_ROLES:
        assert (REPO / "roles" / role / "tasks" / "main.yml").is_file(), role
        assert (REPO / "roles" / role / "meta" / "argument_specs.yml").is_file(), role


def test_every_role_with_a_control_in_the_catalogue_is_applied_by_a_play() -> None:
    catalogue = load_catalogue(REPO / "policies" / "controls")
    claimed = {role for control in catalogue.host_controls() for role in control.roles}
    assert claimed <= set(ALL_ROLES), sorted(claimed - set(ALL_ROLES))


@settings(deadline=None)  # a loaded CI machine is slow, not wrong
@given(
    st.dictionaries(
        st.sampled_from([scope.SCOPE_VAR, scope.COMMUNES_VAR, scope.REGION_VAR, "other"]),
        st.one_of(st.none(), st.text(max_size=5), st.lists(st.text(min_size=1, max_size=5), max_size=3)),
    )
)
def test_host_facts_reads_the_inventory_with_one_set_of_defaults(hostvars: dict[str, object]) -> None:
    facts = scope.host_facts(hostvars)
    raw_scope = hostvars.get(scope.SCOPE_VAR)
    assert facts.scope == (str(raw_scope) if raw_scope else scope.DEFAULT_SCOPE)
    raw = hostvars.get(scope.COMMUNES_VAR)
    if isinstance(raw, str) and raw:
        assert facts.communes == (raw,)
    elif not raw:
        assert facts.communes == ()
    assert facts.region is None or facts.region == str(hostvars[scope.REGION_VAR])


def test_host_facts_defaults() -> None:
    assert scope.host_facts({}) == scope.HostFacts("full", (), None)
    assert scope.host_facts(
        {"jamaa_baseline_scope": "kernel", "jamaa_communes": ["c1"], "jamaa_region": "MA-07"}
    ) == scope.HostFacts("kernel", ("c1",), "MA-07")


controls_st = st.lists(
    st.tuples(
        st.from_regex(r"HOST-[A-Z]{2,4}-\d{3}", fullmatch=True),
        st.booleans(),
        st.lists(st.sampled_from(ALL_ROLES), max_size=2, unique=True),
    ),
    max_size=12,
    unique_by=lambda c: c[0],
)


@settings(deadline=None)  # a loaded CI machine is slow, not wrong
@given(controls_st, st.sampled_from(["", "systemd-nspawn", "lxc"]), scope_st, communes_st)
def test_not_applicable_is_the_container_rule_then_the_scope_rule(
    controls: list[tuple[str, bool, list[str]]],
    container: str,
    scope_name: str | None,
    communes: list[str],
) -> None:
    roles = scope.host_roles(ALL_ROLES, scope_name, communes)
    label = scope.scope_label(scope_name, communes)
    result = scope.not_applicable(controls, container, scope_name, communes)
    assert list(result) == sorted(result)
    for control_id, kernel_level, control_roles in controls:
        if container and kernel_level:
            assert result[control_id].startswith(f"container ({container}): needs a real kernel")
        elif control_roles and not set(control_roles) & set(roles):
            assert result[control_id] == (
                f"role {', '.join(control_roles)} is outside this host's scope ({label})"
            )
        else:
            assert control_id not in result


def test_scope_label_says_when_no_commune_is_served() -> None:
    assert scope.scope_label("full", ["c1"]) == "full"
    assert scope.scope_label(None, []) == "full, no commune served"
    assert scope.scope_label("kernel", []) == "kernel, no commune served"


def test_the_filter_and_the_role_use_the_module(plugin_module: Callable[[Path], ModuleType]) -> None:
    """The role's defaults carry no role list of their own, and the filter gives the module's answer."""
    defaults = yaml.safe_load((REPO / "roles" / "jamaa_context" / "defaults" / "main.yml").read_text())
    assert not [k for k in defaults if k.startswith("jamaa_context_roles") or "service_roles" in k]
    module = plugin_module(REPO / "plugins" / "filter" / "jamaa_waivers.py")
    assert module.jamaa_host_roles(ALL_ROLES, "kernel", []) == scope.host_roles(ALL_ROLES, "kernel", [])
    assert module.jamaa_host_roles(["backup"], "full", ["c1"]) == ["backup"]
    assert module.jamaa_host_roles(["backup"], "full", []) == []


def test_the_commune_server_play_applies_each_role_when_the_context_says_so() -> None:
    """jamaa_context runs first; every other role runs when it is in `jamaa_roles` (this module's rules)."""
    (play,) = yaml.safe_load((REPO / "playbooks" / "commune_server.yml").read_text())
    assert play["roles"][0]["role"] == "jamaa_context"
    for entry in play["roles"][1:]:
        assert entry["when"] == f"'{entry['role']}' in jamaa_roles", entry
