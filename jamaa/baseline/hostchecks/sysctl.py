"""Kernel and network parameters: the running values (`sysctl -n`), generated from one table.

Network parameters live in each network namespace, so a container shows its own; the `kernel.*`,
`fs.*`, `vm.*` and `dev.*` ones are the host kernel's (kernel-level controls, verified on the VM).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, sysctl

EQ, GE = operator.eq, operator.ge
Rule = tuple[str, Callable[[int, int], bool], int]

TABLE: dict[str, list[Rule]] = {
    "HOST-SYSCTL-001": [("net.ipv4.ip_forward", EQ, 0), ("net.ipv6.conf.all.forwarding", EQ, 0)],
    "HOST-SYSCTL-002": [
        ("net.ipv4.conf.all.send_redirects", EQ, 0),
        ("net.ipv4.conf.default.send_redirects", EQ, 0),
    ],
    "HOST-SYSCTL-003": [("net.ipv4.icmp_ignore_bogus_error_responses", EQ, 1)],
    "HOST-SYSCTL-004": [("net.ipv4.icmp_echo_ignore_broadcasts", EQ, 1)],
    "HOST-SYSCTL-005": [
        ("net.ipv4.conf.all.accept_redirects", EQ, 0),
        ("net.ipv4.conf.default.accept_redirects", EQ, 0),
        ("net.ipv6.conf.all.accept_redirects", EQ, 0),
        ("net.ipv6.conf.default.accept_redirects", EQ, 0),
    ],
    "HOST-SYSCTL-006": [
        ("net.ipv4.conf.all.secure_redirects", EQ, 0),
        ("net.ipv4.conf.default.secure_redirects", EQ, 0),
    ],
    "HOST-SYSCTL-007": [("net.ipv4.conf.all.rp_filter", EQ, 1), ("net.ipv4.conf.default.rp_filter", EQ, 1)],
    "HOST-SYSCTL-008": [
        ("net.ipv4.conf.all.accept_source_route", EQ, 0),
        ("net.ipv4.conf.default.accept_source_route", EQ, 0),
        ("net.ipv6.conf.all.accept_source_route", EQ, 0),
        ("net.ipv6.conf.default.accept_source_route", EQ, 0),
    ],
    "HOST-SYSCTL-009": [
        ("net.ipv4.conf.all.log_martians", EQ, 1),
        ("net.ipv4.conf.default.log_martians", EQ, 1),
    ],
    "HOST-SYSCTL-010": [("net.ipv4.tcp_syncookies", EQ, 1)],
    "HOST-SYSCTL-011": [("net.ipv6.conf.all.accept_ra", EQ, 0), ("net.ipv6.conf.default.accept_ra", EQ, 0)],
    "HOST-SYSCTL-012": [("net.ipv4.tcp_rfc1337", EQ, 1)],
    "HOST-SYSCTL-013": [("net.ipv4.conf.all.arp_filter", EQ, 1), ("net.ipv4.conf.all.arp_ignore", GE, 1)],
    "HOST-SYSCTL-014": [("net.ipv4.conf.all.route_localnet", EQ, 0)],
    "HOST-SYSCTL-015": [("kernel.randomize_va_space", EQ, 2)],
    "HOST-SYSCTL-016": [("kernel.yama.ptrace_scope", GE, 1)],
    "HOST-SYSCTL-017": [("kernel.kptr_restrict", EQ, 2)],
    "HOST-SYSCTL-018": [("kernel.dmesg_restrict", EQ, 1)],
    "HOST-SYSCTL-019": [("kernel.kexec_load_disabled", EQ, 1)],
    "HOST-SYSCTL-020": [("kernel.perf_event_paranoid", GE, 2)],
    "HOST-SYSCTL-021": [("kernel.sysrq", EQ, 0)],
    "HOST-SYSCTL-022": [("kernel.unprivileged_bpf_disabled", GE, 1)],
    "HOST-SYSCTL-023": [("net.core.bpf_jit_harden", EQ, 2)],
    "HOST-SYSCTL-024": [("fs.protected_symlinks", EQ, 1)],
    "HOST-SYSCTL-025": [("fs.protected_hardlinks", EQ, 1)],
    "HOST-SYSCTL-026": [("fs.protected_fifos", GE, 1)],
    "HOST-SYSCTL-027": [("fs.protected_regular", GE, 1)],
    "HOST-SYSCTL-028": [("vm.mmap_min_addr", GE, 65536)],
    "HOST-SYSCTL-029": [("dev.tty.ldisc_autoload", EQ, 0)],
}
SYMBOL: dict[Callable[[int, int], bool], str] = {EQ: "=", GE: "≥"}


def _make(rules: list[Rule]) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        wrong = []
        for key, op, expected in rules:
            value = int(sysctl(host, key).split()[0])
            if not op(value, expected):
                wrong.append(f"{key} = {value} (expected {SYMBOL[op]} {expected})")
        assert not wrong, "; ".join(wrong)

    return verify


for _control, _rules in TABLE.items():
    check(_control)(_make(_rules))
