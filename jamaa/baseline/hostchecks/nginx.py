"""nginx: the configuration it loaded (`nginx -T`) and what it answers on the host itself.

Live requests are made on the server to 127.0.0.1 with each commune's name (SNI and Host), by a
small Python client (python3 is on every Jamaa host): HSTS, security headers, the version, the plain
HTTP redirect, and the default server's refusal are what nginx really sends.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from jamaa.baseline.hostchecks import HostContext, cached, check, run_ok, setting

ROLE = "nginx"
CLIENT = r"""
import json, socket, ssl, sys
name, scheme = sys.argv[1], sys.argv[2]
try:
    s = socket.create_connection(("127.0.0.1", 443 if scheme == "https" else 80), timeout=5)
    if scheme == "https":
        c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
        s = c.wrap_socket(s, server_hostname=name)
    s.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(json.dumps({"head": data.split(b"\r\n\r\n", 1)[0].decode("latin-1")}))
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
"""
AEAD = ("GCM", "CHACHA20", "CCM")


def config(host: Any, ctx: HostContext) -> str:
    return str(cached(ctx, "nginx -T", lambda: run_ok(host, "nginx -T 2>/dev/null")))


def directives(host: Any, ctx: HostContext, name: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^\s*{name}\s+([^;]+);", config(host, ctx), re.M)]


def names(ctx: HostContext) -> list[str]:
    domain = setting(ctx, ROLE, "nginx_domain") or "communes.jamaa.ma"
    communes = list(ctx.var("jamaa_communes", []))
    assert communes, "this host serves no commune"
    return [f"{c}.{domain}" for c in communes]


def request(host: Any, ctx: HostContext, name: str, scheme: str = "https") -> dict[str, Any]:
    key = f"request {scheme} {name}"
    if key not in ctx.cache:
        out = run_ok(host, f"python3 -c {shlex.quote(CLIENT)} {shlex.quote(name)} {scheme}")
        ctx.cache[key] = json.loads(out)
    return dict(ctx.cache[key])


def headers(host: Any, ctx: HostContext, name: str) -> tuple[str, dict[str, str]]:
    answer = request(host, ctx, name)
    assert "head" in answer, f"https://{name}/: {answer.get('error')}"
    status, *lines = answer["head"].split("\r\n")
    found = {}
    for line in lines:
        key, _, value = line.partition(":")
        found[key.strip().lower()] = value.strip()
    return status, found


@check("HOST-NGX-001")
def protocols(host: Any, ctx: HostContext) -> None:
    found = directives(host, ctx, "ssl_protocols")
    assert found, "nginx -T: no ssl_protocols (nginx's default includes TLSv1 and TLSv1.1)"
    bad = [p for line in found for p in line.split() if p not in ("TLSv1.2", "TLSv1.3")]
    assert not bad, f"ssl_protocols allows {sorted(set(bad))}"


@check("HOST-NGX-002")
def ciphers(host: Any, ctx: HostContext) -> None:
    found = directives(host, ctx, "ssl_ciphers")
    assert found, "nginx -T: no ssl_ciphers (OpenSSL's default list includes CBC suites)"
    problems = []
    for spec in found:
        out = run_ok(host, f"openssl ciphers -v {shlex.quote(spec.strip(chr(34)).strip(chr(39)))}")
        for line in out.splitlines():
            fields = line.split()
            kx = next((f.split("=")[1] for f in fields if f.startswith("Kx=")), "")
            enc = next((f.split("=")[1] for f in fields if f.startswith("Enc=")), "")
            if kx not in ("ECDH", "DH", "any") or not any(mode in enc for mode in AEAD):
                problems.append(f"{fields[0]} (Kx={kx}, Enc={enc})")
    assert not problems, f"suites without forward secrecy or AEAD: {problems}"


@check("HOST-NGX-003")
def hsts(host: Any, ctx: HostContext) -> None:
    for name in names(ctx):
        _, found = headers(host, ctx, name)
        value = found.get("strict-transport-security", "")
        match = re.search(r"max-age=(\d+)", value)
        assert match and int(match.group(1)) >= 15768000, (
            f"{name}: Strict-Transport-Security {value or 'missing'}"
        )


@check("HOST-NGX-004")
def security_headers(host: Any, ctx: HostContext) -> None:
    for name in names(ctx):
        _, found = headers(host, ctx, name)
        problems = []
        if found.get("x-content-type-options", "").lower() != "nosniff":
            problems.append("X-Content-Type-Options")
        csp = found.get("content-security-policy", "")
        if (
            found.get("x-frame-options", "").upper() not in ("DENY", "SAMEORIGIN")
            and "frame-ancestors" not in csp
        ):
            problems.append("frame denial")
        if not found.get("referrer-policy"):
            problems.append("Referrer-Policy")
        if not csp:
            problems.append("Content-Security-Policy")
        assert not problems, f"{name}: missing {problems}"


@check("HOST-NGX-005")
def no_version(host: Any, ctx: HostContext) -> None:
    tokens = directives(host, ctx, "server_tokens")
    assert tokens and all(t == "off" for t in tokens), f"server_tokens {tokens or '(default on)'}"
    for name in names(ctx):
        _, found = headers(host, ctx, name)
        assert not re.search(r"\d", found.get("server", "")), f"{name}: Server: {found.get('server')}"


@check("HOST-NGX-006")
def limits(host: Any, ctx: HostContext) -> None:
    missing = [
        d
        for d in (
            "client_max_body_size",
            "limit_req_zone",
            "limit_req",
            "client_body_timeout",
            "client_header_timeout",
        )
        if not directives(host, ctx, d)
    ]
    assert not missing, f"nginx -T: no {missing}"


@check("HOST-NGX-007")
def redirect(host: Any, ctx: HostContext) -> None:
    for name in names(ctx):
        answer = request(host, ctx, name, "http")
        assert "head" in answer, f"http://{name}/: {answer.get('error')}"
        status, *lines = answer["head"].split("\r\n")
        location = next(
            (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("location:")), ""
        )
        assert re.match(r"HTTP/1\.[01] 30[1278]", status), f"http://{name}/ answers {status!r}"
        assert location.startswith(f"https://{name}"), f"http://{name}/ redirects to {location!r}"


@check("HOST-NGX-008")
def default_server(host: Any, ctx: HostContext) -> None:
    assert host.service("nginx").is_running, "nginx is not running"
    for scheme in ("https", "http"):
        answer = request(host, ctx, "unknown-host.invalid", scheme)
        assert "Refused" not in answer.get("error", ""), f"nothing listens for {scheme}: {answer['error']}"
        head = answer.get("head", "")
        served = re.match(r"HTTP/1\.[01] [23]\d\d", head)
        assert not served, f"{scheme}://unknown-host.invalid/ is served: {head.splitlines()[:1]}"


@check("HOST-NGX-009")
def virtual_hosts(host: Any, ctx: HostContext) -> None:
    declared = set(directives(host, ctx, "server_name"))
    missing = [n for n in names(ctx) if not any(n in d.split() for d in declared)]
    assert not missing, f"no virtual host for {missing}"
    upstreams = re.findall(r"^\s*upstream\s+(\S+)\s*\{", config(host, ctx), re.M)
    for commune in ctx.var("jamaa_communes", []):
        assert f"commune_{commune}" in upstreams, f"no upstream commune_{commune}"


@check("HOST-NGX-010")
def per_vhost_logs(host: Any, ctx: HostContext) -> None:
    text = config(host, ctx)
    blocks = re.split(r"^\s*server\s*\{", text, flags=re.M)[1:]
    for name in names(ctx):
        tls_blocks = [
            b for b in blocks if re.search(rf"server_name\s+[^;]*\b{re.escape(name)}\b", b) and "443" in b
        ]
        assert tls_blocks, f"no HTTPS server block for {name}"
        block = tls_blocks[0]
        access = re.search(r"access_log\s+(\S+)", block)
        error = re.search(r"error_log\s+(\S+)", block)
        assert access and error, f"{name}: no own access_log/error_log"
        commune = name.split(".")[0]
        assert commune in access.group(1) and commune in error.group(1), f"{name}: logs not its own"


@check("HOST-NGX-011")
def valid(host: Any, ctx: HostContext) -> None:
    result = host.run("nginx -t")
    assert result.rc == 0, f"nginx -t: {result.stderr.strip()[:300]}"
    assert host.service("nginx").is_running, "nginx is not running"
