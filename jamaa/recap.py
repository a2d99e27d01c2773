"""The PLAY RECAP of an ansible-playbook run, per host: the one parser the tests, the lab chain and the
benchmarks share."""

from __future__ import annotations

import re

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.MULTILINE,
)


def play_recap(output: str) -> dict[str, dict[str, int]]:
    """host → {ok, changed, unreachable, failed, skipped, rescued, ignored} from a run's output."""
    recap = {}
    for match in RECAP.finditer(output):
        counts = match.groupdict()
        host = counts.pop("host")
        recap[host] = {key: int(value) for key, value in counts.items()}
    return recap
