"""`idp serve` on SIGTERM (idp.shutdown): a waiting long-poll answers 204 at once, a request in
flight still gets its answer, and the process exits 0 within server.shutdown_timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from idp.services import build_services
from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port

REPO = Path(__file__).resolve().parents[2]
LIMIT = 10


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "idp.cli", "serve"], env=env, cwd=REPO)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("idp serve did not start")


def _slow_body() -> Iterator[bytes]:
    yield b"eyJ"
    time.sleep(1.5)  # the SIGTERM arrives meanwhile
    yield b"hbGciOiJFUzI1NiJ9.e30.c2ln"


@pytest.mark.server
def test_sigterm_ends_long_polls_and_finishes_requests(backend: Backend, tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings = support.make_settings(backend, tmp_path, issuer=issuer)
    env = {
        **os.environ,
        "IDP_SERVER__ISSUER": issuer,
        "IDP_SERVER__PORT": str(port),
        "IDP_SERVER__SHUTDOWN_TIMEOUT": str(LIMIT),
        "IDP_DATABASE__URL": backend.database_url,
        "IDP_STORE__URL": backend.store_url,
        "IDP_STORE__KEY_PREFIX": settings.store.key_prefix,
        "IDP_SECURITY__MASTER_KEY": support.MASTER_KEY,
        "IDP_SERVER__VAR_DIR": str(tmp_path),
        "IDP_JOBS__ENABLED": "false",
    }
    services = build_services(settings)
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)
    services.close()
    process = _start(env, port)
    try:
        with httpx.Client(base_url=issuer, follow_redirects=False) as browser:
            push_support.sign_in_to(browser, "/activate", user)
            png = tmp_path / "qr.png"
            png.write_bytes(browser.get("/activate/qr.png").content)
        phone = Authenticator(Home(tmp_path / "phone"), httpx.Client(timeout=40))
        phone.activate(read_qr(str(png)), push_support.PIN)

        polled: list[tuple[object, float]] = []
        answered: list[int] = []

        def poll() -> None:
            polled.append((phone.pending(wait=25), time.monotonic()))

        def slow_request() -> None:
            response = httpx.post(
                f"{issuer}/push/v1/activate", content=_slow_body(), timeout=LIMIT + 5
            )
            answered.append(response.status_code)

        poller = threading.Thread(target=poll)
        poller.start()
        slow = threading.Thread(target=slow_request)
        slow.start()
        time.sleep(1.0)  # both are in the server now
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        poller.join(timeout=LIMIT)
        slow.join(timeout=LIMIT)
        code = process.wait(timeout=LIMIT + 5)
        stopped = time.monotonic()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert polled, "the long-poll got no answer"
    challenge, returned = polled[0]
    assert challenge is None  # 204: nothing to approve, come back (to another process)
    assert returned - signalled < 3, "the long-poll held the shutdown"
    assert answered, "the request in flight got no answer"
    assert 400 <= answered[0] < 500  # its answer: the body is no activation
    assert code == 0
    assert stopped - signalled < LIMIT
    with pytest.raises(httpx.ConnectError):  # and nothing listens any more
        httpx.get(f"{issuer}/healthz")
