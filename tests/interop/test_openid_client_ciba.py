"""Interop: CIBA in poll mode as the certified openid-client does it, over real HTTP, with the
reference authenticator approving on the "phone"."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from idp.app import create_app
from idp.domain.acr import ACR_PASSWORD
from idp.domain.client_protocol import CIBA_GRANT, ProtocolOptions
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve

HERE = Path(__file__).resolve().parent


def test_openid_client_ciba_poll(backend: Backend, tmp_path: Path) -> None:
    if not (HERE / "node_modules" / "openid-client").exists():
        pytest.fail("openid-client is not installed: run `make test` (npm ci in tests/interop)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=issuer))
    services = app.state.ctx.services
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)
    rp = support.create_client(
        services,
        first_party=False,
        grant_types=("authorization_code", "refresh_token", CIBA_GRANT),
        protocol=ProtocolOptions(backchannel_token_delivery_mode="poll"),
    )
    with serve(app, port), httpx.Client(base_url=issuer, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone")
        settings = {
            "issuer": issuer,
            "client_id": rp.client_id,
            "client_secret": rp.secret,
            "login_hint": user.user_id,
            "binding_message": "ใบเบิก 4821",
        }
        node = subprocess.Popen(
            ["node", str(HERE / "ciba.mjs"), json.dumps(settings)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert node.stdout
        started = json.loads(node.stdout.readline())
        assert "started" in started, started
        assert started["started"]["expires_in"] == 120
        pending = phone.pending(wait=10)
        assert pending is not None
        assert pending["context"]["binding_message"] == "ใบเบิก 4821"
        assert phone.approve(push_support.PIN, None)["status"] == "approved"
        result = json.loads(node.stdout.readline())
        node.wait(timeout=30)
    assert "error" not in result, result
    assert result["claims"]["sub"] == user.user_id
    assert result["claims"]["acr"] == ACR_PASSWORD
    assert "swk" in result["claims"]["amr"]
    assert result["userinfo"]["sub"] == user.user_id
