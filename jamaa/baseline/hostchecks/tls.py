"""The server's TLS certificate (issued by the environment's CA, with its names) and private key."""

from __future__ import annotations

from typing import Any

from jamaa.baseline.hostchecks import HostContext, check, mode_at_most, run_ok, setting

ROLE = "tls_certificates"


def paths(ctx: HostContext) -> tuple[str, str, str]:
    directory = setting(ctx, ROLE, "tls_certificates_dir") or "/etc/ssl/jamaa"
    cert = setting(ctx, ROLE, "tls_certificates_cert_file") or f"{directory}/host.crt"
    key = setting(ctx, ROLE, "tls_certificates_key_file") or f"{directory}/host.key"
    ca = setting(ctx, ROLE, "tls_certificates_ca_file") or f"{directory}/ca.crt"
    return cert, key, ca


@check("HOST-TLS-001")
def certificate(host: Any, ctx: HostContext) -> None:
    cert, _, ca = paths(ctx)
    verified = host.run(f"openssl verify -CAfile {ca} {cert}")
    assert verified.rc == 0, (
        f"{cert} is not issued by {ca}: {(verified.stdout + verified.stderr).strip()[:200]}"
    )
    text = run_ok(host, f"openssl x509 -in {cert} -noout -ext subjectAltName -checkend 0")
    names = [ctx.name]
    if ctx.var("jamaa_lan_ip", None):
        names.append(str(ctx.var("jamaa_lan_ip", "")))
    missing = [n for n in names if n not in text]
    assert not missing, f"{cert} does not name {missing}: {text.strip()[:200]}"


@check("HOST-TLS-002")
def private_key(host: Any, ctx: HostContext) -> None:
    _, key, _ = paths(ctx)
    mode_at_most(host, key, 0o640, owner="root", group="ssl-cert")
