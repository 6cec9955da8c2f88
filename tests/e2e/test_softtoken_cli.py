"""The `softtoken` command line as a user runs it: activate from the QR PNG, approve, renew."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from idp.app import create_app
from push_auth.authenticator.cli import main as softtoken
from push_auth.authenticator.qr import parse_activation, read_qr
from push_auth.authenticator.state import AuthenticatorError
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve


def test_softtoken_cli_activates_approves_renews_and_locks(
    backend: Backend, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)  # activation needs an approved one
    home = str(tmp_path / "home")
    cli = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = cli.invoke(softtoken, ["--home", home, *args])
        return result.exit_code, result.output

    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        assert push_support.sign_in_to(browser, "/activate", user).status_code == 200
        png = tmp_path / "qr.png"
        png.write_bytes(browser.get("/activate/qr.png").content)
        assert run("activate", str(png), "--pin", "123456")[0] == 1  # blocklisted PIN
        code, output = run("activate", str(png), "--pin", push_support.PIN)
        assert code == 0, output
        browser.cookies.clear()
        verifier, challenge = support.pkce()
        login_url, page = push_support.push_page(browser, rp, user, challenge)
        code, output = run("pending", "--wait", "5", "--json")
        assert code == 0
        assert json.loads(output)["mode"] == "sequence"
        pictures = ",".join(str(p) for p in push_support.shown_pictures(page.text))
        code, output = run("approve", "--pictures", pictures, "--pin", push_support.PIN)
        assert code == 0, output
        result = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
        tokens = support.exchange(browser, rp, result["code"], verifier).json()
        assert "id_token" in tokens
        assert run("renew", "--pin", push_support.PIN)[0] == 0
        code, output = run("status", "--json")
        assert json.loads(output)["renewal_pending"] is True
        for _ in range(5):
            assert run("renew", "--pin", "999000")[0] == 1
        code, output = run("renew", "--pin", push_support.PIN)  # locked now, even the right PIN
        assert code == 1
        assert "locked" in output


def test_softtoken_cli_activates_with_the_code_typed_from_the_page(
    backend: Backend, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    user = support.create_user(app.state.ctx.services)
    support.approve_registration(app.state.ctx.services, user.user_id)
    cli = CliRunner()

    def run(home: str, *args: str) -> tuple[int, str]:
        result = cli.invoke(softtoken, ["--home", str(tmp_path / home), *args])
        return result.exit_code, result.output

    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        page = push_support.sign_in_to(browser, "/activate", user)
        assert page.status_code == 200
        shown = re.search(r"<code>([^<]+)</code>", page.text)
        assert shown, "no activation code on the page"
        typed = shown.group(1).strip()
        code, output = run("a", "activate", typed, "--pin", push_support.PIN)
        assert code == 1
        assert "--server" in output  # says how to go on, in Thai and in English
        assert "สแกน QR" in output
        code, output = run("b", "activate", typed, "--server", base, "--pin", push_support.PIN)
        assert code == 0, output
        assert browser.get("/activate/status").json() == {"status": "activated"}
        code, output = run("b", "status", "--json")
        assert code == 0, output
        assert json.loads(output)["status"] == "active"


def test_a_typed_code_needs_the_server_and_a_file_is_still_a_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "AbCdEfGhIjKlMnOpQrStUv-_"  # secrets.token_urlsafe(18): 24 URL-safe characters
    api = "https://idp.example.go.th/push/v1"
    for server in ("https://idp.example.go.th", "https://idp.example.go.th/", api, api + "/"):
        assert parse_activation(read_qr(code, server)) == (api, code)
    with pytest.raises(AuthenticatorError, match="--server"):
        read_qr(code)
    with pytest.raises(AuthenticatorError):
        read_qr(code, "idp.example.go.th")  # not a URL
    with pytest.raises(AuthenticatorError, match="no such QR image"):
        read_qr("qr.png", api)
    monkeypatch.chdir(tmp_path)
    Path(code).write_bytes(b"not a png")
    with pytest.raises(AuthenticatorError, match="PNG"):
        read_qr(code, api)  # an existing file is read as an image, whatever its name
    text = f"softtoken://activate?server={api}&code={code}"
    assert read_qr(text) == read_qr(text, "https://idp.example.go.th") == text
    with pytest.raises(AuthenticatorError, match="another server"):
        read_qr(text, "https://other.example.go.th")  # the QR code carries its own server
