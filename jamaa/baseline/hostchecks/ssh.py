"""SSH server and client: what `sshd -T` and `ssh -G` say the daemon and client really use."""

from __future__ import annotations

from typing import Any

from jamaa.baseline.hostchecks import (
    Check,
    HostContext,
    check,
    csv_subset,
    mode_at_most,
    run_ok,
    setting,
    sshd,
    sshd_one,
)

# chacha20-poly1305 is left out: Terrapin (CVE-2023-48795) against peers without strict key exchange.
STRONG_CIPHERS = {
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
}
STRONG_KEX = {
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
}
PQ_HYBRID_KEX = {"mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"}
"""Hybrid key exchanges: a post-quantum KEM with X25519 (OpenSSH 9.0+ sntrup761, 9.9+ ML-KEM)."""
STRONG_MACS = {"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"}
"""Encrypt-then-MAC only; no MD5, SHA-1 or 64-bit MAC (HOST-SSH-016's rationale, CIS Debian 5.1.15, which
lists umac-128-etm among the strong ones)."""
HOST_KEY_ALGORITHMS = {
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
}


def _is(host: Any, ctx: HostContext, key: str, expected: str) -> None:
    value = sshd_one(host, ctx, key)
    assert value.lower() == expected, f"sshd -T: {key} {value} (expected {expected})"


# control → (sshd -T key, the only accepted value): one setting read from the daemon itself
SSHD_SETTINGS: dict[str, tuple[str, str]] = {
    "HOST-SSH-003": ("passwordauthentication", "no"),
    "HOST-SSH-010": ("gssapiauthentication", "no"),
    "HOST-SSH-011": ("hostbasedauthentication", "no"),
    "HOST-SSH-012": ("ignorerhosts", "yes"),
    "HOST-SSH-020": ("permitemptypasswords", "no"),
    "HOST-SSH-021": ("permitrootlogin", "no"),
    "HOST-SSH-022": ("permituserenvironment", "no"),
    "HOST-SSH-023": ("usepam", "yes"),
    "HOST-SSH-024": ("kbdinteractiveauthentication", "no"),
    "HOST-SSH-027": ("strictmodes", "yes"),
    "HOST-SSH-028": ("compression", "no"),
}


def _setting(key: str, expected: str) -> Check:
    def verify(host: Any, ctx: HostContext) -> None:
        _is(host, ctx, key, expected)

    return verify


for _control, (_key, _expected) in SSHD_SETTINGS.items():
    check(_control)(_setting(_key, _expected))


def _config_files(host: Any) -> list[str]:
    out = run_ok(host, "find /etc/ssh/sshd_config /etc/ssh/sshd_config.d -maxdepth 1 -type f 2>/dev/null")
    return sorted(out.split())


@check("HOST-SSH-001")
def sshd_config_private(host: Any, ctx: HostContext) -> None:
    for path in _config_files(host):
        mode_at_most(host, path, 0o600)


@check("HOST-SSH-002")
def private_host_keys(host: Any, ctx: HostContext) -> None:
    keys = sshd(host, ctx).get("hostkey", [])
    assert keys, "sshd -T lists no HostKey"
    for path in keys:
        mode_at_most(host, path, 0o600, group=None)


@check("HOST-SSH-004")
def public_host_keys(host: Any, ctx: HostContext) -> None:
    for path in sshd(host, ctx).get("hostkey", []):
        if host.file(path + ".pub").exists:
            mode_at_most(host, path + ".pub", 0o644)


@check("HOST-SSH-005")
def allow_groups(host: Any, ctx: HostContext) -> None:
    groups = sshd(host, ctx).get("allowgroups", [])
    assert groups and all(g.strip() for g in groups), "sshd -T: no AllowGroups (every account may log in)"
    wanted = setting(ctx, "ssh_hardening", "ssh_hardening_allow_groups")
    if wanted:
        found = set(" ".join(groups).split())
        assert found == set(wanted), f"AllowGroups {sorted(found)}, inventory says {sorted(wanted)}"


@check("HOST-SSH-006")
def banner(host: Any, ctx: HostContext) -> None:
    path = sshd_one(host, ctx, "banner")
    assert path != "none", "sshd -T: banner none"
    text = host.file(path).content_string
    assert text.strip(), f"{path} is empty"
    assert any("\u0600" <= ch <= "\u06ff" for ch in text), f"{path}: no Arabic text in the legal notice"


@check("HOST-SSH-007")
def ciphers(host: Any, ctx: HostContext) -> None:
    csv_subset(sshd_one(host, ctx, "ciphers"), STRONG_CIPHERS, "ciphers")


@check("HOST-SSH-008")
def idle_sessions(host: Any, ctx: HostContext) -> None:
    interval = int(sshd_one(host, ctx, "clientaliveinterval"))
    count = int(sshd_one(host, ctx, "clientalivecountmax"))
    assert interval > 0, "ClientAliveInterval 0: idle sessions never time out"
    assert count > 0, "ClientAliveCountMax 0: sessions are cut without a keepalive probe"
    assert interval * count <= 900, f"idle sessions last {interval}×{count} s, more than 15 minutes"
    keepalive = sshd_one(host, ctx, "tcpkeepalive")
    assert keepalive == "no", f"TCPKeepAlive {keepalive}: spoofable probes keep dead sessions open"


@check("HOST-SSH-009")
def no_forwarding(host: Any, ctx: HostContext) -> None:
    for key in ("allowtcpforwarding", "allowagentforwarding", "x11forwarding", "permittunnel"):
        _is(host, ctx, key, "no")


