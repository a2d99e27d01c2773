"""cron and at: running, their directories private to root, their use restricted to an allow list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, active_enabled, check, mode_at_most

PATHS: dict[str, tuple[str, int]] = {
    "HOST-CRON-002": ("/etc/crontab", 0o600),
    "HOST-CRON-003": ("/etc/cron.hourly", 0o700),
    "HOST-CRON-004": ("/etc/cron.daily", 0o700),
    "HOST-CRON-005": ("/etc/cron.weekly", 0o700),
    "HOST-CRON-006": ("/etc/cron.monthly", 0o700),
    "HOST-CRON-007": ("/etc/cron.d", 0o700),
}


def _make(path: str, most: int) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        mode_at_most(host, path, most)

    return verify


for _control, (_path, _most) in PATHS.items():
    check(_control)(_make(_path, _most))


@check("HOST-CRON-001")
def cron_running(host: Any, ctx: HostContext) -> None:
    assert host.package("cron").is_installed or host.package("cronie").is_installed, "cron is not installed"
    active_enabled(host, "cron")


def _allow_only(host: Any, allow: str, deny: str) -> None:
    assert host.file(allow).exists, f"{allow} is missing (everyone may use it)"
    mode_at_most(host, allow, 0o640, group=None)
    assert not host.file(deny).exists, f"{deny} exists (a deny list lets every other user in)"


@check("HOST-CRON-008")
def cron_allow(host: Any, ctx: HostContext) -> None:
    _allow_only(host, "/etc/cron.allow", "/etc/cron.deny")


@check("HOST-CRON-009")
def at_allow(host: Any, ctx: HostContext) -> None:
    if not host.package("at").is_installed:
        assert not host.file("/etc/at.deny").exists, "/etc/at.deny exists"
        return
    _allow_only(host, "/etc/at.allow", "/etc/at.deny")
