"""private_key_jwt client authentication and ES256 ID tokens for a client that asks for them."""

from __future__ import annotations

import secrets
import time

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.testclient import TestClient

from tests import support
from tests.support import ISSUER, Person


def _assertion(key: ECKey, client_id: str, jti: str | None = None) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER + "/token",
        "iat": now,
        "exp": now + 60,
        "jti": jti or secrets.token_hex(8),
    }
    return jwt.encode({"alg": "ES256", "kid": key.thumbprint()}, claims, key)


def test_private_key_jwt_authenticates_and_es256_id_token(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    rp = support.create_client(
        services, auth_method="private_key_jwt", jwks={"keys": [public]}, id_token_alg="ES256"
    )
    verifier, challenge = support.pkce()
    code = support.sign_in(app_client, rp, user, challenge)["code"]
    jti = secrets.token_hex(8)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        "client_id": rp.client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(key, rp.client_id, jti),
    }
    response = app_client.post("/token", data=data)
    assert response.status_code == 200, response.text
    id_token = response.json()["id_token"]
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    assert jwt.decode(id_token, keys, algorithms=["ES256"]).claims["sub"] == user.user_id
    # the same assertion (jti) cannot be replayed
    replay = app_client.post("/token", data={**data, "grant_type": "client_credentials"})
    assert replay.json()["error"] == "invalid_client"


def test_assertion_signed_by_another_key_is_refused(
    app_client: TestClient, services: support.Services
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    rp = support.create_client(
        services,
        auth_method="private_key_jwt",
        grant_types=("client_credentials",),
        redirect_uris=[],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    intruder = ECKey.generate_key("P-256", private=True)
    response = app_client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(intruder, rp.client_id),
        },
    )
    assert response.json()["error"] == "invalid_client"
