"""nftables: the running ruleset (`nft list ruleset`), the boot-time file, and no competitor."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, cached, check, installed, not_installed, run_ok, setting

ROLE = "nftables_firewall"


def ruleset(host: Any, ctx: HostContext) -> str:
    return str(cached(ctx, "nft ruleset", lambda: run_ok(host, "nft list ruleset")))


def chains(host: Any, ctx: HostContext) -> dict[str, tuple[str, str, list[str]]]:
    """Base chains: name → (hook, policy, rule lines)."""
    found: dict[str, tuple[str, str, list[str]]] = {}
    current: str | None = None
    hook = policy = ""
    rules: list[str] = []
    for raw in ruleset(host, ctx).splitlines():
        line = raw.strip()
        opened = re.match(r"chain (\S+) \{", line)
        if opened:
            current, hook, policy, rules = opened.group(1), "", "", []
            continue
        if current is None:
            continue
        header = re.match(r"type \S+ hook (\S+) .*policy (\S+);", line)
        if header:
            hook, policy = header.group(1), header.group(2)
        elif line == "}":
            if hook:
                found[f"{current}@{hook}"] = (hook, policy, rules)
            current = None
        elif line:
            rules.append(line)
    return found


def hooked(host: Any, ctx: HostContext, hook: str) -> list[tuple[str, list[str]]]:
    return [(policy, rules) for h, policy, rules in chains(host, ctx).values() if h == hook]


def input_rules(host: Any, ctx: HostContext) -> list[str]:
    return [rule for _, rules in hooked(host, ctx, "input") for rule in rules]


@check("HOST-FW-001")
def nft_installed(host: Any, ctx: HostContext) -> None:
    installed(host, "nftables")


@check("HOST-FW-002")
def no_ufw(host: Any, ctx: HostContext) -> None:
    not_installed(host, "ufw")


@check("HOST-FW-003")
def no_legacy_iptables(host: Any, ctx: HostContext) -> None:
    not_installed(host, "iptables-persistent", "netfilter-persistent")
    for tool in ("iptables-legacy-save", "ip6tables-legacy-save"):
        out = host.run(f"command -v {tool} >/dev/null && {tool} || true").stdout
        rules = [line for line in out.splitlines() if line.startswith("-A")]
        assert not rules, f"{tool}: legacy rules in use: {rules[:5]}"


@check("HOST-FW-004")
def table_exists(host: Any, ctx: HostContext) -> None:
    assert re.search(r"^table ", ruleset(host, ctx), re.M), "nft list ruleset: no table"


@check("HOST-FW-005")
def base_chains(host: Any, ctx: HostContext) -> None:
    hooks = {hook for hook, _, _ in chains(host, ctx).values()}
    missing = sorted({"input", "forward", "output"} - hooks)
    assert not missing, f"no base chain on hook {missing}"


@check("HOST-FW-006")
def loopback(host: Any, ctx: HostContext) -> None:
    rules = input_rules(host, ctx)
    assert any(re.match(r'iif(name)? "lo" .*accept', r) for r in rules), "input: no `iif lo accept`"
    assert any(re.match(r"ip saddr 127\.0\.0\.0/8 .*drop", r) for r in rules), (
        "input: 127.0.0.0/8 not dropped"
    )
    assert any(re.match(r"ip6 saddr ::1 .*drop", r) for r in rules), "input: ::1 from outside not dropped"


@check("HOST-FW-007")
def established(host: Any, ctx: HostContext) -> None:
    rules = input_rules(host, ctx)
    assert any(re.match(r"ct state established,related .*accept", r) for r in rules), (
        "input: no rule for established connections"
    )
    outputs = hooked(host, ctx, "output")
    assert outputs and all(policy in ("accept", "drop") for policy, _ in outputs), (
        "output: no explicit policy"
    )


@check("HOST-FW-008")
def default_deny(host: Any, ctx: HostContext) -> None:
    for hook in ("input", "forward"):
        chains_here = hooked(host, ctx, hook)
        assert chains_here, f"no {hook} base chain"
        open_ = [policy for policy, _ in chains_here if policy != "drop"]
        assert not open_, f"{hook} chain policy {open_[0]}, not drop"


@check("HOST-FW-009")
def service_enabled(host: Any, ctx: HostContext) -> None:
    assert host.service("nftables").is_enabled, "nftables.service is not enabled"


@check("HOST-FW-010")
def permanent(host: Any, ctx: HostContext) -> None:
    conf = host.file("/etc/nftables.conf")
    assert conf.exists, "/etc/nftables.conf is missing"
    tables = re.findall(r"^table (\S+ \S+)", conf.content_string, re.M)
    assert tables, "/etc/nftables.conf defines no table"
    for table in tables:
        assert f"table {table} " in ruleset(host, ctx), f"table {table} of /etc/nftables.conf is not loaded"


@check("HOST-FW-011")
def ssh_from_management(host: Any, ctx: HostContext) -> None:
    port = int(setting(ctx, ROLE, "nftables_firewall_ssh_port") or 22)
    rules = input_rules(host, ctx)
    ssh = [i for i, r in enumerate(rules) if re.search(rf"tcp dport {port}\b", r) and "accept" in r]
    assert ssh, f"input: no rule accepting SSH (tcp/{port})"
    unrestricted = [rules[i] for i in ssh if "saddr" not in rules[i]]
    assert not unrestricted, f"SSH accepted from anywhere: {unrestricted}"
    drops = [i for i, r in enumerate(rules) if re.search(r"\b(drop|reject)\b", r) and "saddr 127." not in r]
    drops = [i for i in drops if "saddr ::1" not in rules[i]]
    assert not drops or min(ssh) < min(drops), "a drop rule comes before the management SSH rule"


@check("HOST-FW-012")
def declared_services(host: Any, ctx: HostContext) -> None:
    services = setting(ctx, ROLE, "nftables_firewall_services") or []
    port = int(setting(ctx, ROLE, "nftables_firewall_ssh_port") or 22)
    declared = {str(s["name"]): s for s in services}
    for rule in input_rules(host, ctx):
        if "dport" not in rule or "accept" not in rule or re.search(rf"tcp dport {port}\b", rule):
            continue
        match = re.search(r'comment "([^"(]+?) \(', rule)
        assert match and match.group(1) in declared, f"input accepts an undeclared service: {rule}"
        service = declared[match.group(1)]
        if "0.0.0.0/0" not in service["sources"] and "::/0" not in service["sources"]:
            assert "saddr" in rule, f"{service['name']} is open to anyone, declared for {service['sources']}"


@check("HOST-FW-013")
def log_drops(host: Any, ctx: HostContext) -> None:
    logged = [r for r in input_rules(host, ctx) if " log" in f" {r}" and "limit rate" in r]
    assert logged, "input: dropped packets are not logged with a rate limit"


@check("HOST-FW-014")
def commit_confirm(host: Any, ctx: HostContext) -> None:
    """The commit-confirm run left nothing armed and nothing behind (a confirmed change)."""
    timer = host.run("systemctl is-active jamaa-rollback-nftables.timer").stdout.strip()
    assert timer != "active", "a firewall rollback is still armed (the last change was never confirmed)"
    assert not host.file("/var/lib/jamaa/nftables.previous").exists, "a rollback copy was left behind"
    assert host.file("/etc/nftables.conf").contains("HOST-FW-004"), (
        "/etc/nftables.conf is not Jamaa's ruleset"
    )


@check("HOST-FW-015")
def syntax_checked(host: Any, ctx: HostContext) -> None:
    result = host.run("nft -c -f /etc/nftables.conf")
    assert result.rc == 0, f"nft -c -f /etc/nftables.conf: {result.stderr.strip()[:300]}"
