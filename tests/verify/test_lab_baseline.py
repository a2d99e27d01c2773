"""The baseline against the real lab: it passes on hardened servers and fails on an unhardened host.

The unhardened host is the lab's attacker: a fresh container of the same Debian image that
`site.yml` never touches (it is no commune server). For the attacker's view it is also the target:
on it we start, for the test's duration only, what an unhardened commune server typically exposes
(a TLS endpoint that accepts TLS 1.0 and weak suites, something listening on PostgreSQL's port), so
that every probe has something to find.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from jamaa.baseline import NETWORK_SUITE
from jamaa.controls import load_catalogue
from jamaa.paths import REPO
from jamaa.verify.results import RunResults, Status
from jamaa.verify.runner import run_verify

pytestmark = [pytest.mark.lab, pytest.mark.slow]
OUT = REPO / "out" / "verify"
CONTAINER_BUDGET_S = 60.0


@pytest.fixture(scope="module")
def lab_results(converged_lab: Any) -> RunResults:
    """`jamaa verify --env lab` after site.yml, written where `jamaa report --env lab` reads it."""
    return run_verify(REPO / "environments", "lab", out_dir=OUT / "lab", quiet=True)


def test_baseline_passes_on_every_converged_server(lab_results: RunResults) -> None:
    failures = [f"{r.host} {r.control}: {r.status.value}: {r.message[:200]}" for r in lab_results.failures()]
    assert not failures, "\n".join(failures)
    assert not lab_results.collection_errors
    catalogue = load_catalogue(REPO / "policies" / "controls")
    host_ids = {c.id for c in catalogue.host_controls() if f"testinfra:{c.id}" in c.verified_by}
    # kernel-level controls with a check (the manual ones, e.g. partitioning, have no per-host result)
    kernel = {c.id for c in catalogue.host_controls() if c.kernel_level} & host_ids
    by_host: dict[str, dict[str, Status]] = {}
    for result in lab_results.results:
        if result.area != "NET":
            by_host.setdefault(result.host, {})[result.control] = result.status
    servers = json.loads((REPO / "environments/lab/generated/lab.json").read_text())["hosts"]
    for name, host in servers.items():
        if host["role"] != "commune_server":
            assert name not in by_host, f"{name} is no commune server and must not be checked"
            continue
        statuses = by_host.get(name, {})
        missing = sorted(host_ids - set(statuses))
        assert not missing, f"{name}: controls without a result: {missing}"
        na = {cid for cid, status in statuses.items() if status == Status.NOT_APPLICABLE}
        if host["kind"] == "container":
            assert kernel <= na, f"{name}: kernel-level controls not reported n/a: {sorted(kernel - na)}"
        else:
            assert not (kernel & na), f"{name} (VM) must verify kernel-level controls: {sorted(kernel & na)}"
        assert Counter(statuses.values())[Status.PASS] > 0
    # the attacker's view ran against every server, and found nothing
    probes = [r for r in lab_results.results if r.area == "NET"]
    assert {r.host for r in probes} == {n for n, h in servers.items() if h["role"] == "commune_server"}


def test_one_container_within_budget(lab_results: RunResults) -> None:
    servers = json.loads((REPO / "environments/lab/generated/lab.json").read_text())["hosts"]
    timings = {t.host: t for t in lab_results.timings()}
    for name, host in servers.items():
        if host["role"] == "commune_server" and host["kind"] == "container":
            assert timings[name].busy_s < CONTAINER_BUDGET_S, f"{name}: {timings[name].busy_s:.1f} s"


WEAK_SERVICES = """
set -e
mkdir -p /run/jamaa-weak && cd /run/jamaa-weak
[ -f weak.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=weak -days 2 \
  -keyout weak.key -out weak.pem 2>/dev/null
systemd-run --unit=jamaa-weak-tls --setenv=OPENSSL_CONF=/dev/null openssl s_server -quiet -accept 443 \
  -cert /run/jamaa-weak/weak.pem -key /run/jamaa-weak/weak.key -min_protocol TLSv1 \
  -cipher 'ALL:@SECLEVEL=0' -www
systemd-run --unit=jamaa-weak-pg nc -lk 5432
sleep 1
"""
STOP_WEAK = "systemctl stop jamaa-weak-tls jamaa-weak-pg 2>/dev/null; rm -rf /run/jamaa-weak; true"


@pytest.fixture(scope="module")
def unhardened(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An inventory naming the (never hardened) attacker as the server to check, weak services on."""
    import testinfra

    generated = REPO / "environments/lab/generated"
    ssh_config = generated / "ssh_config"
    attacker = testinfra.get_host("paramiko://attacker", ssh_config=str(ssh_config))
    started = attacker.run(WEAK_SERVICES)
    assert started.rc == 0, started.stderr
    # the lab's environment (group_vars, host_vars, generated/), plus a group naming the attacker as the
    # server to check; with a commune, so the service checks (nginx, PostgreSQL) apply to it too
    inventory = tmp_path_factory.mktemp("unhardened") / "lab"
    shutil.copytree(REPO / "environments" / "lab", inventory, ignore=shutil.ignore_patterns("secrets", "pki"))
    (inventory / "generated" / "unhardened.ini").write_text(
        "[unhardened]\nattacker jamaa_communes='[\"c0410101\"]'\n", encoding="utf-8"
    )
    yield inventory
    attacker.run(STOP_WEAK)


def test_baseline_reports_failures_on_an_unhardened_host(unhardened: Path) -> None:
    results = run_verify(
        REPO / "environments",
        "lab",
        out_dir=OUT / "lab-unhardened",
        inventory=unhardened,
        extra=["--jamaa-servers=unhardened", f"--ignore={NETWORK_SUITE}"],
        quiet=True,
    )
    statuses = Counter(r.status for r in results.results)
    catalogue = load_catalogue(REPO / "policies" / "controls")
    assert results.hosts() == ["attacker"]
    assert statuses[Status.FAIL] >= len(catalogue.host_controls()) // 3, statuses
    assert not results.ok()


def test_attacker_view_fails_against_an_unhardened_host(unhardened: Path) -> None:
    results = run_verify(
        REPO / "environments",
        "lab",
        out_dir=OUT / "lab-unhardened-net",
        inventory=unhardened,
        extra=["--jamaa-servers=unhardened"],
        select="attacker_view",
        quiet=True,
    )
    failed = {r.control for r in results.results if r.area == "NET" and r.status == Status.FAIL}
    assert {
        "NET-PORTS-001",
        "NET-SSH-AUTH-root",
        "NET-SSH-AUDIT-001",
        "NET-TLS-tls1",
        "NET-TLS-tls1_1",
        "NET-TLS-WEAK",
        "NET-PG-001",
    } <= failed, failed
