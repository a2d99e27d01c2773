"""auditd: installed and running, its log policy (auditd.conf), and the rules the kernel has loaded.

Rules are read from the kernel (`auditctl -l`), not from rules.d: what is not loaded is not audited.
Each control lists the watches and 64-bit syscalls it needs (generated from the table below).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import (
    HostContext,
    active_enabled,
    cached,
    check,
    installed,
    key_values,
    mode_at_most,
    run_ok,
    setting,
)

# control → (watched paths, b64 syscalls, extra text a syscall rule must carry)
RULES: dict[str, tuple[list[str], list[str], str]] = {
    "HOST-AUDIT-007": (["/etc/sudoers", "/etc/sudoers.d"], [], ""),
    # auditctl -l may print the field comparison either way round
    "HOST-AUDIT-008": ([], ["execve"], "euid!=uid|uid!=euid"),
    "HOST-AUDIT-010": (["/etc/localtime"], ["adjtimex", "settimeofday", "clock_settime"], ""),
    "HOST-AUDIT-011": (["/etc/issue", "/etc/issue.net", "/etc/hosts"], ["sethostname", "setdomainname"], ""),
    "HOST-AUDIT-013": ([], ["open", "openat", "creat", "truncate", "ftruncate"], "exit=-EACCES"),
    "HOST-AUDIT-014": (
        ["/etc/group", "/etc/passwd", "/etc/gshadow", "/etc/shadow", "/etc/security/opasswd"],
        [],
        "",
    ),
    "HOST-AUDIT-015": (
        [],
        ["chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat", "setxattr"],
        "",
    ),
    "HOST-AUDIT-016": ([], ["mount"], ""),
    "HOST-AUDIT-017": (["/var/log/wtmp", "/var/log/btmp"], [], ""),
    "HOST-AUDIT-019": ([], ["unlink", "unlinkat", "rename", "renameat"], ""),
    "HOST-AUDIT-020": (["/etc/apparmor", "/etc/apparmor.d"], [], ""),
    "HOST-AUDIT-023": ([], ["init_module", "finit_module", "delete_module"], ""),
}
# control → programs whose execution must be audited (-F path=... -F perm=x)
EXECUTIONS: dict[str, list[str]] = {
    "HOST-AUDIT-021": ["/usr/bin/setfacl", "/usr/bin/chacl"],
    "HOST-AUDIT-022": ["/usr/sbin/usermod"],
    "HOST-AUDIT-023": ["/usr/bin/kmod"],
}


def loaded(host: Any, ctx: HostContext) -> list[str]:
    return list(cached(ctx, "auditctl -l", lambda: run_ok(host, "auditctl -l").splitlines()))


def watched(rules: list[str], path: str) -> bool:
    variants = {path, path.replace("/var/run/", "/run/")}
    return any(re.match(rf"-w ({'|'.join(map(re.escape, variants))}) -p \w*w\w*a", r) for r in rules)


def syscall_audited(rules: list[str], name: str, extra: str) -> bool:
    for rule in rules:
        if "arch=b64" not in rule or (extra and not any(e in rule for e in extra.split("|"))):
            continue
        match = re.search(r"-S (\S+)", rule)
        if match and name in match.group(1).split(","):
            return True
        if re.search(rf"-S {re.escape(name)}\b", rule):
            return True
    return False


def executed(rules: list[str], path: str) -> bool:
    return any(f"path={path} " in f"{r} " and "perm=x" in r for r in rules)


def _rules(control: str) -> Callable[[Any, HostContext], None]:
    paths, syscalls, extra = RULES.get(control, ([], [], ""))
    programs = EXECUTIONS.get(control, [])

    def verify(host: Any, ctx: HostContext) -> None:
        rules = loaded(host, ctx)
        missing = [f"watch {p}" for p in paths if not watched(rules, p)]
        missing += [
            f"syscall {s}{' (' + extra + ')' if extra else ''}"
            for s in syscalls
            if not syscall_audited(rules, s, extra)
        ]
        missing += [f"execution of {p}" for p in programs if not executed(rules, p)]
        assert not missing, f"not audited (auditctl -l): {missing}"

    return verify


for _control in sorted(set(RULES) | set(EXECUTIONS)):
    check(_control)(_rules(_control))


def auditd_conf(host: Any, ctx: HostContext) -> dict[str, str]:
    return key_values(host, ctx, "/etc/audit/auditd.conf")


@check("HOST-AUDIT-001")
def packages(host: Any, ctx: HostContext) -> None:
    installed(host, "auditd")
    installed(host, "audispd-plugins")


@check("HOST-AUDIT-002")
def running(host: Any, ctx: HostContext) -> None:
    active_enabled(host, "auditd")
    status = run_ok(host, "auditctl -s")
    assert re.search(r"^enabled [12]$", status, re.M), (
        f"the kernel's audit is not enabled: {status.splitlines()[:1]}"
    )


@check("HOST-AUDIT-003")
def max_size(host: Any, ctx: HostContext) -> None:
    value = auditd_conf(host, ctx).get("max_log_file", "")
    assert value.isdigit() and int(value) > 0, f"max_log_file = {value or '(unset)'}"


@check("HOST-AUDIT-004")
def keep_logs(host: Any, ctx: HostContext) -> None:
    value = auditd_conf(host, ctx).get("max_log_file_action", "").lower()
    assert value == "keep_logs", f"max_log_file_action = {value or '(unset)'} (logs would be rotated away)"


@check("HOST-AUDIT-005")
def disk_full(host: Any, ctx: HostContext) -> None:
    conf = auditd_conf(host, ctx)
    for key in ("disk_full_action", "disk_error_action", "admin_space_left_action"):
        value = conf.get(key, "").lower()
        assert value in ("halt", "single"), f"{key} = {value or '(unset)'} (records would be lost)"


@check("HOST-AUDIT-006")
def space_warning(host: Any, ctx: HostContext) -> None:
    conf = auditd_conf(host, ctx)
    action = conf.get("space_left_action", "").lower()
    assert action in ("email", "exec", "single", "halt"), f"space_left_action = {action or '(unset)'}"
    if action == "email":
        assert conf.get("action_mail_acct"), "space_left_action email without action_mail_acct"


@check("HOST-AUDIT-009")
def sudo_log(host: Any, ctx: HostContext) -> None:
    path = setting(ctx, "sudo", "sudo_logfile") or "/var/log/sudo.log"
    assert watched(loaded(host, ctx), path), f"not audited (auditctl -l): watch {path}"


@check("HOST-AUDIT-012")
def privileged(host: Any, ctx: HostContext) -> None:
    roots = setting(ctx, "auditd", "auditd_privileged_paths") or ["/usr/bin", "/usr/sbin"]
    found = run_ok(
        host, f"find {' '.join(roots)} -xdev -type f \\( -perm -4000 -o -perm -2000 \\) 2>/dev/null"
    ).split()
    assert found, "no setuid/setgid program found (unexpected on Debian)"
    rules = loaded(host, ctx)
    missing = [p for p in found if not executed(rules, p)]
    assert not missing, f"privileged programs whose use is not audited: {missing}"


@check("HOST-AUDIT-018")
def logins(host: Any, ctx: HostContext) -> None:
    rules = loaded(host, ctx)
    assert watched(rules, "/var/run/faillock"), "not audited (auditctl -l): watch /var/run/faillock"
    if host.file("/var/log/lastlog").exists:
        assert watched(rules, "/var/log/lastlog"), "not audited (auditctl -l): watch /var/log/lastlog"


@check("HOST-AUDIT-024")
def immutable(host: Any, ctx: HostContext) -> None:
    status = run_ok(host, "auditctl -s")
    assert re.search(r"^enabled 2$", status, re.M), "the audit configuration is not immutable (enabled 2)"


@check("HOST-AUDIT-025")
def rules_match(host: Any, ctx: HostContext) -> None:
    out = host.run("augenrules --check")
    text = (out.stdout + out.stderr).strip()
    assert out.rc == 0 and "No change" in text, f"augenrules --check: {text[:200]}"


@check("HOST-AUDIT-026")
def log_files(host: Any, ctx: HostContext) -> None:
    log_file = auditd_conf(host, ctx).get("log_file", "/var/log/audit/audit.log")
    directory = log_file.rsplit("/", 1)[0]
    files = run_ok(host, f"find {directory} -maxdepth 1 -type f").split()
    assert files, f"no audit log in {directory}"
    for path in files:
        f = host.file(path)
        assert f.mode & ~0o640 == 0, f"{path} is mode {f.mode:04o}"
        assert f.user == "root" and f.group in ("root", "adm"), f"{path} is {f.user}:{f.group}"


@check("HOST-AUDIT-027")
def config_files(host: Any, ctx: HostContext) -> None:
    files = run_ok(host, "find /etc/audit -type f \\( -name '*.conf' -o -name '*.rules' \\)").split()
    assert files, "no audit configuration file"
    for path in files:
        mode_at_most(host, path, 0o640, group=None)
