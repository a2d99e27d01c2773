"""HOST-UPD-008's reading of needrestart's configuration: the restart mode it applies after apt."""

from __future__ import annotations

from jamaa.baseline.hostchecks.updates import needrestart_mode

# Debian's /etc/needrestart/needrestart.conf leaves the mode commented out (interactive by default)
DEBIAN = """# Restart mode: (l)ist only, (i)nteractive or (a)utomatically.
#$nrconf{restart} = 'i';
$nrconf{kernelhints} = -1;
"""
JAMAA = "# HOST-UPD-008\n$nrconf{restart} = 'a';\n"


def test_debians_file_alone_sets_no_mode() -> None:
    assert needrestart_mode(DEBIAN) is None


def test_a_conf_d_file_read_after_it_sets_automatic_restarts() -> None:
    assert needrestart_mode(DEBIAN + JAMAA) == "a"


def test_a_later_file_that_sets_list_only_wins() -> None:
    assert needrestart_mode(DEBIAN + JAMAA + '  $nrconf{restart} = "l";\n') == "l"
