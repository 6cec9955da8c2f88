"""Two uvicorn processes on PostgreSQL + Redis: the sign-in starts on one, the device answers
through the other, and the long-poll on the second wakes when the first creates the challenge."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from idp.services import build_services
from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import push_support, support
from tests.backends import ProductionServers, production, servers_missing
from tests.live import free_port


@contextmanager
def uvicorn_process(port: int, env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "idp.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_sign_in_on_one_process_approved_through_another(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    if isinstance(production_servers, str):
        servers_missing(production_servers)
        return
    backend = production(production_servers)
    port_a, port_b = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port_a}"
    settings = support.make_settings(backend, tmp_path, issuer=issuer)
    env = {
        **os.environ,
        "IDP_SERVER__ISSUER": issuer,
        "IDP_DATABASE__URL": backend.database_url,
        "IDP_STORE__URL": backend.store_url,
        "IDP_STORE__KEY_PREFIX": settings.store.key_prefix,
        "IDP_SECURITY__MASTER_KEY": support.MASTER_KEY,
        "IDP_SERVER__VAR_DIR": str(tmp_path),
    }
    services = build_services(settings)
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)
    services.close()

    def to_b(request: httpx.Request) -> None:
        request.url = request.url.copy_with(port=port_b)

    with (
        uvicorn_process(port_a, env),
        uvicorn_process(port_b, env),
        httpx.Client(base_url=issuer, follow_redirects=False) as browser,
    ):
        push_support.sign_in_to(browser, "/activate", user)
        png = tmp_path / "qr.png"
        png.write_bytes(browser.get("/activate/qr.png").content)
        phone = Authenticator(
            Home(tmp_path / "phone"), httpx.Client(timeout=40, event_hooks={"request": [to_b]})
        )
        phone.activate(read_qr(str(png)), push_support.PIN)
        browser.cookies.clear()
        got: list[object] = []
        poller = threading.Thread(target=lambda: got.append(phone.pending(wait=20)))
        poller.start()  # waiting on process B before the challenge exists
        time.sleep(0.5)
        verifier, challenge = support.pkce()
        started = time.monotonic()
        login_url, page = push_support.push_page(browser, rp, user, challenge)
        poller.join(timeout=25)
        assert got
        assert got[0] is not None
        assert time.monotonic() - started < 5  # woken by Redis, not by the 5 s re-check
        phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
        result = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
        assert support.exchange(browser, rp, result["code"], verifier).status_code == 200
