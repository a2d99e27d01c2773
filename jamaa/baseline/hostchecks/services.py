"""Services and clients a commune server must not carry: packages absent (dpkg's view)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, not_installed

ABSENT: dict[str, list[str]] = {
    "HOST-SVC-001": ["autofs"],
    "HOST-SVC-002": ["avahi-daemon"],
    "HOST-SVC-003": ["isc-dhcp-server", "kea-dhcp4-server", "kea-dhcp6-server", "udhcpd"],
    "HOST-SVC-004": ["bind9", "unbound", "knot", "nsd", "pdns-server"],
    "HOST-SVC-005": ["dnsmasq", "dnsmasq-base"],
    "HOST-SVC-006": ["vsftpd", "proftpd-core", "proftpd-basic", "pure-ftpd", "inetutils-ftpd", "tnftpd"],
    "HOST-SVC-007": ["slapd"],
    "HOST-SVC-008": ["dovecot-imapd", "dovecot-pop3d", "cyrus-imapd", "courier-imap", "courier-pop"],
    "HOST-SVC-009": ["nfs-kernel-server"],
    "HOST-SVC-010": ["ypserv"],
    "HOST-SVC-011": ["cups", "cups-daemon"],
    "HOST-SVC-012": ["rpcbind"],
    "HOST-SVC-014": ["samba"],
    "HOST-SVC-015": ["snmpd"],
    "HOST-SVC-016": ["tftpd-hpa", "atftpd", "tftpd"],
    "HOST-SVC-017": ["squid", "tinyproxy", "privoxy"],
    "HOST-SVC-018": ["xinetd"],
    "HOST-SVC-019": ["xserver-xorg-core", "xserver-common", "xwayland"],
    "HOST-SVC-020": ["nis"],
    "HOST-SVC-021": ["rsh-client", "rsh-redone-client"],
    "HOST-SVC-022": ["talk", "inetutils-talk"],
    "HOST-SVC-023": ["telnet", "inetutils-telnet"],
    "HOST-SVC-024": ["ldap-utils"],
    "HOST-SVC-025": ["ftp", "tnftp", "inetutils-ftp"],
    "HOST-SVC-026": ["prelink"],
    "HOST-SVC-027": ["bluez"],
}


def _make(packages: list[str]) -> Callable[[Any, HostContext], None]:
    def verify(host: Any, ctx: HostContext) -> None:
        not_installed(host, *packages)

    return verify


for _control, _packages in ABSENT.items():
    check(_control)(_make(_packages))


@check("HOST-SVC-013")
def rsync_daemon(host: Any, ctx: HostContext) -> None:
    for unit in ("rsync.service", "rsync.socket"):
        state = host.run(f"systemctl is-enabled {unit}").stdout.strip()
        assert state not in ("enabled", "enabled-runtime", "static", "alias"), f"{unit} is {state}"
        assert not host.service(unit).is_running, f"{unit} is running"
