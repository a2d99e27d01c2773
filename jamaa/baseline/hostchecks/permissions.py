"""Account databases, their backups and the file system's ownership rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, mode_at_most, run_ok, setting

# control → (path, most permissive mode, owner, group)
FILES: dict[str, tuple[str, int, str, str]] = {
    "HOST-PERM-001": ("/etc/passwd", 0o644, "root", "root"),
    "HOST-PERM-002": ("/etc/passwd-", 0o644, "root", "root"),
    "HOST-PERM-003": ("/etc/group", 0o644, "root", "root"),
    "HOST-PERM-004": ("/etc/group-", 0o644, "root", "root"),
    "HOST-PERM-005": ("/etc/shadow", 0o640, "root", "shadow"),
    "HOST-PERM-006": ("/etc/shadow-", 0o640, "root", "shadow"),
    "HOST-PERM-007": ("/etc/gshadow", 0o640, "root", "shadow"),
    "HOST-PERM-008": ("/etc/gshadow-", 0o640, "root", "shadow"),
    "HOST-PERM-009": ("/etc/shells", 0o644, "root", "root"),
    "HOST-PERM-010": ("/etc/security/opasswd", 0o600, "root", "root"),
}
# exactly-this-mode files (the title says "mode 0644", not "at most")
EXACT = {"HOST-PERM-001", "HOST-PERM-003", "HOST-PERM-009"}
LOCAL_FS = "-xdev \\( -fstype ext4 -o -fstype xfs -o -fstype btrfs -o -fstype tmpfs -o -fstype overlay \\)"


def _make(control: str, path: str, most: int, owner: str, group: str) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        mode_at_most(host, path, most, owner, group)
        if control in EXACT:
            mode = host.file(path).mode
            assert mode == most, f"{path} is mode {mode:04o}, not {most:04o}"

    return verify


for _control, (_path, _most, _owner, _owner_group) in FILES.items():
    check(_control)(_make(_control, _path, _most, _owner, _owner_group))


def _passwd(host: Any) -> list[list[str]]:
    return [line.split(":") for line in host.file("/etc/passwd").content_string.splitlines() if line.strip()]


def _group(host: Any) -> list[list[str]]:
    return [line.split(":") for line in host.file("/etc/group").content_string.splitlines() if line.strip()]


def _shadow(host: Any) -> list[list[str]]:
    return [line.split(":") for line in run_ok(host, "cat /etc/shadow").splitlines() if line.strip()]


@check("HOST-PERM-011")
def sticky_world_writable(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, "find / -xdev -type d -perm -0002 ! -perm -1000 -print 2>/dev/null | head -20")
    assert not out.strip(), f"world-writable directories without the sticky bit: {out.split()}"


@check("HOST-PERM-012")
def no_unowned(host: Any, ctx: HostContext) -> None:
    out = run_ok(
        host,
        "find / -xdev \\( -path /proc -o -path /sys -o -path /run \\) -prune -o "
        "\\( -nouser -o -nogroup \\) -print 2>/dev/null | head -20",
    )
    assert not out.strip(), f"files without a known owner or group: {out.split()}"


@check("HOST-PERM-013")
def setuid_reviewed(host: Any, ctx: HostContext) -> None:
    approved = setting(ctx, "file_permissions", "file_permissions_suid_allowed")
    assert approved, "no approved setuid/setgid list (file_permissions_suid_allowed)"
    out = run_ok(host, "find / -xdev -type f \\( -perm -4000 -o -perm -2000 \\) -print 2>/dev/null")
    extra = sorted(set(out.split()) - set(approved))
    assert not extra, f"setuid/setgid executables not on the approved list: {extra}"


@check("HOST-PERM-014")
def shadowed(host: Any, ctx: HostContext) -> None:
    bad = [f[0] for f in _passwd(host) if len(f) > 1 and f[1] != "x"]
    assert not bad, f"accounts with a password hash in /etc/passwd: {bad}"


@check("HOST-PERM-015")
def no_empty_password(host: Any, ctx: HostContext) -> None:
    bad = [f[0] for f in _shadow(host) if len(f) > 1 and f[1] == ""]
    assert not bad, f"accounts with an empty password field: {bad}"


@check("HOST-PERM-016")
def shadow_group_empty(host: Any, ctx: HostContext) -> None:
    groups = {f[0]: f for f in _group(host)}
    assert "shadow" in groups, "no shadow group"
    members = [m for m in groups["shadow"][3].split(",") if m]
    assert not members, f"the shadow group has members: {members}"
    gid = groups["shadow"][2]
    primary = [f[0] for f in _passwd(host) if len(f) > 3 and f[3] == gid]
    assert not primary, f"accounts with shadow as primary group: {primary}"


@check("HOST-PERM-017")
def unique_ids(host: Any, ctx: HostContext) -> None:
    passwd, group = _passwd(host), _group(host)
    problems = []
    for what, values in (
        ("UID", [f[2] for f in passwd]),
        ("user name", [f[0] for f in passwd]),
        ("GID", [f[2] for f in group]),
        ("group name", [f[0] for f in group]),
    ):
        dupes = sorted(v for v, n in Counter(values).items() if n > 1)
        if dupes:
            problems.append(f"duplicate {what}s: {dupes}")
    assert not problems, "; ".join(problems)


def interactive_users(host: Any) -> list[list[str]]:
    shells = {
        line.strip() for line in host.file("/etc/shells").content_string.splitlines() if line.startswith("/")
    }
    shells -= {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}
    return [
        f for f in _passwd(host) if len(f) > 6 and f[6] in shells and f[0] != "root" and int(f[2]) >= 1000
    ]


@check("HOST-PERM-018")
def home_directories(host: Any, ctx: HostContext) -> None:
    problems = []
    for user in interactive_users(host):
        home = host.file(user[5])
        if not home.is_directory:
            problems.append(f"{user[0]}: {user[5]} missing")
        elif home.user != user[0] or home.mode & 0o027:
            problems.append(f"{user[0]}: {user[5]} {home.user} {home.mode:04o}")
    assert not problems, f"home directories: {problems}"


@check("HOST-PERM-019")
def groups_exist(host: Any, ctx: HostContext) -> None:
    gids = {f[2] for f in _group(host)}
    missing = [f"{f[0]} (gid {f[3]})" for f in _passwd(host) if len(f) > 3 and f[3] not in gids]
    assert not missing, f"primary groups missing from /etc/group: {missing}"


@check("HOST-PERM-020")
def compilers_root_only(host: Any, ctx: HostContext) -> None:
    candidates = setting(ctx, "file_permissions", "file_permissions_compilers") or []
    assert candidates, "no compiler list (file_permissions_compilers)"
    listed = " ".join(f"'{path}'" for path in candidates)
    found = run_ok(host, f'for f in {listed}; do [ -e "$f" ] && readlink -f "$f"; done; true').split()
    overrides = run_ok(host, "dpkg-statoverride --list").splitlines()
    for real in sorted(set(found)):
        mode = host.file(real).mode
        assert not mode & 0o001, f"{real} (a compiler) is executable by every user (mode {mode:04o})"
        kept = [line for line in overrides if line.split()[-1:] == [real]]
        # dpkg-statoverride --list prints the mode in octal without its leading zero ("750")
        fields = kept[0].split() if kept else []
        assert len(fields) == 4 and fields[:2] == ["root", "root"] and int(fields[2], 8) == 0o750, (
            f"{real}: no dpkg statoverride root root 0750 (an upgrade would restore its mode): {kept}"
        )
