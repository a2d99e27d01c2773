"""The Prometheus node exporter: running, listening on the management address, firewalled."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, active_enabled, check, installed, run_ok, setting

PORT = 9100
WILDCARD = {"0.0.0.0", "*", "[::]", "::"}


@check("HOST-MON-001")
def exporter(host: Any, ctx: HostContext) -> None:
    installed(host, "prometheus-node-exporter")
    active_enabled(host, "prometheus-node-exporter")


def _port(ctx: HostContext) -> int:
    return int(setting(ctx, "monitoring", "monitoring_port") or PORT)


@check("HOST-MON-002")
def management_address(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, f"ss -Hltn 'sport = :{_port(ctx)}'")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if len(line.split()) > 3}
    assert addresses, f"nothing listens on {_port(ctx)}"
    wide = sorted(addresses & WILDCARD)
    assert not wide, f"the node exporter listens on every address ({wide})"


@check("HOST-MON-003")
def firewalled(host: Any, ctx: HostContext) -> None:
    rules = run_ok(host, "nft list ruleset").splitlines()
    port = _port(ctx)
    opened = [
        r.strip()
        for r in rules
        if re.search(rf"dport (\{{[^}}]*\b{port}\b[^}}]*\}}|{port}\b)", r) and "accept" in r
    ]
    unrestricted = [r for r in opened if "saddr" not in r]
    assert not unrestricted, f"the node exporter's port is open to anyone: {unrestricted}"
    policy = [r for r in rules if "hook input" in r]
    assert policy and all("policy drop" in r for r in policy), "the input chain does not drop by default"
