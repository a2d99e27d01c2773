"""HOST-USB-004's reading of logrotate: the mode a rotation recreates USBGuard's decision log with."""

from __future__ import annotations

from jamaa.baseline.hostchecks.usb import rotation_modes

LOG = "/var/log/usbguard/usbguard-audit.log"
# Debian's /etc/logrotate.d/usbguard (usbguard 1.1.2+ds-3, bookworm and trixie)
DEBIAN = f"""{LOG} {{
        weekly
        rotate 12
        compress
        delaycompress
        missingok
        notifempty
        create 644 root root
}}
"""


def test_debians_entry_recreates_the_log_readable_by_everyone() -> None:
    assert rotation_modes(DEBIAN, LOG) == ["644"]


def test_an_entry_naming_several_logs_counts_and_other_entries_do_not() -> None:
    conf = f"/var/log/a.log {LOG} {{\n  create 0600 root root\n}}\n"
    conf += "/var/log/b.log {\n  create 0644 root adm\n}\n"
    assert rotation_modes(conf, LOG) == ["0600"]


def test_a_bare_create_keeps_the_old_files_mode() -> None:
    assert rotation_modes(f"{LOG} {{\n  weekly\n  create\n}}\n", LOG) == []
    assert rotation_modes(DEBIAN.replace(LOG, "/var/log/other.log"), LOG) == []
