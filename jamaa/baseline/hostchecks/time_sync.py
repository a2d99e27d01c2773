"""Time: chrony alone, the authorised servers, an unprivileged daemon, nothing served to the network."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import (
    HostContext,
    active_enabled,
    check,
    installed,
    not_installed,
    run_ok,
    setting,
)

ROLE = "time_sync"


def chrony_conf(host: Any) -> list[list[str]]:
    out = run_ok(
        host,
        "cat /etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf /etc/chrony/sources.d/*.sources"
        " 2>/dev/null || true",
    )
    return [
        line.split() for line in out.splitlines() if line.strip() and not line.lstrip().startswith(("#", "!"))
    ]


@check("HOST-TIME-001")
def only_chrony(host: Any, ctx: HostContext) -> None:
    installed(host, "chrony")
    not_installed(host, "systemd-timesyncd", "ntp", "ntpsec", "openntpd")


@check("HOST-TIME-002")
def authorised_servers(host: Any, ctx: HostContext) -> None:
    wanted = set(setting(ctx, ROLE, "time_sync_servers") or [])
    used = {
        words[1] for words in chrony_conf(host) if words[0] in ("server", "pool", "peer") and len(words) > 1
    }
    assert used, "chrony has no time source"
    assert wanted, "no authorised time servers declared (time_sync_servers)"
    extra = sorted(used - wanted)
    assert not extra, f"chrony uses unauthorised sources {extra} (authorised: {sorted(wanted)})"


@check("HOST-TIME-003")
def unprivileged(host: Any, ctx: HostContext) -> None:
    user = setting(ctx, ROLE, "time_sync_user") or "_chrony"
    owners = run_ok(host, "ps -C chronyd -o user= || true").split()
    if owners:
        assert set(owners) == {user}, f"chronyd runs as {sorted(set(owners))}, not {user}"
        return
    # chronyd cannot run in a container (no clock of its own: HOST-TIME-004 is verified on the VM);
    # there, what chronyd would run as is its configuration: the `user` directive and its -u option
    assert ctx.container, "chronyd is not running"
    installed(host, "chrony")
    configured = [w[1] for w in chrony_conf(host) if w[0] == "user" and len(w) > 1]
    options = run_ok(host, "cat /etc/default/chrony 2>/dev/null || true")
    switched = re.findall(r"-u\s+(\S+)", options)
    for name in configured + switched:
        assert name == user, f"chronyd is configured to run as {name}, not {user}"
    assert host.user(user).exists, f"the {user} account does not exist"


@check("HOST-TIME-004")
def chrony_running(host: Any, ctx: HostContext) -> None:
    active_enabled(host, "chrony")


@check("HOST-TIME-005")
def serves_nothing(host: Any, ctx: HostContext) -> None:
    installed(host, "chrony")
    conf = chrony_conf(host)
    allows = [" ".join(w) for w in conf if w[0] == "allow"]
    assert not allows, f"chrony serves clients: {allows}"
    ports = {w[0]: w[1] for w in conf if w[0] in ("port", "cmdport") and len(w) > 1}
    listening = run_ok(host, "ss -Hlnup 2>/dev/null | grep chronyd || true")
    exposed = [
        line.split()[3]
        for line in listening.splitlines()
        if len(line.split()) > 3
        and not re.match(r"(127\.0\.0\.1|\[::1\]|\*%lo|\[::1%lo\]):", line.split()[3])
    ]
    assert not exposed, f"chronyd listens on the network: {exposed} ({ports})"
