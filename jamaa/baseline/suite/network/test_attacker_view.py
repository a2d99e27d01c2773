"""What an attacker on the commune's LAN can see and do, checked from the lab's attacker host.

- only the declared TCP ports answer (nmap, every port);
- SSH offers public keys only: no password, no keyboard-interactive, for root or anyone (nmap's
  ssh-auth-methods asks the server itself);
- ssh-audit finds no failure in the key exchange, host keys, ciphers and MACs;
- the nginx TLS endpoint refuses TLS 1.0/1.1 and weak suites (openssl s_client handshakes with a client
  that would accept them: `@SECLEVEL=0`), and does complete a TLS 1.2+ handshake;
- PostgreSQL does not answer.
"""

from __future__ import annotations

import re
import shlex
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from jamaa.baseline.attacker import Attacker, Management, Target
from jamaa.baseline.declared import declared_tcp_ports, runs_role, site_name

WEAK_SUITES = "NULL:eNULL:aNULL:EXPORT:LOW:RC4:DES:3DES:MD5:PSK:SRP:kRSA:CAMELLIA:SEED:IDEA"
"""OpenSSL cipher classes no commune endpoint may accept (no forward secrecy, broken or export-grade)."""


def open_tcp_ports(attacker: Attacker, ip: str) -> tuple[set[int], str]:
    command = (
        "nmap -Pn -n -sT -p- --min-rate 8000 --max-retries 1 --max-rtt-timeout 300ms -T4 "
        f"-oX - {shlex.quote(ip)}"
    )
    out = attacker.run(command, "nmap", timeout=300)
    assert out.rc == 0, f"nmap {out.where} exited {out.rc}: {out.stderr.strip()[:300]}"
    root = ET.fromstring(out.stdout)
    ports = {
        int(port.get("portid", "0"))
        for port in root.iter("port")
        if port.get("protocol") == "tcp"
        and (state := port.find("state")) is not None
        and state.get("state") == "open"
    }
    return ports, out.where


def test_only_declared_ports_answer(attacker: Attacker, target: Target, probe: Any) -> None:
    probe("PORTS-001", "HOST-FW-008, HOST-FW-012 (ports déclarés seulement)")
    _in_scope(target, probe, "nftables_firewall", "no host firewall")
    declared = declared_tcp_ports(target, attacker.ip)
    found, where = open_tcp_ports(attacker, target.ip)
    undeclared = sorted(found - declared)
    assert not undeclared, (
        f"{target.name} ({target.ip}): TCP ports {undeclared} answer from the attacker ({where}); "
        f"declared: {sorted(declared)}"
    )


_METHODS: dict[tuple[str, str, str], list[str]] = {}


def auth_methods(vantage: Any, ip: str, user: str) -> list[str]:
    """The authentication methods sshd offers `user` ([] if SSH is filtered), as sshd itself lists
    them when an OpenSSH client that may not use any of them gives up: "Permission denied (…)".

    sshd may refuse a source for a while after several unauthenticated connections (OpenSSH's
    PerSourcePenalties): a connection closed before that answer is tried again a few seconds later.
    """
    key = (vantage.name, ip, user)
    if key in _METHODS:
        return _METHODS[key]
    if vantage.run(f"nc -z -w 3 {shlex.quote(ip)} 22", "nc", timeout=15).rc != 0:
        _METHODS[key] = []
        return []
    options = [
        "BatchMode=yes",
        "ConnectTimeout=8",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "PubkeyAuthentication=no",
        "GSSAPIAuthentication=no",
        "HostbasedAuthentication=no",
        "PreferredAuthentications=password,keyboard-interactive",
    ]
    command = f"ssh {' '.join('-o ' + o for o in options)} -p 22 {shlex.quote(user)}@{shlex.quote(ip)} true"
    answer = ""
    for attempt in range(4):
        out = vantage.run(command, "ssh", timeout=30)
        answer = (out.stdout + out.stderr).strip()
        found = re.search(r"Permission denied \(([^)]*)\)", answer)
        if found:
            _METHODS[key] = [m for m in found.group(1).split(",") if m]
            return _METHODS[key]
        time.sleep(5 + 5 * attempt)
    raise AssertionError(
        f"{ip}:22 is open but sshd never listed its methods for {user} ({vantage.name}): {answer}"
    )


def ssh_vantage(attacker: Attacker, management: Management | None, target: Target, probe: Any) -> Any:
    """The attacker if SSH answers it; else the management network (SSH must answer there)."""
    if auth_methods(attacker, target.ip, "root"):
        probe.record("vantage", attacker.name)
        return attacker
    assert management is not None, (
        f"SSH answers neither the attacker nor any management vantage on {target.ip}"
    )
    assert auth_methods(management, target.ip, "root"), (
        f"SSH does not answer the management network on {target.ip}"
    )
    probe.record("vantage", f"{management.name}; SSH filtered from the attacker")
    return management


@pytest.mark.parametrize("user", ["root", "jamaa-probe"])
def test_ssh_offers_public_keys_only(
    attacker: Attacker, management: Management | None, target: Target, probe: Any, user: str
) -> None:
    probe(f"SSH-AUTH-{user}", "HOST-SSH-003, HOST-SSH-021, HOST-SSH-024 (clé uniquement)", "critical")
    _in_scope(target, probe, "ssh_hardening", "sshd is not hardened here")
    vantage = ssh_vantage(attacker, management, target, probe)
    methods = auth_methods(vantage, target.ip, user)
    refused = {"password", "keyboard-interactive"}
    offered = sorted(refused & set(methods))
    assert not offered, f"{target.name}: sshd offers {offered} to {user} from the LAN (methods: {methods})"
    assert methods == ["publickey"], f"{target.name}: unexpected SSH methods for {user}: {methods}"


