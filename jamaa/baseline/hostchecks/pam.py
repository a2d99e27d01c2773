"""PAM: the common stacks (pam_unix, faillock, pwquality, pwhistory) and their settings.

A setting is read where PAM reads it: the module's arguments in /etc/pam.d/common-* first, then its
configuration file (faillock.conf, pwquality.conf, pwhistory.conf); unset means the module's default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, installed

STACKS = ("common-auth", "common-account", "common-password", "common-session")
CONF = {
    "pam_faillock.so": "/etc/security/faillock.conf",
    # libpwquality reads pwquality.conf, then pwquality.conf.d/*.conf in order (later values win)
    "pam_pwquality.so": "/etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf",
    "pam_pwhistory.so": "/etc/security/pwhistory.conf",
}
DEFAULTS = {
    ("pam_faillock.so", "deny"): "3",
    ("pam_faillock.so", "unlock_time"): "600",
    ("pam_pwquality.so", "dictcheck"): "1",
    ("pam_pwquality.so", "enforcing"): "1",
    ("pam_pwquality.so", "difok"): "1",
    ("pam_pwquality.so", "minlen"): "8",
    ("pam_pwquality.so", "minclass"): "0",
    ("pam_pwquality.so", "maxrepeat"): "0",
    ("pam_pwquality.so", "maxsequence"): "0",
    ("pam_pwhistory.so", "remember"): "10",
}


def stack_lines(host: Any, ctx: HostContext, stack: str) -> list[list[str]]:
    key = f"pam:{stack}"
    if key not in ctx.cache:
        text = (
            host.file(f"/etc/pam.d/{stack}").content_string if host.file(f"/etc/pam.d/{stack}").exists else ""
        )
        ctx.cache[key] = [
            line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        ]
    return list(ctx.cache[key])


def module_lines(
    host: Any, ctx: HostContext, module: str, stacks: tuple[str, ...] = STACKS
) -> list[list[str]]:
    return [words for stack in stacks for words in stack_lines(host, ctx, stack) if module in words]


def conf(host: Any, ctx: HostContext, module: str) -> dict[str, str]:
    key = f"conf:{module}"
    if key not in ctx.cache:
        text = host.run(f"cat {CONF[module]} 2>/dev/null").stdout
        values: dict[str, str] = {}
        if text:
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    name, _, value = line.partition("=")
                    values[name.strip()] = value.strip()
        ctx.cache[key] = values
    return dict(ctx.cache[key])


def setting(host: Any, ctx: HostContext, module: str, name: str) -> str | None:
    """The effective value of a module option (None: a flag that is absent)."""
    for words in module_lines(host, ctx, module):
        for arg in words[words.index(module) + 1 :]:
            key, eq, value = arg.partition("=")
            if key == name:
                return value if eq else ""
    found = conf(host, ctx, module)
    if name in found:
        return found[name]
    return DEFAULTS.get((module, name))


def _in_use(host: Any, ctx: HostContext, module: str) -> None:
    assert module_lines(host, ctx, module), (
        f"{module} is not in the common PAM stacks: its settings do not apply"
    )


def _int(host: Any, ctx: HostContext, module: str, name: str) -> int:
    _in_use(host, ctx, module)
    value = setting(host, ctx, module, name)
    assert value is not None and re.fullmatch(r"-?\d+", value), f"{module} {name}={value}"
    return int(value)


def _enabled(module: str, stacks: tuple[str, ...]) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        missing = [s for s in stacks if not module_lines(host, ctx, module, (s,))]
        assert not missing, f"{module} is not in /etc/pam.d/{', '.join(missing)}"

    return verify


check("HOST-PAM-002")(_enabled("pam_unix.so", STACKS))
check("HOST-PAM-003")(_enabled("pam_faillock.so", ("common-auth", "common-account")))
check("HOST-PAM-004")(_enabled("pam_pwquality.so", ("common-password",)))
check("HOST-PAM-005")(_enabled("pam_pwhistory.so", ("common-password",)))


@check("HOST-PAM-001")
def packages(host: Any, ctx: HostContext) -> None:
    installed(host, "libpam-runtime", "libpam-modules", "libpam-pwquality")


def _bound(module: str, name: str, low: int | None, high: int | None) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        value = _int(host, ctx, module, name)
        assert low is None or value >= low, f"{module} {name}={value} (at least {low})"
        assert high is None or value <= high, f"{module} {name}={value} (at most {high})"

    return verify


def _flag(module: str, name: str) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        _in_use(host, ctx, module)
        assert setting(host, ctx, module, name) is not None, f"{module}: {name} is not set"

    return verify


check("HOST-PAM-006")(_bound("pam_faillock.so", "deny", 1, 5))
check("HOST-PAM-007")(_bound("pam_faillock.so", "unlock_time", 900, None))
check("HOST-PAM-008")(_flag("pam_faillock.so", "even_deny_root"))
check("HOST-PAM-009")(_bound("pam_pwquality.so", "difok", 2, None))
check("HOST-PAM-010")(_bound("pam_pwquality.so", "minlen", 14, None))
check("HOST-PAM-011")(_bound("pam_pwquality.so", "minclass", 4, None))
check("HOST-PAM-012")(_bound("pam_pwquality.so", "maxrepeat", 1, 3))
check("HOST-PAM-013")(_bound("pam_pwquality.so", "maxsequence", 1, 3))
check("HOST-PAM-014")(_bound("pam_pwquality.so", "dictcheck", 1, None))
check("HOST-PAM-015")(_bound("pam_pwquality.so", "enforcing", 1, None))
check("HOST-PAM-016")(_flag("pam_pwquality.so", "enforce_for_root"))
check("HOST-PAM-017")(_bound("pam_pwhistory.so", "remember", 24, None))
check("HOST-PAM-018")(_flag("pam_pwhistory.so", "enforce_for_root"))


@check("HOST-PAM-019")
def no_nullok(host: Any, ctx: HostContext) -> None:
    bad = [
        " ".join(w) for w in module_lines(host, ctx, "pam_unix.so") if "nullok" in w or "nullok_secure" in w
    ]
    assert not bad, f"pam_unix accepts empty passwords: {bad}"
    # libpam-runtime's postinst rebuilds the stacks from the enabled profiles: one with nullok (Debian's
    # own unix profile, which each upgrade restores) would bring it back until the next converge.
    enabled = host.run(
        "for p in $(debconf-show libpam-runtime | sed -n 's|^[* ]*libpam-runtime/profiles: ||p' | tr -d ,);"
        " do grep -lw -e nullok -e nullok_secure /usr/share/pam-configs/$p; done"
    ).stdout.split()
    assert not enabled, f"pam-auth-update profiles with nullok enabled (an upgrade restores it): {enabled}"


@check("HOST-PAM-020")
def unix_yescrypt(host: Any, ctx: HostContext) -> None:
    lines = [w for w in module_lines(host, ctx, "pam_unix.so", ("common-password",)) if w[0] == "password"]
    assert lines, "no pam_unix password line in common-password"
    assert all("yescrypt" in w for w in lines), (
        f"pam_unix hashes without yescrypt: {[' '.join(w) for w in lines]}"
    )
