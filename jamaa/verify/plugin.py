"""pytest plugin: turn the baseline's test reports into per-host, per-control results (JSON).

Load it with `-p jamaa.verify.plugin --jamaa-results=PATH` (the `jamaa verify` wrapper does). It works
under pytest-xdist: reports reach the controller process with the properties each check recorded
through `record_property` (control, severity, references, status, waiver, reason), and only the
controller writes the file.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jamaa.results import Status
from jamaa.verify.results import HOST_STATUSES, CheckResult, Reference, RunResults, WaiverInfo

# Property names the baseline's checks record (jamaa/baseline/plugin.py).
PROP_STATUS = "jamaa_status"
PROP_EXCEPTION = "jamaa_exception"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jamaa")
    group.addoption("--jamaa-results", dest="jamaa_results", default=None, help="write results JSON here")
    group.addoption("--jamaa-env", dest="jamaa_env", default=None, help="environment name for the results")


class _Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.props: dict[str, Any] = {}
        self.duration = 0.0
        self.failed_phase: str | None = None
        self.skipped_message = ""
        self.longrepr = ""


class ResultsCollector:
    def __init__(self, config: pytest.Config, path: Path) -> None:
        self.config = config
        self.path = path
        self.items: dict[str, _Item] = {}
        self.collection_errors: list[str] = []
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.t0 = time.monotonic()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {str(report.longrepr).splitlines()[-1:]}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        item = self.items.setdefault(report.nodeid, _Item(report.nodeid))
        item.duration += report.duration
        for name, value in report.user_properties:
            item.props[name] = value
        if report.failed and item.failed_phase is None:
            item.failed_phase = report.when
            item.longrepr = _short(report)
        if report.skipped and isinstance(report.longrepr, tuple):
            item.skipped_message = str(report.longrepr[2]).removeprefix("Skipped: ")

    def build(self, exitstatus: int) -> RunResults:
        results = [self._result(item) for item in self.items.values()]
        results.sort(key=lambda r: (r.host, r.control, r.nodeid))
        workers = self.config.getoption("numprocesses", None) or 1
        return RunResults(
            environment=self.config.getoption("jamaa_env") or "",
            inventory=self.config.getoption("ansible_inventory", None) or "",
            started=self.started,
            wall_s=round(time.monotonic() - self.t0, 3),
            workers=int(workers) if str(workers).isdigit() else 1,
            pytest_exit=int(exitstatus),
            results=results,
            collection_errors=self.collection_errors,
        )

    @staticmethod
    def _result(item: _Item) -> CheckResult:
        props = item.props
        recorded = props.get(PROP_STATUS)
        if item.failed_phase == "call":
            # an assertion is a finding; anything else (unreachable host, a bug) means nothing was shown
            asserted = props.get(PROP_EXCEPTION) == "AssertionError" and recorded != Status.ERROR.value
            status = Status.FAIL if asserted else Status.ERROR
        elif item.failed_phase is not None:
            status = Status.ERROR
        elif recorded in {s.value for s in HOST_STATUSES}:
            status = Status(recorded)
        elif item.skipped_message:
            # a skip the baseline did not explain as waived / not applicable: never a pass
            status = Status.ERROR
        else:
            status = Status.PASS
        message = item.longrepr or props.get("reason", "") or item.skipped_message
        waiver = None
        if isinstance(props.get("waiver"), str):
            waiver = WaiverInfo.model_validate(json.loads(props["waiver"]))
        observed = props.get("observed")
        refs = json.loads(props["references"]) if isinstance(props.get("references"), str) else []
        return CheckResult(
            host=str(props.get("host", "")),
            control=str(props.get("control", item.nodeid.split("::")[-1])),
            status=status,
            severity=str(props.get("severity", "medium")),
            title=str(props.get("title", "")),
            references=[Reference.model_validate(r) for r in refs],
            area=str(props.get("area", "")),
            message=str(message)[:2000],
            duration_s=round(item.duration, 4),
            waiver=waiver,
            observed=Status(observed) if observed in {s.value for s in HOST_STATUSES} else None,
            nodeid=item.nodeid,
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.build(int(exitstatus)).write(self.path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Name the exception a failed check raised (runs where the test ran, xdist worker or not)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if call.when == "call" and call.excinfo is not None and report.failed:
        name = "AssertionError" if call.excinfo.errisinstance(AssertionError) else call.excinfo.typename
        report.user_properties.append((PROP_EXCEPTION, name))


def _short(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr).strip().splitlines()[-1] if report.longrepr else report.when


HOST_IN_ID = re.compile(r"-(?:ansible|paramiko|ssh|local)://([^\]]+)\]$")


def host_scope(nodeid: str) -> str:
    """The scheduling scope of a test: its host for a host check (so one worker, one SSH
    connection, per host); the attacker's view on one worker, probe after probe (sshd penalises a
    source that opens many unauthenticated connections at once: OpenSSH's PerSourcePenalties);
    else the test function."""
    found = HOST_IN_ID.search(nodeid)
    if found:
        return f"host:{found.group(1)}"
    if "/network/" in nodeid:
        return "attacker"
    return nodeid.split("[", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` with the scope above (pytest-xdist's own `loadgroup` marks do not take
    effect with pytest 9's node ids, hence a scheduler of ours)."""
    if config.getoption("dist", None) != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class HostScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return host_scope(nodeid)

    return HostScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("jamaa_results")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultsCollector(config, Path(path)), "jamaa-results-collector")
