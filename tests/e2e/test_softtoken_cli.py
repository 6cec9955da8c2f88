"""The `softtoken` command line as a user runs it: activate from the QR PNG, approve, renew."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from click.testing import CliRunner

from idp.web.app import create_app
from push_auth.authenticator.cli import main as softtoken
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
