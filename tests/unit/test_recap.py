"""The play recap parser the tests, the lab chain and the benchmarks share."""

from __future__ import annotations

from jamaa.recap import play_recap

OUTPUT = """PLAY RECAP *********************************************************************
srv-01      : ok=163  changed=0    unreachable=0    failed=0    skipped=43   rescued=0    ignored=0
vm-01       : ok=25   changed=2    unreachable=1    failed=1    skipped=38   rescued=1    ignored=3
"""


def test_every_host_and_every_count_of_the_recap_is_read() -> None:
    recap = play_recap(OUTPUT)
    assert recap["srv-01"] == {
        "ok": 163,
        "changed": 0,
        "unreachable": 0,
        "failed": 0,
        "skipped": 43,
        "rescued": 0,
        "ignored": 0,
    }
    assert recap["vm-01"]["changed"] == 2 and recap["vm-01"]["ignored"] == 3
    assert play_recap("no recap here") == {}
