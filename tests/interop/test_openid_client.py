"""Interop: the certified openid-client library against our server, over real HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from idp.app import create_app
from idp.domain.acr import ACR_PUSH
from idp.domain.client_protocol import ProtocolOptions
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve

HERE = Path(__file__).resolve().parent
RP_SCRIPT = HERE / "rp.mjs"
REDIRECT = "http://127.0.0.1:9/cb"
BYE = "http://127.0.0.1:9/bye"

# The browser's part: from the authorization URL to the page that leaves for the client.
SignIn = Callable[[httpx.Client, str, support.Person, Any], httpx.Response]


def _consent(browser: httpx.Client, response: httpx.Response) -> httpx.Response:
    page = browser.get(response.headers["location"])  # resume → consent page
    assert page.status_code == 200
    assert "consent" in page.text
    action = page.text.split('<form method="post" action="')[1].split('"')[0]
    return browser.post(
        action, data={"decision": "allow", "csrf_token": support.csrf_of(page.text)}
    )


def run_openid_client(
    backend: Backend,
    tmp_path: Path,
    sign_in: Callable[..., httpx.Response],
    with_phone: bool = False,
    client_spec: dict[str, Any] | None = None,
    sections: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    if not (HERE / "node_modules" / "openid-client").exists():
        pytest.fail("openid-client is not installed: run `make test` (npm ci in tests/interop)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=issuer, **(sections or {})))
    services = app.state.ctx.services
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)
    rp = support.create_client(
        services,
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=(BYE,),
        first_party=False,
        grant_types=("authorization_code", "refresh_token"),
        **(client_spec or {}),
    )
    with serve(app, port), httpx.Client(base_url=issuer, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone") if with_phone else None
        browser.cookies.clear()
        settings = {
            "issuer": issuer,
            "client_id": rp.client_id,
            "client_secret": rp.secret,
            "redirect_uri": REDIRECT,
            "scope": "openid profile email gfmis offline_access",
            "post_logout_redirect_uri": BYE,
            **options,
        }
        node = subprocess.Popen(
            ["node", str(RP_SCRIPT), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert node.stdin
        assert node.stdout
        first = json.loads(node.stdout.readline())
        assert "authorization_url" in first, first
        if options.get("par"):  # only client_id and the pushed request's urn travel
            assert set(support.query_of(first["authorization_url"])) == {"client_id", "request_uri"}
        response = sign_in(browser, first["authorization_url"], user, phone)
        callback = support.follow_to_client(browser, _consent(browser, response), REDIRECT)
        node.stdin.write(callback + "\n")
        node.stdin.flush()
        result: dict[str, Any] = json.loads(node.stdout.readline())
        node.wait(timeout=30)
        assert "error" not in result, result
        assert result["claims"]["sub"] == user.user_id
        assert result["userinfo"]["gfmis_user_id"] == user.user_id
        assert result["userinfo_post"] == {"status": 200, "body": result["userinfo"]}
        assert result["introspected"]["active"] is True
        assert result["revoked_refresh_reuse"] == "invalid_grant"
        logout = browser.get(result["logout_url"])
        assert logout.status_code == 303
        assert logout.headers["location"] == BYE + "?state=bye"
    return result


def _password(browser: httpx.Client, url: str, user: support.Person, _phone: Any) -> httpx.Response:
    response = browser.get(url)
    return support.submit_login(browser, response.headers["location"], user.user_id, user.password)


def _password_and_push(
    browser: httpx.Client, url: str, user: support.Person, phone: Any
) -> httpx.Response:
    login_url = browser.get(url).headers["location"]
    done = support.submit_login(browser, login_url, user.user_id, user.password)
    page = browser.get(done.headers["location"])
    phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    return browser.post(
        login_url, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
    )


def test_openid_client_full_lifecycle(backend: Backend, tmp_path: Path) -> None:
    result = run_openid_client(backend, tmp_path, _password)
    assert result["claims"]["amr"] == ["pwd"]


def test_openid_client_asks_for_push_and_gets_it(backend: Backend, tmp_path: Path) -> None:
    result = run_openid_client(
        backend, tmp_path, _password_and_push, with_phone=True, acr_values=ACR_PUSH
    )
    assert result["claims"]["acr"] == ACR_PUSH
    assert "mfa" in result["claims"]["amr"]


def test_openid_client_with_par(backend: Backend, tmp_path: Path) -> None:
    """RFC 9126 as openid-client does it, for a client that must push its requests."""
    options = ProtocolOptions(require_pushed_authorization_requests=True)
    result = run_openid_client(
        backend, tmp_path, _password, client_spec={"protocol": options}, par=True
    )
    assert result["claims"]["amr"] == ["pwd"]


def test_openid_client_with_dpop(backend: Backend, tmp_path: Path) -> None:
    """RFC 9449 as openid-client does it: the code, the refresh and userinfo (GET and POST)
    with proofs of one key, for a client that must bind its tokens, the server demanding
    nonces (openid-client answers use_dpop_nonce by retrying with the DPoP-Nonce given)."""
    options = ProtocolOptions(dpop_bound_access_tokens=True)
    result = run_openid_client(
        backend,
        tmp_path,
        _password,
        client_spec={"protocol": options},
        sections={"dpop": {"require_nonce": "always"}},
        dpop=True,
    )
    assert [t.lower() for t in result["token_types"]] == ["dpop", "dpop"]
    assert result["introspected"]["token_type"] == "DPoP"
    assert result["introspected"]["cnf"]["jkt"]
    assert result["userinfo_post"]["status"] == 200