@check("HOST-SSH-013")
def kex(host: Any, ctx: HostContext) -> None:
    csv_subset(sshd_one(host, ctx, "kexalgorithms"), STRONG_KEX, "key exchange algorithms")


@check("HOST-SSH-034")
def post_quantum_kex(host: Any, ctx: HostContext) -> None:
    offered = [k for k in sshd_one(host, ctx, "kexalgorithms").split(",") if k]
    assert offered and offered[0] in PQ_HYBRID_KEX, (
        f"sshd prefers {offered[0] if offered else 'nothing'}, not a post-quantum hybrid key exchange"
    )
    version = run_ok(host, ". /etc/os-release && echo $VERSION_ID").strip()
    if version.isdigit() and int(version) >= 13:  # OpenSSH 10: ML-KEM and sntrup761 for every client
        classic = [k for k in offered if k not in PQ_HYBRID_KEX]
        assert not classic, f"Debian {version}: classic key exchanges still offered: {', '.join(classic)}"


@check("HOST-SSH-014")
def grace_time(host: Any, ctx: HostContext) -> None:
    grace = int(sshd_one(host, ctx, "logingracetime"))
    assert 0 < grace <= 60, f"LoginGraceTime {grace} s (0 means unlimited; at most 60)"


@check("HOST-SSH-015")
def log_level(host: Any, ctx: HostContext) -> None:
    level = sshd_one(host, ctx, "loglevel").upper()
    assert level in ("VERBOSE", "DEBUG", "DEBUG1"), f"LogLevel {level}: key fingerprints are not logged"


@check("HOST-SSH-016")
def macs(host: Any, ctx: HostContext) -> None:
    csv_subset(sshd_one(host, ctx, "macs"), STRONG_MACS, "MACs")


@check("HOST-SSH-017")
def max_auth_tries(host: Any, ctx: HostContext) -> None:
    tries = int(sshd_one(host, ctx, "maxauthtries"))
    assert tries <= 3, f"MaxAuthTries {tries}"


@check("HOST-SSH-018")
def max_sessions(host: Any, ctx: HostContext) -> None:
    sessions = int(sshd_one(host, ctx, "maxsessions"))
    assert sessions <= 10, f"MaxSessions {sessions}"


@check("HOST-SSH-019")
def max_startups(host: Any, ctx: HostContext) -> None:
    value = sshd_one(host, ctx, "maxstartups")
    start, rate, full = (int(x) for x in value.split(":"))
    assert start <= 10 and rate >= 30 and full <= 60, f"MaxStartups {value} (at most 10:30:60)"


@check("HOST-SSH-025")
def host_key_types(host: Any, ctx: HostContext) -> None:
    csv_subset(sshd_one(host, ctx, "hostkeyalgorithms"), HOST_KEY_ALGORITHMS, "host key algorithms")
    for path in sshd(host, ctx).get("hostkey", []):
        assert "ed25519" in path or "rsa" in path, f"HostKey {path} is neither Ed25519 nor RSA"


@check("HOST-SSH-026")
def moduli(host: Any, ctx: HostContext) -> None:
    out = run_ok(host, "awk '$1 !~ /^#/ && NF >= 5 && $5 < 3071 {n++} END {print n+0}' /etc/ssh/moduli")
    assert int(out) == 0, f"/etc/ssh/moduli has {out.strip()} groups smaller than 3072 bits"


@check("HOST-SSH-029")
def config_valid(host: Any, ctx: HostContext) -> None:
    result = host.run("PATH=/usr/sbin:/usr/bin:/sbin:/bin sshd -t")
    assert result.rc == 0, f"sshd -t: the configuration on disk is invalid: {result.stderr.strip()[:200]}"
    assert host.service("ssh").is_running, "ssh.service is not running"


def _client(host: Any, ctx: HostContext) -> dict[str, str]:
    if "ssh -G" not in ctx.cache:
        out = run_ok(host, "ssh -G jamaa-probe.invalid")
        ctx.cache["ssh -G"] = {
            k.lower(): v.strip() for k, _, v in (line.partition(" ") for line in out.splitlines()) if k
        }
    return dict(ctx.cache["ssh -G"])


@check("HOST-SSH-030")
def client_algorithms(host: Any, ctx: HostContext) -> None:
    client = _client(host, ctx)
    csv_subset(client["ciphers"], STRONG_CIPHERS, "client ciphers")
    csv_subset(client["macs"], STRONG_MACS, "client MACs")
    csv_subset(client["kexalgorithms"], STRONG_KEX, "client key exchange algorithms")


@check("HOST-SSH-031")
def client_hashes_known_hosts(host: Any, ctx: HostContext) -> None:
    assert _client(host, ctx).get("hashknownhosts") == "yes", "ssh -G: hashknownhosts is not yes"


@check("HOST-SSH-032")
def client_no_forwarding(host: Any, ctx: HostContext) -> None:
    client = _client(host, ctx)
    for key in ("forwardagent", "forwardx11"):
        assert client.get(key) == "no", f"ssh -G: {key} {client.get(key)}"


@check("HOST-SSH-033")
def client_no_password(host: Any, ctx: HostContext) -> None:
    client = _client(host, ctx)
    for key in ("passwordauthentication", "kbdinteractiveauthentication"):
        assert client.get(key) == "no", f"ssh -G: {key} {client.get(key)}"
