"""PostgreSQL: listening addresses, SCRAM, TLS, pg_hba as the server parsed it, commune databases."""

from __future__ import annotations

import re
import shlex
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, mode_at_most, run_ok, setting

ROLE = "postgresql"
LOOPBACK = {"127.0.0.1", "::1", "[::1]"}


def sql(host: Any, query: str) -> list[list[str]]:
    out = run_ok(host, f"runuser -u postgres -- psql -XAtq -F '|' -c {shlex.quote(query)}")
    return [line.split("|") for line in out.splitlines() if line.strip()]


def show(host: Any, name: str) -> str:
    return sql(host, f"SHOW {name}")[0][0]


def port(ctx: HostContext) -> int:
    return int(setting(ctx, ROLE, "postgresql_port") or 5432)


@check("HOST-PG-001")
def listen(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, f"ss -Hltn 'sport = :{port(ctx)}'")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if len(line.split()) > 3}
    assert addresses, f"PostgreSQL does not listen on port {port(ctx)}"
    allowed = LOOPBACK | {str(ctx.var("jamaa_lan_ip", ""))}
    extra = sorted(addresses - allowed)
    assert not extra, f"PostgreSQL listens on {extra} (allowed: localhost and {ctx.var('jamaa_lan_ip', '?')})"


@check("HOST-PG-002")
def scram(host: Any, ctx: HostContext) -> None:
    assert show(host, "password_encryption") == "scram-sha-256", "password_encryption is not scram-sha-256"
    methods = {row[0] for row in sql(host, "SELECT auth_method FROM pg_hba_file_rules WHERE error IS NULL")}
    weak = sorted(methods & {"md5", "password", "trust"})
    assert not weak, f"pg_hba uses {weak}"


@check("HOST-PG-003")
def tls(host: Any, ctx: HostContext) -> None:
    assert show(host, "ssl") == "on", "ssl is off"
    version = show(host, "ssl_min_protocol_version")
    assert version in ("TLSv1.2", "TLSv1.3"), f"ssl_min_protocol_version = {version}"


@check("HOST-PG-004")
def hba(host: Any, ctx: HostContext) -> None:
    rows = sql(
        host,
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), "
        "coalesce(address, ''), coalesce(netmask, ''), auth_method, coalesce(error, '') "
        "FROM pg_hba_file_rules ORDER BY line_number",  # rule_number: PostgreSQL 16+ only
    )
    assert rows, "pg_hba has no rule"
    errors = [r for r in rows if r[6]]
    assert not errors, f"pg_hba errors: {errors}"
    problems = []
    for kind, db, user, address, _mask, method, _ in rows:
        if method == "reject":
            continue
        if kind == "local" and user == "postgres" and method == "peer":
            continue
        if kind == "hostssl" and method == "scram-sha-256" and db == user and db.startswith("commune_"):
            continue
        problems.append(f"{kind} {db} {user} {address} {method}")
    assert not problems, f"pg_hba allows more than the design: {problems}"
    last = rows[-3:]
    assert any(r[0] == "host" and r[3] == "0.0.0.0" and r[5] == "reject" for r in last) or any(
        r[0] == "host" and r[3] in ("0.0.0.0", "all") and r[5] == "reject" for r in rows
    ), "pg_hba does not end by rejecting every other network connection"


@check("HOST-PG-005")
def commune_databases(host: Any, ctx: HostContext) -> None:
    communes = list(ctx.var("jamaa_communes", []))
    assert communes, "this host serves no commune"
    problems = []
    for commune in communes:
        name = f"commune_{commune}"
        role = sql(host, f"SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = '{name}'")
        if not role:
            problems.append(f"no role {name}")
        elif role[0] != ["f", "t"]:
            problems.append(f"role {name} superuser={role[0][0]} login={role[0][1]}")
        acl = sql(host, f"SELECT coalesce(datacl::text, 'DEFAULT') FROM pg_database WHERE datname = '{name}'")
        if not acl:
            problems.append(f"no database {name}")
        elif acl[0][0] == "DEFAULT" or re.search(r"[{,]=[A-Za-z]*c", acl[0][0]):
            problems.append(f"PUBLIC can connect to {name} ({acl[0][0]})")
    assert not problems, "; ".join(problems)


@check("HOST-PG-006")
def logging(host: Any, ctx: HostContext) -> None:
    assert show(host, "log_connections") not in ("off", ""), "log_connections is off"
    assert show(host, "log_disconnections") == "on", "log_disconnections is off"
    slow = show(host, "log_min_duration_statement")
    assert slow != "-1", "slow statements are not logged (log_min_duration_statement = -1)"


@check("HOST-PG-007")
def data_directory(host: Any, ctx: HostContext) -> None:
    path = show(host, "data_directory")
    mode_at_most(host, path, 0o700, owner="postgres", group="postgres")
    assert host.file(path).mode == 0o700, f"{path} is mode {host.file(path).mode:04o}"


@check("HOST-PG-009")
def config_not_world_readable(host: Any, ctx: HostContext) -> None:
    config = show(host, "config_file").rsplit("/", 1)[0]
    out = run_ok(host, f"find {config} -name '*.conf' -perm /o=rwx -printf '%m %p\\n'")
    assert not out.strip(), f"configuration files readable by every user: {out.strip()}"


@check("HOST-PG-008")
def firewall(host: Any, ctx: HostContext) -> None:
    rules = run_ok(host, "nft list ruleset").splitlines()
    opened = [
        r.strip()
        for r in rules
        if re.search(rf"dport (\{{[^}}]*\b{port(ctx)}\b[^}}]*\}}|{port(ctx)}\b)", r) and "accept" in r
    ]
    unrestricted = [r for r in opened if "saddr" not in r]
    assert not unrestricted, f"PostgreSQL's port is open to anyone: {unrestricted}"
    policy = [r for r in rules if "hook input" in r]
    assert policy and all("policy drop" in r for r in policy), "the input chain does not drop by default"
