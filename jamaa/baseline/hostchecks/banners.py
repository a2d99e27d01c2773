"""Login banners: the bilingual legal notice, no system details, root-owned files."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, mode_at_most, run_ok

SYSTEM_INFO = re.compile(r"\\[mrsv]|debian|gnu/linux|\blinux\b|\d+\.\d+\.\d+-\d+", re.I)
BANNERS = {
    "HOST-BANNER-001": "/etc/motd",
    "HOST-BANNER-002": "/etc/issue",
    "HOST-BANNER-003": "/etc/issue.net",
}
MODES = {"HOST-BANNER-004": "/etc/motd", "HOST-BANNER-005": "/etc/issue", "HOST-BANNER-006": "/etc/issue.net"}


def has_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def notice(host: Any, path: str) -> str:
    f = host.file(path)
    assert f.exists, f"{path} is missing"
    text = str(f.content_string)
    assert text.strip(), f"{path} is empty"
    found = SYSTEM_INFO.search(text)
    assert not found, f"{path} shows system information ({found.group(0)!r})"
    return text


def _notice(path: str) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        notice(host, path)

    return verify


def _mode(path: str) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        mode_at_most(host, path, 0o644)

    return verify


for _control, _path in BANNERS.items():
    check(_control)(_notice(_path))
for _control, _path in MODES.items():
    check(_control)(_mode(_path))


@check("HOST-BANNER-007")
def bilingual(host: Any, ctx: HostContext) -> None:
    for path in BANNERS.values():
        text = notice(host, path)
        assert has_arabic(text), f"{path}: no Arabic text"
        assert re.search(r"[A-Za-zÀ-ÿ]{4,}", text), f"{path}: no French text"


@check("HOST-BANNER-008")
def no_dynamic_motd(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, "find /etc/update-motd.d -maxdepth 1 -type f -perm /0111 2>/dev/null")
    assert not out.strip(), f"executable dynamic MOTD scripts: {out.split()}"
