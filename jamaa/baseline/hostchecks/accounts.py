"""Accounts: password ageing and hashing, UID/GID 0, system accounts, umask, idle shells, su."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, run_ok

NO_SHELL = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}
SPECIAL = {"root", "sync", "shutdown", "halt"}


def login_defs(host: Any, ctx: HostContext) -> dict[str, str]:
    if "login.defs" not in ctx.cache:
        text = host.file("/etc/login.defs").content_string
        ctx.cache["login.defs"] = {
            parts[0]: parts[1]
            for parts in (
                line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")
            )
            if len(parts) >= 2
        }
    return dict(ctx.cache["login.defs"])


def _defs_int(host: Any, ctx: HostContext, key: str) -> int:
    value = login_defs(host, ctx).get(key)
    assert value is not None, f"/etc/login.defs sets no {key}"
    return int(value)


def shadow(host: Any) -> list[list[str]]:
    return [line.split(":") for line in run_ok(host, "cat /etc/shadow").splitlines() if line.strip()]


def passwd(host: Any) -> list[list[str]]:
    return [line.split(":") for line in host.file("/etc/passwd").content_string.splitlines() if line.strip()]


def with_password(host: Any) -> list[list[str]]:
    return [f for f in shadow(host) if len(f) > 7 and f[1] and f[1][0] not in "!*"]


@check("HOST-ACCT-001")
def max_days(host: Any, ctx: HostContext) -> None:
    assert 0 < _defs_int(host, ctx, "PASS_MAX_DAYS") <= 365, "PASS_MAX_DAYS above 365"
    bad = [f[0] for f in with_password(host) if not f[4] or not 0 < int(f[4]) <= 365]
    assert not bad, f"accounts whose password never expires within 365 days: {bad}"


@check("HOST-ACCT-002")
def min_days(host: Any, ctx: HostContext) -> None:
    assert _defs_int(host, ctx, "PASS_MIN_DAYS") >= 1, "PASS_MIN_DAYS below 1"
    bad = [f[0] for f in with_password(host) if not f[3] or int(f[3]) < 1]
    assert not bad, f"accounts that may change their password more than once a day: {bad}"


@check("HOST-ACCT-003")
def warn_age(host: Any, ctx: HostContext) -> None:
    assert _defs_int(host, ctx, "PASS_WARN_AGE") >= 7, "PASS_WARN_AGE below 7"


@check("HOST-ACCT-004")
def yescrypt(host: Any, ctx: HostContext) -> None:
    method = login_defs(host, ctx).get("ENCRYPT_METHOD", "")
    assert method.upper() == "YESCRYPT", f"ENCRYPT_METHOD {method or '(unset)'}"
    bad = [f[0] for f in with_password(host) if not f[1].startswith("$y$")]
    assert not bad, f"password hashes other than yescrypt: {bad}"


@check("HOST-ACCT-005")
def inactive(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, "useradd -D")
    match = re.search(r"^INACTIVE=(-?\d+)", out, re.M)
    assert match, "useradd -D shows no INACTIVE"
    days = int(match.group(1))
    assert 0 <= days <= 45, f"useradd default INACTIVE={days}"
    bad = [f[0] for f in with_password(host) if not f[6] or not 0 <= int(f[6]) <= 45]
    assert not bad, f"accounts not locked within 45 days of expiry: {bad}"


@check("HOST-ACCT-006")
def uid0(host: Any, ctx: HostContext) -> None:
    zero = [f[0] for f in passwd(host) if f[2] == "0"]
    assert zero == ["root"], f"accounts with UID 0: {zero}"


@check("HOST-ACCT-007")
def gid0_users(host: Any, ctx: HostContext) -> None:
    zero = [
        f[0]
        for f in passwd(host)
        if f[3] == "0" and f[0] not in ("root", "sync", "shutdown", "halt", "operator")
    ]
    assert not zero, f"accounts other than root with primary GID 0: {zero}"


@check("HOST-ACCT-008")
def gid0_group(host: Any, ctx: HostContext) -> None:
    groups = [line.split(":") for line in host.file("/etc/group").content_string.splitlines() if line.strip()]
    zero = [g[0] for g in groups if g[2] == "0"]
    assert zero == ["root"], f"groups with GID 0: {zero}"


@check("HOST-ACCT-009")
def root_password(host: Any, ctx: HostContext) -> None:
    status = run_ok(host, "passwd -S root").split()
    assert len(status) > 1 and status[1] in ("P", "L"), (
        f"passwd -S root: {' '.join(status)} (no password, unlocked)"
    )


def _umask(text: str) -> int:
    return int(text.strip().splitlines()[-1], 8)


@check("HOST-ACCT-010")
def root_umask(host: Any, ctx: HostContext) -> None:
    mask = _umask(run_ok(host, "bash -lc umask </dev/null"))
    assert mask & 0o027 == 0o027, f"root's login shell umask is {mask:04o}, more open than 0027"


@check("HOST-ACCT-011")
def system_no_shell(host: Any, ctx: HostContext) -> None:
    uid_min = int(login_defs(host, ctx).get("UID_MIN", "1000"))
    bad = [
        f"{f[0]} ({f[6]})"
        for f in passwd(host)
        if f[0] not in SPECIAL and int(f[2]) < uid_min and f[6] not in NO_SHELL
    ]
    assert not bad, f"system accounts with a login shell: {bad}"


@check("HOST-ACCT-012")
def no_shell_locked(host: Any, ctx: HostContext) -> None:
    locked = {f[0]: f[1] for f in shadow(host) if len(f) > 1}
    bad = [
        f[0]
        for f in passwd(host)
        if f[0] != "root" and f[6] in NO_SHELL and locked.get(f[0], "!")[:1] not in ("!", "*")
    ]
    assert not bad, f"accounts without a login shell that are not locked: {bad}"


@check("HOST-ACCT-013")
def nologin_not_a_shell(host: Any, ctx: HostContext) -> None:
    shells = [line.strip() for line in host.file("/etc/shells").content_string.splitlines()]
    listed = [s for s in shells if s.endswith("/nologin")]
    assert not listed, f"/etc/shells lists {listed}"


@check("HOST-ACCT-014")
def tmout(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, "bash -lc 'echo \"TMOUT=${TMOUT:-unset}\"; readonly -p; export -p' </dev/null")
    match = re.search(r"^TMOUT=(\S+)$", out, re.M)
    assert match and match.group(1).isdigit(), "TMOUT is not set in login shells"
    seconds = int(match.group(1))
    assert 0 < seconds <= 900, f"TMOUT={seconds} (at most 900 s)"
    assert re.search(r"declare -[a-z]*r[a-z]* TMOUT=", out), "TMOUT is not read-only"
    assert re.search(r"declare -[a-z]*x[a-z]* TMOUT=", out), "TMOUT is not exported"


@check("HOST-ACCT-015")
def user_umask(host: Any, ctx: HostContext) -> None:
    value = login_defs(host, ctx).get("UMASK", "")
    assert value and int(value, 8) & 0o027 == 0o027, f"/etc/login.defs UMASK {value or '(unset)'}"
    mask = _umask(run_ok(host, "su -l -s /bin/bash nobody -c umask </dev/null"))
    assert mask & 0o027 == 0o027, f"a user's login shell gets umask {mask:04o}"


@check("HOST-ACCT-016")
def su_restricted(host: Any, ctx: HostContext) -> None:
    lines = [
        line.split()
        for line in host.file("/etc/pam.d/su").content_string.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    wheel = [w for w in lines if "pam_wheel.so" in w and w[0] == "auth" and w[1] in ("required", "requisite")]
    assert wheel, "/etc/pam.d/su: no `auth required pam_wheel.so`"
    args = dict(a.split("=", 1) if "=" in a else (a, "") for a in wheel[0][3:])
    assert "use_uid" in args, "pam_wheel without use_uid"
    group = args.get("group", "")
    assert group, "pam_wheel names no dedicated group (group=...)"
    entry = run_ok(host, f"getent group {group} || true").strip()
    assert entry, f"pam_wheel's group {group} does not exist"
    members = [m for m in entry.split(":")[3].split(",") if m]
    assert not members, f"su group {group} has members: {members}"
