"""Discovery and JWKS: complete metadata, cached with ETag."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support import ISSUER


def test_discovery_metadata(app_client: TestClient) -> None:
    response = app_client.get("/.well-known/openid-configuration")
    meta = response.json()
    assert meta["issuer"] == ISSUER
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert {"RS256", "ES256"} <= set(meta["id_token_signing_alg_values_supported"])
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert meta["backchannel_logout_supported"] is True
    assert "gfmis" in meta["scopes_supported"]
    assert meta["acr_values_supported"]


def test_discovery_and_jwks_answer_304_to_their_etag(app_client: TestClient) -> None:
    for path in ("/.well-known/openid-configuration", "/jwks"):
        first = app_client.get(path)
        etag = first.headers["etag"]
        assert "max-age" in first.headers["cache-control"]
        again = app_client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304


def test_jwks_publishes_next_keys_and_no_private_parts(app_client: TestClient) -> None:
    keys = app_client.get("/jwks").json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    assert len(keys) >= 4  # active and next of each algorithm
    assert not any({"d", "p", "q", "dp", "dq", "qi"} & set(k) for k in keys)


def test_unknown_path_is_a_bilingual_404(app_client: TestClient) -> None:
    response = app_client.get("/nowhere")
    assert response.status_code == 404
    assert "ไม่พบหน้าที่ต้องการ" in response.text
    assert "Traceback" not in response.text
