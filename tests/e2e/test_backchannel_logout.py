"""RP-initiated logout notifies relying parties by back-channel, with a valid logout token."""

from __future__ import annotations

from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.app import create_app
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.logout_receiver import LogoutReceiver


def test_logout_sends_a_logout_token_to_the_relying_party(backend: Backend, tmp_path: Path) -> None:
    receiver = LogoutReceiver()
    receiver_port, idp_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=issuer))
    services = app.state.ctx.services
    user = support.create_user(services)
    rp = support.create_client(
        services,
        backchannel_logout_uri=f"http://127.0.0.1:{receiver_port}/bcl",
        post_logout_redirect_uris=("http://localhost:9999/bye",),
    )
    with (
        serve(receiver.app, receiver_port),
        serve(app, idp_port),
        httpx.Client(base_url=issuer, follow_redirects=False) as browser,
    ):
        verifier, challenge = support.pkce()
        code = support.sign_in(browser, rp, user, challenge, scope="openid profile")["code"]
        tokens = support.exchange(browser, rp, code, verifier).json()
        sid = jwt.decode(
            tokens["id_token"], KeySet.import_key_set(browser.get("/jwks").json())
        ).claims["sid"]
        response = browser.get(
            "/logout",
            params={
                "id_token_hint": tokens["id_token"],
                "state": "s1",
                "post_logout_redirect_uri": "http://localhost:9999/bye",
            },
        )
        assert response.status_code == 303, response.text[-800:]
        assert response.headers["location"] == "http://localhost:9999/bye?state=s1"
        received = receiver.wait()
        keys = KeySet.import_key_set(browser.get("/jwks").json())
        # the session's tokens are revoked with it (no offline_access was asked)
        refreshed = browser.post(
            "/token",
            auth=rp.basic,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert refreshed.json()["error"] == "invalid_grant"
    assert len(received) == 1
    token = jwt.decode(received[0], keys)
    assert token.header["typ"] == "logout+jwt"
    claims = token.claims
    assert claims["iss"] == issuer
    assert claims["aud"] == rp.client_id
    assert claims["sub"] == user.user_id
    assert claims["sid"] == sid
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims
    assert claims["exp"] - claims["iat"] <= 120
