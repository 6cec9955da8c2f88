"""Interop: a second relying party that is neither ours nor Authlib's, `requests-oauth2client`
(Python, on `requests`, `jwskate` and `binapy`), runs the authorization code flow with PAR
(RFC 9126), also with DPoP (RFC 9449), against our server over real HTTP: discovery, the
pushed request (client_secret_basic),
the browser at /authorize with only client_id and request_uri, the callback checked with its
`state` and RFC 9207 `iss`, the code exchanged with PKCE, userinfo."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from requests_oauth2client import ClientSecretBasic, OAuth2Client, PrivateKeyJwt

from idp.app import create_app
from idp.domain.client_protocol import ProtocolOptions
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve

REDIRECT = "http://127.0.0.1:9/cb"


@pytest.mark.parametrize(
    ("auth_method", "dpop"),
    [("client_secret_basic", False), ("private_key_jwt", False), ("private_key_jwt", True)],
)
def test_requests_oauth2client_code_flow_with_par(
    backend: Backend, tmp_path: Path, auth_method: str, dpop: bool
) -> None:
    """With `dpop`, the client must bind its tokens (RFC 9449): the library makes the proofs
    at the token endpoint and at userinfo, the access token comes back as a DPoP token."""
    from jwskate import Jwk

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=issuer))
    services = app.state.ctx.services
    user = support.create_user(services)
    key = Jwk.generate(alg="ES256", kid="rp-key")
    spec = (
        {"jwks": {"keys": [key.public_jwk().to_dict()]}}
        if auth_method != "client_secret_basic"
        else {}
    )
    rp = support.create_client(
        services,
        redirect_uris=[REDIRECT],
        auth_method=auth_method,
        protocol=ProtocolOptions(
            require_pushed_authorization_requests=True, dpop_bound_access_tokens=dpop
        ),
        **spec,
    )
    with serve(app, port), httpx.Client(base_url=issuer, follow_redirects=False) as browser:
        credentials = (
            {"auth": ClientSecretBasic(rp.client_id, rp.secret or "")}
            if auth_method == "client_secret_basic"
            else {"auth": PrivateKeyJwt(rp.client_id, key)}
        )
        client = OAuth2Client.from_discovery_endpoint(
            issuer=issuer,
            redirect_uri=REDIRECT,
            testing=True,  # plain http on the loopback
            dpop_bound_access_tokens=dpop,
            **credentials,
        )
        assert client.pushed_authorization_request_endpoint == issuer + "/par"
        request = client.authorization_request(scope="openid profile email gfmis")
        pushed = client.pushed_authorization_request(request)
        assert set(support.query_of(pushed.uri)) == {"client_id", "request_uri"}
        response = browser.get(pushed.uri)
        login = response.headers["location"]
        response = support.submit_login(browser, login, user.user_id, user.password)
        callback = support.follow_to_client(browser, response, REDIRECT)
        authorization = request.validate_callback(callback)  # state and iss checked
        # requests-oauth2client 1.8.0 cannot rebuild a DPoPToken while validating its ID token
        # (DPoPToken.__init__ wants _dpop_key): with DPoP the ID token is checked here instead
        token = client.authorization_code(authorization, validate=not dpop)
        assert token.token_type == ("DPoP" if dpop else "Bearer")
        if dpop:
            keys = KeySet.import_key_set(browser.get("/jwks").json())
            assert token.id_token is not None
            claims = dict(jwt.decode(str(token.id_token), keys).claims)
            assert claims["nonce"] == request.nonce
        else:
            claims = token.id_token.claims if token.id_token else {}
        assert claims["sub"] == user.user_id
        assert client.userinfo(token)["gfmis_user_id"] == user.user_id
        # the same request_uri cannot be used again
        assert browser.get(pushed.uri).status_code == 400
