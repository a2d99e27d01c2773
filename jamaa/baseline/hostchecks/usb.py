"""USB devices: USBGuard runs, blocks what its policy does not allow, and answers to root only."""

from __future__ import annotations

import re
from typing import Any

from jamaa.baseline.hostchecks import HostContext, active_enabled, check, installed, key_values, run_ok

DAEMON_CONF = "/etc/usbguard/usbguard-daemon.conf"
APPLIED = {"apply-policy", "block", "reject"}  # a device goes through the rules, or is refused outright
REFUSED = {"block", "reject"}


@check("HOST-USB-001")
def usbguard_running(host: Any, ctx: HostContext) -> None:
    installed(host, "usbguard")
    active_enabled(host, "usbguard")


@check("HOST-USB-002")
def unknown_devices_blocked(host: Any, ctx: HostContext) -> None:
    conf = key_values(host, ctx, DAEMON_CONF)
    # The running daemon's own answer for the two it reports, the file for the rest.
    live = {
        name: run_ok(host, f"usbguard get-parameter {name}").strip()
        for name in ("ImplicitPolicyTarget", "InsertedDevicePolicy")
    }
    assert live["ImplicitPolicyTarget"] in REFUSED, f"ImplicitPolicyTarget={live['ImplicitPolicyTarget']}"
    assert live["InsertedDevicePolicy"] in APPLIED, f"InsertedDevicePolicy={live['InsertedDevicePolicy']}"
    for key in ("PresentDevicePolicy", "PresentControllerPolicy"):
        assert conf.get(key) in APPLIED, f"{key}={conf.get(key, '(unset: keep)')} in {DAEMON_CONF}"
    assert conf.get("AuthorizedDefault") == "none", (
        f"AuthorizedDefault={conf.get('AuthorizedDefault', '(unset)')}: a device plugged in while the "
        "daemon is down would be usable"
    )
    # The kernel side: each controller starts new devices unauthorised, so only the daemon lets one in.
    open_controllers = run_ok(
        host,
        "for f in /sys/bus/usb/devices/usb*/authorized_default; do "
        '[ -e "$f" ] && [ "$(cat "$f")" != 0 ] && echo "${f%/authorized_default}"; done; true',
    ).split()
    assert not open_controllers, f"controllers that authorise new devices by default: {open_controllers}"
    # No rule in the loaded policy allows any device whatever it is.
    rules = run_ok(host, "usbguard list-rules").splitlines()
    blanket = [r for r in rules if re.fullmatch(r"\s*\d+:\s*allow\s*", r)]
    assert not blanket, f"the loaded policy allows every device: {blanket}"


@check("HOST-USB-003")
def only_root_changes_the_policy(host: Any, ctx: HostContext) -> None:
    conf = key_values(host, ctx, DAEMON_CONF)
    users = conf.get("IPCAllowedUsers", "").split()
    assert users == ["root"], f"IPCAllowedUsers={conf.get('IPCAllowedUsers', '(unset: everyone)')}"
    assert not conf.get("IPCAllowedGroups"), f"IPCAllowedGroups={conf['IPCAllowedGroups']}"
    acl_dir = conf.get("IPCAccessControlFiles")
    if acl_dir:
        grants = run_ok(host, f"ls -A {acl_dir} 2>/dev/null; true").split()
        assert not [g for g in grants if g not in ("root", "0")], f"IPC access granted in {acl_dir}: {grants}"
    dbus = host.service("usbguard-dbus")
    assert not dbus.is_running, "usbguard-dbus runs: its polkit rule lets sudo and plugdev allow devices"
    assert not dbus.is_enabled, "usbguard-dbus is enabled"


def rotation_modes(logrotate_conf: str, log: str) -> list[str]:
    """The `create` modes of the logrotate entries that name `log` (files concatenated): the mode the
    log is recreated with at each rotation. A bare `create` keeps the old file's mode."""
    modes = []
    for header, body in re.findall(r"([^{}]*)\{([^{}]*)\}", logrotate_conf):
        if log in header.split():
            modes += re.findall(r"^\s*create\s+([0-7]{3,4})\b", body, flags=re.MULTILINE)
    return modes


@check("HOST-USB-004")
def decision_log_for_root_only(host: Any, ctx: HostContext) -> None:
    conf = key_values(host, ctx, DAEMON_CONF)
    assert conf.get("AuditBackend") == "FileAudit", f"AuditBackend={conf.get('AuditBackend', '(unset)')}"
    log = conf.get("AuditFilePath", "")
    assert log, f"no AuditFilePath in {DAEMON_CONF}"
    current = host.file(log)
    assert current.exists, f"{log} does not exist"
    assert current.user == "root" and not current.mode & 0o077, (
        f"{log} is {current.user}:{current.group} {current.mode:04o}: other accounts can read it"
    )
    entries = run_ok(host, "cat /etc/logrotate.conf /etc/logrotate.d/* 2>/dev/null; true")
    opened = [mode for mode in rotation_modes(entries, log) if int(mode, 8) & 0o077]
    assert not opened, f"logrotate recreates {log} with mode {opened[0]}: other accounts can read it"
