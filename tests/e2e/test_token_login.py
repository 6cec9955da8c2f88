"""Login by Token behind a real nginx on loopback that verifies TLS client certificates."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.app import create_app
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve

PROXY_SOURCE = "127.0.0.3"  # nginx connects to the IdP from here (proxy_bind)


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path
    fingerprint: str


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    name: str,
    san: x509.GeneralName | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def make_pki(folder: Path) -> Pki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test GFMIS Token CA")])
    now = datetime.now(UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server, server_key = _issue(
        ca_key, ca_name, "127.0.0.1", x509.IPAddress(IPv4Address("127.0.0.1"))
    )
    client, client_key = _issue(ca_key, ca_name, "T05005000000201 token key")
    stranger, stranger_key = _issue(ca_key, ca_name, "someone else's token key")
    pem = serialization.Encoding.PEM
    return Pki(
        ca=_write(folder / "ca.crt", ca.public_bytes(pem)),
        server_cert=_write(folder / "server.crt", server.public_bytes(pem)),
        server_key=_write(folder / "server.key", _key_pem(server_key)),
        client_cert=_write(folder / "client.crt", client.public_bytes(pem)),
        client_key=_write(folder / "client.key", _key_pem(client_key)),
        stranger_cert=_write(folder / "stranger.crt", stranger.public_bytes(pem)),
        stranger_key=_write(folder / "stranger.key", _key_pem(stranger_key)),
        fingerprint=hashlib.sha256(client.public_bytes(serialization.Encoding.DER)).hexdigest(),
    )


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (CI installs the Debian package in .ci/run)")
        pytest.skip("nginx is not installed: apt-get install nginx-light")
    return found


NGINX_CONF = """
worker_processes 1;
daemon off;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {pki.server_cert};
    ssl_certificate_key {pki.server_key};
    ssl_client_certificate {pki.ca};
    ssl_verify_client optional;
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_bind {source};
      proxy_set_header Host 127.0.0.1:{upstream};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
    }}
  }}
}}
"""


def _tls(pki: Pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert and key:
        context.load_cert_chain(str(cert), str(key))
    return context


@contextmanager
def nginx(binary: str, folder: Path, pki: Pki, upstream: int) -> Iterator[str]:
    port = free_port()
    (folder / "nginx.conf").write_text(
        NGINX_CONF.format(tmp=folder, port=port, pki=pki, upstream=upstream, source=PROXY_SOURCE)
    )
    process = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"https://127.0.0.1:{port}/healthz", verify=_tls(pki), timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("nginx did not start: " + (folder / "error.log").read_text())
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_login_by_token_behind_nginx(backend: Backend, tmp_path: Path, nginx_binary: str) -> None:
    pki = make_pki(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        support.make_settings(
            backend,
            tmp_path,
            issuer=base,
            server={"trusted_proxies": [PROXY_SOURCE]},
            token_login={"enabled": True},
        )
    )
    services = app.state.ctx.services
    user = support.create_user(services, legacy_cert_fingerprint=pki.fingerprint)
    rp = support.create_client(services)
    with serve(app, port), nginx(nginx_binary, tmp_path, pki, port) as proxy:
        with httpx.Client(
            base_url=proxy,
            verify=_tls(pki, pki.client_cert, pki.client_key),
            follow_redirects=False,
        ) as token_holder:
            page = token_holder.get("/login/token")
            assert page.status_code == 200, page.text
            assert user.user_id in page.text
            issued = token_holder.post(
                "/login/token", data={"csrf_token": support.csrf_of(page.text)}
            )
            assert issued.status_code == 200
            initial = re.search(r'id="initial-password">([^<]+)<', issued.text)
            assert initial
        with httpx.Client(
            base_url=proxy,
            verify=_tls(pki, pki.stranger_cert, pki.stranger_key),
            follow_redirects=False,
        ) as stranger:
            assert stranger.get("/login/token").status_code == 403  # not the fingerprint on file
        with httpx.Client(base_url=proxy, verify=_tls(pki)) as no_certificate:
            assert no_certificate.get("/login/token").status_code == 401
        with httpx.Client(base_url=base, follow_redirects=False) as direct:
            forged = direct.get(
                "/login/token",
                headers={
                    "X-SSL-Client-Cert": quote(pki.client_cert.read_text()),
                    "X-SSL-Client-Verify": "SUCCESS",
                },
            )
            assert forged.status_code == 401  # the header from an untrusted address is ignored
            response = direct.get(
                "/authorize", params=support.authorize_params(rp, support.pkce()[1])
            )
            login_url = response.headers["location"]
            first = support.submit_login(direct, login_url, user.user_id, initial.group(1))
            assert first.status_code == 303
            assert "current_password" in direct.get(first.headers["location"]).text
            direct.cookies.clear()
            response = direct.get(
                "/authorize", params=support.authorize_params(rp, support.pkce()[1])
            )
            second = support.submit_login(
                direct, response.headers["location"], user.user_id, initial.group(1)
            )
            assert second.status_code == 401  # the initial password works once