def test_ssh_audit_finds_no_failure(
    attacker: Attacker, management: Management | None, target: Target, probe: Any
) -> None:
    probe("SSH-AUDIT-001", "HOST-SSH-007, HOST-SSH-013, HOST-SSH-016, HOST-SSH-025 (algorithmes)")
    _in_scope(target, probe, "ssh_hardening", "sshd is not hardened here")
    vantage = ssh_vantage(attacker, management, target, probe)
    for attempt in range(4):  # a refused connection may be sshd's per-source penalty: ask again later
        out = vantage.run(f"ssh-audit -n -2 -p 22 -t 10 {shlex.quote(target.ip)}", "ssh-audit", timeout=120)
        if out.rc != 1:
            break
        time.sleep(10 + 10 * attempt)
    assert out.rc != 1, f"ssh-audit could not connect to {target.ip}:22 ({out.where}): {out.stdout[-300:]}"
    failures = [
        line.strip() for line in out.stdout.splitlines() if "[fail]" in line or line.startswith("(cve)")
    ]
    assert out.rc != 3 and not failures, f"{target.name}: ssh-audit ({out.where}) failures: {failures}"


def handshake(
    attacker: Attacker, ip: str, version: str, ciphers: str = "ALL:@SECLEVEL=0", name: str | None = None
) -> tuple[bool, str]:
    """One TLS handshake with `openssl s_client -VERSION`; True when the server completed it.

    The client ignores the system's OpenSSL policy (`OPENSSL_CONF=/dev/null`, `@SECLEVEL=0`): an
    attacker's client offers anything, so a refusal can only come from the server.
    """
    cipher_opt = "-ciphersuites" if version == "tls1_3" else "-cipher"
    command = (
        f"env OPENSSL_CONF=/dev/null openssl s_client -connect {shlex.quote(ip)}:443 "
        f"-servername {shlex.quote(name or ip)} -{version} {cipher_opt} {shlex.quote(ciphers)} "
        "-brief </dev/null 2>&1"
    )
    out = attacker.run(command, "openssl", timeout=30)
    text = out.stdout + out.stderr
    refused = re.search(r"connect:errno=\d+|Connection refused|No route to host|timed out", text)
    assert not refused, f"{ip}:443 does not answer the attacker ({refused.group(0) if refused else ''})"
    done = out.rc == 0 and ("CONNECTION ESTABLISHED" in text or "Protocol version" in text)
    return done, text.strip().splitlines()[-1] if text.strip() else ""


def _in_scope(target: Target, probe: Any, role: str, what: str) -> None:
    """A probe of what a role exposes applies where site.yml applies that role (not on a host that
    serves no commune, nor on one in the kernel scope)."""
    if not runs_role(target, role):
        probe.not_applicable(f"{target.name}: {what} (role {role}) is outside this host's scope")


def _nginx_target(target: Target, probe: Any) -> None:
    _in_scope(target, probe, "nginx", "no nginx TLS endpoint")


def test_tls_completes_a_modern_handshake(attacker: Attacker, target: Target, probe: Any) -> None:
    probe("TLS-001", "HOST-NGX-001 (TLS 1.2/1.3 joignable)")
    _nginx_target(target, probe)
    ok12, last12 = handshake(attacker, target.ip, "tls1_2", "ECDHE:!aNULL", site_name(target))
    ok13, last13 = handshake(
        attacker, target.ip, "tls1_3", "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384", site_name(target)
    )
    assert ok12 or ok13, f"{target.name}: no TLS 1.2/1.3 handshake on 443 ({last12}; {last13})"


@pytest.mark.parametrize("version", ["tls1", "tls1_1"])
def test_tls_refuses_old_protocols(attacker: Attacker, target: Target, probe: Any, version: str) -> None:
    probe(f"TLS-{version}", "HOST-NGX-001 (TLS 1.0/1.1 refusés)")
    _nginx_target(target, probe)
    done, last = handshake(attacker, target.ip, version, name=site_name(target))
    assert not done, f"{target.name}: nginx accepted a {version} handshake ({last})"


def test_tls_refuses_weak_suites(attacker: Attacker, target: Target, probe: Any) -> None:
    probe("TLS-WEAK", "HOST-NGX-002 (suites faibles refusées)")
    _nginx_target(target, probe)
    done, last = handshake(attacker, target.ip, "tls1_2", f"{WEAK_SUITES}:@SECLEVEL=0", site_name(target))
    assert not done, f"{target.name}: nginx accepted a weak TLS 1.2 suite ({last})"
    cbc, last_cbc = handshake(
        attacker, target.ip, "tls1_2", "SHA1:SHA256:SHA384:!AESGCM:!CHACHA20:@SECLEVEL=0"
    )
    assert not cbc, f"{target.name}: nginx accepted a CBC (non-AEAD) suite ({last_cbc})"


def test_postgresql_not_reachable(attacker: Attacker, target: Target, probe: Any) -> None:
    probe("PG-001", "HOST-PG-008 (PostgreSQL non exposé)", "critical")
    _in_scope(target, probe, "postgresql", "no PostgreSQL")
    out = attacker.run(f"nc -z -w 3 {shlex.quote(target.ip)} 5432", "nc", timeout=30)
    assert out.rc != 0, (
        f"{target.name}: PostgreSQL port 5432 accepts connections from the attacker ({out.where})"
    )
