"""DPoP (RFC 9449) on both backends: bound tokens at the token endpoint (every grant), the
public client's bound refresh tokens, replay, nonces, and the resource side (userinfo,
introspection); every error code the RFC names for these endpoints."""

from __future__ import annotations

import base64
import json
import secrets
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis.exceptions
from joserfc import jws, jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import JWSRegistry
from starlette.testclient import TestClient

from idp.domain.client_protocol import ProtocolOptions
from idp.oidc.dpop import access_token_hash, thumbprint
from tests import support
from tests.support import ISSUER, Person, RelyingParty

TOKEN_URL = ISSUER + "/token"
USERINFO_URL = ISSUER + "/userinfo"
Key = ECKey | RSAKey
REGISTRY = JWSRegistry(algorithms=["ES256", "ES384", "PS256", "RS256"])
REGISTRY.max_header_length = 4096  # an RSA jwk is longer than joserfc's default limit


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def proof(
    key: Key,
    method: str = "POST",
    url: str = TOKEN_URL,
    *,
    alg: str = "ES256",
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A DPoP proof; `header` and keyword claims override (a header member None is left
    out), `drop` removes claims."""
    body: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
        **claims,
    }
    for name in drop:
        body.pop(name, None)
    protected = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False), **(header or {})}
    protected = {name: value for name, value in protected.items() if value is not None}
    return jws.serialize_compact(protected, json.dumps(body), key, registry=REGISTRY)


def unsigned(key: Key, alg: str) -> str:
    """A proof with `alg: none` or a MAC algorithm: never accepted."""
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    claims = {"jti": "x" * 16, "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())}
    parts = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())]
    return ".".join([*parts, "" if alg == "none" else _b64(b"\0" * 32)])


def es256() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def jkt_of(key: Key) -> str:
    return thumbprint(key.as_dict(private=False))


def access_claims(app_client: TestClient, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=["ES256"]).claims)


def code_tokens(app_client: TestClient, rp: RelyingParty, user: Person, dpop: str | None) -> Any:
    verifier, challenge = support.pkce()
    code = support.sign_in(app_client, rp, user, challenge)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    return token_request(app_client, rp, data, dpop)


def token_request(
    app_client: TestClient, rp: RelyingParty, data: dict[str, str], dpop: str | list[str] | None
) -> Any:
    headers: list[tuple[str, str]] = []
    for value in [dpop] if isinstance(dpop, str) else dpop or []:
        headers.append(("DPoP", value))
    if rp.secret is None:
        return app_client.post("/token", data={**data, "client_id": rp.client_id}, headers=headers)
    return app_client.post("/token", data=data, headers=headers, auth=rp.basic)


def machine(services: support.Services, **protocol: Any) -> RelyingParty:
    return support.create_client(
        services,
        grant_types=("client_credentials",),
        redirect_uris=[],
        protocol=ProtocolOptions(**protocol),
    )


def userinfo(app_client: TestClient, token: str, key: Key | None, **claims: Any) -> Any:
    headers = {"Authorization": "DPoP " + token}
    if key is not None:
        headers["DPoP"] = proof(key, "GET", USERINFO_URL, ath=access_token_hash(token), **claims)
    return app_client.get("/userinfo", headers=headers)


# -- binding at the token endpoint ---------------------------------------------------------


def test_discovery_names_the_proof_algorithms(app_client: TestClient) -> None:
    metadata = app_client.get("/.well-known/openid-configuration").json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "RS256"]


def test_code_flow_with_a_proof_binds_the_access_token(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    key = es256()
    response = code_tokens(app_client, rp, user, proof(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert access_claims(app_client, body["access_token"])["cnf"] == {"jkt": jkt_of(key)}
    # introspection tells the resource server the key to check (RFC 9449 §6.2)
    seen = app_client.post("/introspect", auth=rp.basic, data={"token": body["access_token"]})
    assert seen.json()["cnf"] == {"jkt": jkt_of(key)}
    assert seen.json()["token_type"] == "DPoP"
    # with its proof, userinfo answers
    answered = userinfo(app_client, body["access_token"], key)
    assert answered.status_code == 200, answered.text
    assert answered.json()["sub"] == user.user_id


def test_without_a_proof_tokens_stay_bearer(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    body = code_tokens(app_client, rp, user, None).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in access_claims(app_client, body["access_token"])
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    assert app_client.get("/userinfo", headers=bearer).status_code == 200
    # a Bearer token is not a DPoP token
    refused = userinfo(app_client, body["access_token"], es256())
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


def test_client_credentials_with_a_proof_is_bound_and_ps256_works(
    app_client: TestClient, services: support.Services
) -> None:
    rp, key = machine(services), RSAKey.generate_key(2048, private=True)
    data = {"grant_type": "client_credentials"}
    response = token_request(app_client, rp, data, proof(key, alg="PS256"))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    claims = access_claims(app_client, response.json()["access_token"])
    assert claims["cnf"]["jkt"] == jkt_of(key)


def test_a_client_that_must_bind_is_refused_without_a_proof(
    app_client: TestClient, services: support.Services
) -> None:
    rp = machine(services, dpop_bound_access_tokens=True)
    data = {"grant_type": "client_credentials"}
    refused = token_request(app_client, rp, data, None)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    assert token_request(app_client, rp, data, proof(es256())).status_code == 200


def test_confidential_clients_refresh_tokens_are_not_bound(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    body = code_tokens(app_client, rp, user, proof(es256())).json()
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    refreshed = token_request(app_client, rp, data, None)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["token_type"] == "Bearer"  # RFC 9449 §5: only the proof binds


def test_public_clients_refresh_tokens_are_bound_to_the_key(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    public = support.create_client(services, auth_method="none")
    key = es256()
    body = code_tokens(app_client, public, user, proof(key)).json()
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    without = token_request(app_client, public, data, None)
    assert without.status_code == 400
    assert without.json()["error"] == "invalid_dpop_proof"
    other = token_request(app_client, public, data, proof(es256()))
    assert other.json()["error"] == "invalid_dpop_proof"
    # the refusals did not use the refresh token up: its key's proof still refreshes
    refreshed = token_request(app_client, public, data, proof(key))
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["token_type"] == "DPoP"
    next_data = {"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]}
    assert token_request(app_client, public, next_data, None).status_code == 400
    assert token_request(app_client, public, next_data, proof(key)).status_code == 200


def test_a_replayed_proof_is_refused(
    app_client: TestClient, services: support.Services, rp: RelyingParty, user: Person
) -> None:
    client, key = machine(services), es256()
    once = proof(key)
    data = {"grant_type": "client_credentials"}
    assert token_request(app_client, client, data, once).status_code == 200
    replayed = token_request(app_client, client, data, once)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_dpop_proof"
    # and at userinfo
    token = code_tokens(app_client, rp, user, proof(key)).json()["access_token"]
    headers = {
        "Authorization": "DPoP " + token,
        "DPoP": proof(key, "GET", USERINFO_URL, ath=access_token_hash(token)),
    }
    assert app_client.get("/userinfo", headers=headers).status_code == 200
    again = app_client.get("/userinfo", headers=headers)
    assert again.status_code == 401
    assert again.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')


def _bad_proofs(key: ECKey) -> Iterator[tuple[str, str | list[str]]]:
    with warnings.catch_warnings():  # a key too short: what the server refuses
        warnings.simplefilter("ignore", SecurityWarning)
        rsa_short = RSAKey.generate_key(1024, private=True)
        short_proof = proof(rsa_short, alg="RS256")
    yield "not a JWT", "not-a-jwt"
    yield "two headers", [proof(key), proof(key)]
    yield "typ", proof(key, header={"typ": "JWT"})
    yield "alg none", unsigned(key, "none")
    yield "alg HS256", unsigned(key, "HS256")
    yield "alg ES384", proof(ECKey.generate_key("P-384", private=True), alg="ES384")
    yield "no jwk", proof(key, header={"jwk": None})
    yield "private key in jwk", proof(key, header={"jwk": key.as_dict(private=True)})
    yield "jwk of another kty", proof(key, header={"jwk": rsa_short.as_dict(private=False)})
    yield "short RSA key", short_proof
    yield "another key's jwk", proof(key, header={"jwk": es256().as_dict(private=False)})
    yield "no jti", proof(key, drop=("jti",))
    yield "no htm", proof(key, drop=("htm",))
    yield "other htm", proof(key, htm="GET")
    yield "other htu", proof(key, htu=ISSUER + "/userinfo")
    yield "other host", proof(key, htu="http://evil.example/token")
    yield "no iat", proof(key, drop=("iat",))
    yield "old iat", proof(key, iat=int(time.time()) - 120)
    yield "future iat", proof(key, iat=int(time.time()) + 120)
    yield "unknown nonce", proof(key, nonce="made-up")


def test_every_bad_proof_is_invalid_dpop_proof_at_the_token_endpoint(
    app_client: TestClient, services: support.Services
) -> None:
    rp, key = machine(services), es256()
    data = {"grant_type": "client_credentials"}
    for name, bad in _bad_proofs(key):
        response = token_request(app_client, rp, data, bad)
        assert response.status_code == 400, name
        expected = "use_dpop_nonce" if name == "unknown nonce" else "invalid_dpop_proof"
        assert response.json()["error"] == expected, (name, response.text)
    # htu is compared without its query, and with the host in any case
    good = proof(key, htu="HTTP://LOCALHOST:80/token?x=1#f")
    assert token_request(app_client, rp, data, good).status_code == 200


# -- the resource side ------------------------------------------------------------------


def test_a_bound_token_at_userinfo_needs_its_scheme_and_its_proof(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    key = es256()
    token = code_tokens(app_client, rp, user, proof(key)).json()["access_token"]
    # as a Bearer token, in the header or the body: invalid_token with a DPoP challenge
    for sent in (
        app_client.get("/userinfo", headers={"Authorization": "Bearer " + token}),
        app_client.post("/userinfo", data={"access_token": token}),
    ):
        assert sent.status_code == 401
        challenge = sent.headers["www-authenticate"]
        assert challenge.startswith('DPoP error="invalid_token"')
        assert 'algs="ES256 PS256 RS256"' in challenge
    # with the DPoP scheme but no proof, or a proof that is wrong in any way
    ath = access_token_hash(token)
    refusals = {
        "no proof": None,
        "another key": proof(es256(), "GET", USERINFO_URL, ath=ath),
        "another method": proof(key, "POST", USERINFO_URL, ath=ath),
        "another URL": proof(key, "GET", TOKEN_URL, ath=ath),
        "no ath": proof(key, "GET", USERINFO_URL),
        "another token's ath": proof(key, "GET", USERINFO_URL, ath=access_token_hash("x.y.z")),
    }
    for name, value in refusals.items():
        headers = {"Authorization": "DPoP " + token, **({"DPoP": value} if value else {})}
        refused = app_client.get("/userinfo", headers=headers)
        assert refused.status_code == 401, name
        assert refused.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
        assert refused.json()["error"] == "invalid_dpop_proof", name
    assert userinfo(app_client, token, key).status_code == 200
    # a token that is not ours at all
    forged = userinfo(app_client, "a.b.c", key)
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


def test_a_revoked_bound_token_is_invalid_token(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    key = es256()
    token = code_tokens(app_client, rp, user, proof(key)).json()["access_token"]
    assert app_client.post("/revoke", auth=rp.basic, data={"token": token}).status_code == 200
    refused = userinfo(app_client, token, key)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


# -- nonces ------------------------------------------------------------------------------


@pytest.fixture
def nonce_client(backend: support.Backend, tmp_path: support.Path) -> Iterator[TestClient]:
    from idp.app import create_app

    settings = support.make_settings(backend, tmp_path, dpop={"require_nonce": "always"})
    with TestClient(create_app(settings), base_url=ISSUER, follow_redirects=False) as client:
        yield client


def test_nonce_round_trip_at_the_token_endpoint_and_userinfo(nonce_client: TestClient) -> None:
    services = nonce_client.app.state.ctx.services  # type: ignore[attr-defined]
    rp, user, key = support.create_client(services), support.create_user(services), es256()
    verifier, challenge = support.pkce()
    code = support.sign_in(nonce_client, rp, user, challenge)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    first = token_request(nonce_client, rp, data, proof(key))
    assert first.status_code == 400
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["dpop-nonce"]
    # the code was not used up by the round trip
    second = token_request(nonce_client, rp, data, proof(key, nonce=nonce))
    assert second.status_code == 200, second.text
    assert second.headers["dpop-nonce"]
    token = second.json()["access_token"]
    # the resource asks for it too
    asked = userinfo(nonce_client, token, key)
    assert asked.status_code == 401
    assert asked.headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
    fresh = asked.headers["dpop-nonce"]
    assert userinfo(nonce_client, token, key, nonce=fresh).status_code == 200
    wrong = userinfo(nonce_client, token, key, nonce=fresh[:-2] + "xx")
    assert wrong.json()["error"] == "use_dpop_nonce"


def test_nonces_are_demanded_of_fapi2_clients_by_default(
    app_client: TestClient, services: support.Services
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    rp = support.create_client(
        services,
        auth_method="private_key_jwt",
        jwks={"keys": [public]},
        grant_types=("client_credentials",),
        redirect_uris=[],
        protocol=ProtocolOptions(profile="fapi2"),
    )

    def assertion() -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": rp.client_id,
            "sub": rp.client_id,
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_hex(8),
        }
        signed = jwt.encode({"alg": "ES256", "kid": key.thumbprint()}, claims, key)
        return {
            "grant_type": "client_credentials",
            "client_id": rp.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        }

    dpop_key = es256()
    missing = app_client.post("/token", data=assertion())
    assert missing.json()["error"] == "invalid_dpop_proof"  # FAPI 2.0 implies binding
    asked = app_client.post("/token", data=assertion(), headers={"DPoP": proof(dpop_key)})
    assert asked.json()["error"] == "use_dpop_nonce"
    nonce = asked.headers["dpop-nonce"]
    headers = {"DPoP": proof(dpop_key, nonce=nonce)}
    answered = app_client.post("/token", data=assertion(), headers=headers)
    assert answered.status_code == 200, answered.text
    assert answered.json()["token_type"] == "DPoP"


# -- faults ------------------------------------------------------------------------------


def test_the_replay_check_fails_closed_when_the_store_is_down(
    app_client: TestClient, services: support.Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    rp = machine(services)

    def down(*_args: Any, **_kwargs: Any) -> bool:
        raise redis.exceptions.ConnectionError("the store is down")

    monkeypatch.setattr(services.store, "add", down)
    response = token_request(app_client, rp, {"grant_type": "client_credentials"}, proof(es256()))
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["retry-after"]


def test_a_code_bound_by_dpop_jkt_needs_a_proof_of_that_key(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    """RFC 9449 §10: the authorization request names the key (dpop_jkt); the code is then
    exchanged only with a proof of it."""
    key, other = es256(), es256()

    def exchange(dpop: str | None) -> Any:
        verifier, challenge = support.pkce()
        code = support.sign_in(app_client, rp, user, challenge, dpop_jkt=jkt_of(key))["code"]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        }
        return token_request(app_client, rp, data, dpop)

    assert exchange(proof(key)).json()["token_type"] == "DPoP"
    for wrong in (proof(other), None):
        refused = exchange(wrong)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_dpop_proof")
    params = support.authorize_params(rp, support.pkce()[1], dpop_jkt="not-a-thumbprint")
    bad = app_client.get("/authorize", params=params)
    assert support.query_of(bad.headers["location"])["error"] == "invalid_request"
