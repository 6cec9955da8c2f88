"""Authorization code + PKCE through the hosted sign-in, on both storage backends."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from tests.support import ISSUER, Person, RelyingParty, exchange, pkce, sign_in


def test_code_flow_issues_verified_id_token_and_userinfo(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    verifier, challenge = pkce()
    result = sign_in(app_client, rp, user, challenge)
    assert result["iss"] == ISSUER
    response = exchange(app_client, rp, result["code"], verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert response.headers["cache-control"] == "no-store"
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert id_token.claims["sub"] == user.user_id
    assert id_token.claims["iss"] == ISSUER
    assert id_token.claims["aud"] == [rp.client_id]
    assert id_token.claims["amr"] == ["pwd"]
    assert "auth_time" in id_token.claims
    assert "sid" in id_token.claims
    info = app_client.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == user.user_id
    assert info.json()["gfmis_user_id"] == user.user_id
    assert "refresh_token" in tokens
