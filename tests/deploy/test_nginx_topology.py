"""deploy/nginx/idp.conf.template run by a real nginx (TLS on loopback, a test CA) in front of
two `idp serve` (the second with `--workers 2`) sharing one PostgreSQL database and one Redis
key prefix: a token issued by one process is introspected and revoked through nginx on both,
the authenticator's long-poll through nginx is woken by a challenge made on the other process,
and an X-Forwarded-For the client sends is not believed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from idp.services import build_services
from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import push_support, support
from tests.backends import ProductionServers, own_database, production, require_production
from tests.deploy.nginx_support import PROXY_SOURCE, nginx
from tests.e2e.test_token_login import _tls, make_pki, nginx_binary
from tests.live import free_port

__all__ = ["nginx_binary"]

pytestmark = pytest.mark.timeout(120)

IDP = Path(sys.executable).parent / "idp"
SPOOFED = "203.0.113.77"


@contextmanager
def idp_serve(port: int, config: Path, log: Path, *args: str) -> Iterator[None]:
    """`idp serve` as an operator runs it, its JSON log lines in `log`."""
    env = {**os.environ, "IDP_CONFIG": str(config), "IDP_SERVER__PORT": str(port)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(IDP), "serve", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("idp serve stopped: " + log.read_text())
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("idp serve did not start: " + log.read_text())
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def requests_in(log: Path, path: str) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("path") == path:
            lines.append(entry)
    return lines


def test_nginx_in_front_of_two_processes(
    production_servers: ProductionServers | str, tmp_path: Path, nginx_binary: str
) -> None:
    servers = require_production(production_servers)
    pki = make_pki(tmp_path)
    port_a, port_b, proxy_port = free_port(), free_port(), free_port()
    issuer = f"https://127.0.0.1:{proxy_port}"
    with own_database(production(servers), tmp_path) as backend:
        settings = support.make_settings(
            backend, tmp_path, issuer=issuer, server={"trusted_proxies": [PROXY_SOURCE]}
        )
        config = tmp_path / "idp.toml"
        config.write_text(
            f"""
[server]
issuer = "{issuer}"
host = "127.0.0.1"
trusted_proxies = ["{PROXY_SOURCE}"]
var_dir = "{tmp_path}"
[database]
url = "{backend.database_url}"
[store]
url = "{backend.store_url}"
key_prefix = "{settings.store.key_prefix}"
[security]
master_key = "{support.MASTER_KEY}"
[jobs]
enabled = false
"""
        )
        services = build_services(settings)  # migrated once, before both processes start
        user = support.create_user(services)
        support.approve_registration(services, user.user_id)
        web = support.create_client(services)
        machine = support.create_client(
            services, grant_types=("client_credentials",), redirect_uris=[], scope="gfmis"
        )
        services.close()
        log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
        with (
            idp_serve(port_a, config, log_a),
            idp_serve(port_b, config, log_b, "--workers", "2"),
            nginx(nginx_binary, tmp_path, pki, [port_a, port_b], proxy_port) as proxy,
            httpx.Client(base_url=proxy, verify=_tls(pki), follow_redirects=False) as browser,
        ):
            # A token from process A, looked at through nginx: both processes answer alike.
            issued = httpx.post(
                f"http://127.0.0.1:{port_a}/token",
                auth=machine.basic,
                data={"grant_type": "client_credentials"},
            )
            assert issued.status_code == 200, issued.text
            token = issued.json()["access_token"]
            seen = [
                browser.post(
                    "/introspect",
                    auth=machine.basic,
                    data={"token": token},
                    headers={"X-Forwarded-For": SPOOFED},
                ).json()["active"]
                for _ in range(4)
            ]
            assert seen == [True] * 4
            revoked = browser.post("/revoke", auth=machine.basic, data={"token": token})
            assert revoked.status_code == 200
            after = [
                browser.post("/introspect", auth=machine.basic, data={"token": token}).json()
                for _ in range(4)
            ]
            assert after == [{"active": False}] * 4

            # The authenticator long-polls through nginx, one poll landing on each process;
            # the browser's sign-in makes the challenge on one of them: both polls wake.
            push_support.sign_in_to(browser, "/activate", user)
            png = tmp_path / "qr.png"
            png.write_bytes(browser.get("/activate/qr.png").content)
            phones = [
                Authenticator(Home(tmp_path / "phone"), httpx.Client(verify=_tls(pki)))
                for _ in range(2)
            ]
            phones[0].activate(read_qr(str(png)), push_support.PIN)
            browser.cookies.clear()
            got: list[tuple[dict[str, Any] | None, float]] = []

            def poll(phone: Authenticator) -> None:
                challenge = phone.pending(wait=20)
                got.append((challenge, time.monotonic()))

            pollers = [threading.Thread(target=poll, args=(phone,)) for phone in phones]
            for poller in pollers:
                poller.start()
                time.sleep(0.4)  # nginx's round robin: the next request goes to the other one
            verifier, challenge = support.pkce()
            started = time.monotonic()
            login_url, page = push_support.push_page(browser, web, user, challenge)
            for poller in pollers:
                poller.join(timeout=25)
            assert len(got) == 2
            assert all(claims is not None for claims, _ in got)
            assert all(at - started < 5 for _, at in got)  # woken via Redis, not the re-check
            phones[0].approve(push_support.PIN, push_support.shown_pictures(page.text))
            result = push_support.finish_push(browser, login_url, page, web.redirect_uri)
            assert support.exchange(browser, web, result["code"], verifier).status_code == 200

            # Straight to a process, from an address that is not nginx's: not believed either.
            direct = httpx.get(
                f"http://127.0.0.1:{port_b}/healthz", headers={"X-Forwarded-For": SPOOFED}
            )
            assert direct.status_code == 200
            time.sleep(0.3)  # the last log lines

    for log in (log_a, log_b):
        assert requests_in(log, "/introspect"), f"nginx never reached {log.name}"
        assert requests_in(log, "/push/v1/challenge"), f"no long-poll on {log.name}"
    logged = requests_in(log_a, "/introspect") + requests_in(log_b, "/introspect")
    assert {entry["ip"] for entry in logged} == {"127.0.0.1"}  # the peer nginx saw
    assert SPOOFED not in log_a.read_text() + log_b.read_text()
