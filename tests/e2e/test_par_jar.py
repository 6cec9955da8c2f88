"""PAR (RFC 9126), JAR (RFC 9101) and the FAPI 2.0 profile's rules at /par and /authorize,
on both backends: happy paths through sign-in to tokens, and every error the RFCs name."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.testclient import TestClient

from idp.domain.client_protocol import FAPI2, ProtocolOptions
from idp.oidc.par import URN_PREFIX, store_key
from tests import support
from tests.support import ISSUER, Person, RelyingParty

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _keyed_client(services: support.Services, key: Any, **spec: Any) -> RelyingParty:
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    return support.create_client(services, jwks={"keys": [public]}, **spec)


def _assertion(key: Any, client_id: str, aud: str = ISSUER + "/par", alg: str = "ES256") -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": alg, "kid": key.thumbprint()}, claims, key)


def _request_object(key: Any, client_id: str, params: dict[str, Any], **over: Any) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "aud": ISSUER, "exp": now + 60, "nbf": now, **params}
    claims.update(over.pop("claims", {}))
    header = {
        "alg": over.pop("alg", "ES256"),
        "kid": key.thumbprint(),
        "typ": "oauth-authz-req+jwt",
    }
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def _push(client: TestClient, rp: RelyingParty, params: dict[str, str]) -> Any:
    return client.post("/par", data=params, auth=rp.basic)


def _authorize_with(client: TestClient, rp: RelyingParty, request_uri: str) -> Any:
    return client.get("/authorize", params={"client_id": rp.client_id, "request_uri": request_uri})


def _sign_in_from(
    client: TestClient, response: Any, rp: RelyingParty, user: Person
) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text[:500]
    if response.headers["location"].startswith("/login/"):
        response = support.submit_login(
            client, response.headers["location"], user.user_id, user.password
        )
    return support.query_of(support.follow_to_client(client, response, rp.redirect_uri))


def test_par_happy_path_to_tokens(app_client: TestClient, rp: RelyingParty, user: Person) -> None:
    verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge)
    pushed = _push(app_client, rp, params)
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["request_uri"].startswith(URN_PREFIX)
    assert len(body["request_uri"]) - len(URN_PREFIX) >= 22  # ≥ 128 bits, base64url
    assert 60 <= body["expires_in"] <= 90
    assert pushed.headers["cache-control"].startswith("no-store")
    # parameters in the query besides client_id are ignored (RFC 9126 §4)
    response = app_client.get(
        "/authorize",
        params={
            "client_id": rp.client_id,
            "request_uri": body["request_uri"],
            "state": "forged",
            "redirect_uri": "http://localhost:9999/other",
        },
    )
    query = _sign_in_from(app_client, response, rp, user)
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER
    tokens = support.exchange(app_client, rp, query["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    assert "id_token" in tokens.json()


def test_request_uri_is_single_use_and_bound_to_its_client(
    app_client: TestClient, rp: RelyingParty, user: Person, services: support.Services
) -> None:
    _verifier, challenge = support.pkce()
    uri = _push(app_client, rp, support.authorize_params(rp, challenge)).json()["request_uri"]
    other = support.create_client(services)
    refused = _authorize_with(app_client, other, uri)
    assert refused.status_code == 400
    assert "invalid_request_uri" in refused.text
    assert "location" not in refused.headers
    first = _authorize_with(app_client, rp, uri)  # another client's try did not use it up
    assert first.status_code in (302, 303)
    again = _authorize_with(app_client, rp, uri)
    assert again.status_code == 400
    assert "invalid_request_uri" in again.text


def test_request_uri_expires(
    app_client: TestClient, rp: RelyingParty, services: support.Services
) -> None:
    _verifier, challenge = support.pkce()
    uri = _push(app_client, rp, support.authorize_params(rp, challenge)).json()["request_uri"]
    record = services.store.get(store_key(uri))
    assert record is not None
    services.store.put(store_key(uri), record, 1)  # let it run out
    time.sleep(1.2)
    response = _authorize_with(app_client, rp, uri)
    assert response.status_code == 400
    assert "invalid_request_uri" in response.text


def test_unknown_and_foreign_request_uris(app_client: TestClient, rp: RelyingParty) -> None:
    unknown = _authorize_with(app_client, rp, URN_PREFIX + secrets.token_urlsafe(32))
    assert "invalid_request_uri" in unknown.text
    remote = _authorize_with(app_client, rp, "https://rp.example/request.jwt")
    assert remote.status_code == 400
    assert "request_uri_not_supported" in remote.text
    assert "location" not in remote.headers


def test_require_par(app_client: TestClient, services: support.Services, user: Person) -> None:
    rp = support.create_client(
        services, protocol=ProtocolOptions(require_pushed_authorization_requests=True)
    )
    verifier, challenge = support.pkce()
    plain = app_client.get("/authorize", params=support.authorize_params(rp, challenge))
    assert plain.status_code == 400
    assert "location" not in plain.headers
    assert "PAR" in plain.text
    uri = _push(app_client, rp, support.authorize_params(rp, challenge)).json()["request_uri"]
    query = _sign_in_from(app_client, _authorize_with(app_client, rp, uri), rp, user)
    assert support.exchange(app_client, rp, query["code"], verifier).status_code == 200


@pytest.mark.parametrize("method", ["client_secret_post", "private_key_jwt", "none"])
def test_par_client_authentication_methods(
    app_client: TestClient, services: support.Services, method: str
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    rp = _keyed_client(services, key, auth_method=method)
    _verifier, challenge = support.pkce()
    data = support.authorize_params(rp, challenge)
    if method == "client_secret_post":
        assert rp.secret
        data["client_secret"] = rp.secret
    elif method == "private_key_jwt":
        data.update(
            client_assertion_type=ASSERTION_TYPE, client_assertion=_assertion(key, rp.client_id)
        )
    response = app_client.post("/par", data=data)
    assert response.status_code == 201, response.text
    record = services.store.get(store_key(response.json()["request_uri"]))
    assert record is not None
    assert not {"client_secret", "client_assertion"} & {k for k, _ in record["params"]}


def test_par_client_authentication_failures(
    app_client: TestClient, rp: RelyingParty, services: support.Services
) -> None:
    _verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge)
    wrong = app_client.post("/par", data=params, auth=(rp.client_id, "wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    anonymous = app_client.post("/par", data=params)  # a confidential client without its secret
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"
    key = ECKey.generate_key("P-256", private=True)
    signed = _keyed_client(services, key, auth_method="private_key_jwt")
    intruder = ECKey.generate_key("P-256", private=True)
    forged = app_client.post(
        "/par",
        data={
            **support.authorize_params(signed, challenge),
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(intruder, signed.client_id),
        },
    )
    assert forged.json()["error"] == "invalid_client"


def test_par_validates_like_authorize(
    app_client: TestClient, rp: RelyingParty, services: support.Services
) -> None:
    _verifier, challenge = support.pkce()

    def error_of(**over: str) -> tuple[int, str]:
        params = {**support.authorize_params(rp, challenge), **over}
        params = {k: v for k, v in params.items() if v != ""}
        response = _push(app_client, rp, params)
        assert "location" not in response.headers
        return response.status_code, response.json()["error"]

    assert error_of(redirect_uri="https://evil.example/cb") == (400, "invalid_request")
    assert error_of(response_type="token") == (400, "unsupported_response_type")
    assert error_of(scope="openid bogus") == (400, "invalid_scope")
    assert error_of(code_challenge="") == (400, "invalid_request")  # PKCE required
    assert error_of(code_challenge_method="plain") == (400, "invalid_request")
    assert error_of(claims="{not json") == (400, "invalid_request")
    assert error_of(max_age="soon") == (400, "invalid_request")
    assert error_of(prompt="none login") == (400, "invalid_request")
    assert error_of(request_uri=URN_PREFIX + "x") == (400, "invalid_request")
    assert error_of(client_id="someone-else") == (400, "invalid_request")
    machine = support.create_client(services, grant_types=("client_credentials",), redirect_uris=[])
    response = _push(app_client, machine, {"response_type": "code", "scope": "openid"})
    assert response.json()["error"] in ("unauthorized_client", "invalid_request")


def test_par_refuses_what_is_not_a_form_post(app_client: TestClient, rp: RelyingParty) -> None:
    assert app_client.get("/par").status_code == 405
    as_json = app_client.post("/par", json={"client_id": rp.client_id}, auth=rp.basic)
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"
    huge = app_client.post("/par", data={"x": "y" * 70_000}, auth=rp.basic)
    assert huge.status_code == 413


# -- JAR ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256"])
def test_signed_request_object_at_authorize(
    app_client: TestClient, services: support.Services, user: Person, alg: str
) -> None:
    key = (
        ECKey.generate_key("P-256", private=True)
        if alg == "ES256"
        else RSAKey.generate_key(2048, private=True)
    )
    rp = _keyed_client(services, key)
    verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge, max_age="600")
    params["claims"] = {"id_token": {"email": None}}  # type: ignore[assignment]
    signed = _request_object(key, rp.client_id, {**params, "max_age": 600}, alg=alg)
    # the object's parameters replace the query's (RFC 9101 §6.3)
    response = app_client.get(
        "/authorize",
        params={"client_id": rp.client_id, "request": signed, "state": "query", "scope": "openid"},
    )
    query = _sign_in_from(app_client, response, rp, user)
    assert query["state"] == params["state"]
    tokens = support.exchange(app_client, rp, query["code"], verifier).json()
    assert "gfmis" in tokens["scope"]
    id_token = jwt.decode(tokens["id_token"], _server_keys(app_client))
    assert id_token.claims["email"]


def _server_keys(client: TestClient) -> Any:
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(client.get("/jwks").json())


def test_signed_request_object_pushed(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    rp = _keyed_client(services, key, protocol=ProtocolOptions(require_signed_request_object=True))
    verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge)
    unsigned = _push(app_client, rp, params)
    assert unsigned.json()["error"] == "invalid_request"
    pushed = _push(
        app_client,
        rp,
        {"client_id": rp.client_id, "request": _request_object(key, rp.client_id, params)},
    )
    assert pushed.status_code == 201, pushed.text
    uri = pushed.json()["request_uri"]
    query = _sign_in_from(app_client, _authorize_with(app_client, rp, uri), rp, user)
    assert support.exchange(app_client, rp, query["code"], verifier).status_code == 200
    refused = app_client.get("/authorize", params=support.authorize_params(rp, challenge))
    assert refused.status_code == 400
    assert "signed request object" in refused.text


def test_bad_request_objects_are_refused(
    app_client: TestClient, services: support.Services
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    rp = _keyed_client(services, key)
    _verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge)
    now = int(time.time())
    good = _request_object(key, rp.client_id, params)
    head, body, sig = good.split(".")
    tampered_body = _request_object(key, rp.client_id, {**params, "scope": "openid admin"}).split(
        "."
    )[1]
    unsigned = _b64({"alg": "none"}) + "." + body + "."
    cases = {
        "tampered": f"{head}.{tampered_body}.{sig}",
        "wrong aud": _request_object(
            key, rp.client_id, params, claims={"aud": "https://other.example"}
        ),
        "wrong iss": _request_object(key, rp.client_id, params, claims={"iss": "someone"}),
        "expired": _request_object(key, rp.client_id, params, claims={"exp": now - 120}),
        "no exp": _without_exp(key, rp.client_id, params),
        "far exp": _request_object(key, rp.client_id, params, claims={"exp": now + 7200}),
        "future nbf": _request_object(key, rp.client_id, params, claims={"nbf": now + 600}),
        "old nbf": _request_object(key, rp.client_id, params, claims={"nbf": now - 7200}),
        "alg none": unsigned,
        "other key": _request_object(
            ECKey.generate_key("P-256", private=True), rp.client_id, params
        ),
        "other client_id": _request_object(key, rp.client_id, {**params, "client_id": "someone"}),
        "nested": _request_object(key, rp.client_id, {**params, "request_uri": URN_PREFIX + "x"}),
        "not a jwt": "abc",
    }
    for name, value in cases.items():
        response = app_client.get(
            "/authorize", params={"client_id": rp.client_id, "request": value}
        )
        assert response.status_code == 400, name
        assert "location" not in response.headers, name
        assert "invalid_request_object" in response.text, name
        pushed = _push(app_client, rp, {"client_id": rp.client_id, "request": value})
        assert pushed.status_code == 400, (name, pushed.text)
        assert pushed.json()["error"] == "invalid_request_object", name


def _without_exp(key: Any, client_id: str, params: dict[str, str]) -> str:
    header = {"alg": "ES256", "kid": key.thumbprint()}
    return jwt.encode(header, {"iss": client_id, "aud": ISSUER, **params}, key)


def _b64(value: dict[str, Any]) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_request_and_request_uri_together_are_refused(
    app_client: TestClient, rp: RelyingParty
) -> None:
    response = app_client.get(
        "/authorize",
        params={"client_id": rp.client_id, "request": "a.b.c", "request_uri": URN_PREFIX + "x"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_client_without_keys_cannot_sign_requests(app_client: TestClient, rp: RelyingParty) -> None:
    key = ECKey.generate_key("P-256", private=True)
    _verifier, challenge = support.pkce()
    value = _request_object(key, rp.client_id, support.authorize_params(rp, challenge))
    response = app_client.get("/authorize", params={"client_id": rp.client_id, "request": value})
    assert "invalid_request_object" in response.text


# -- FAPI 2.0 ------------------------------------------------------------------------------


def _fapi_client(services: support.Services) -> tuple[RelyingParty, ECKey]:
    key = ECKey.generate_key("P-256", private=True)
    rp = _keyed_client(
        services,
        key,
        auth_method="private_key_jwt",
        require_pkce=False,
        protocol=ProtocolOptions(profile=FAPI2),
    )
    return rp, key


def _fapi_push(client: TestClient, rp: RelyingParty, key: ECKey, params: dict[str, str]) -> Any:
    data = {
        **params,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(key, rp.client_id, aud=ISSUER),
    }
    return client.post("/par", data=data)


def test_fapi2_client_rules(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp, key = _fapi_client(services)
    verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge)
    # PAR is required
    plain = app_client.get("/authorize", params=params)
    assert plain.status_code == 400
    assert "location" not in plain.headers
    # PKCE S256 is required even though the client was registered without require_pkce
    no_pkce = _fapi_push(app_client, rp, key, support.authorize_params(rp, None))
    assert no_pkce.json()["error"] == "invalid_request"
    plain_pkce = _fapi_push(app_client, rp, key, {**params, "code_challenge_method": "plain"})
    assert plain_pkce.json()["error"] == "invalid_request"
    # redirect_uri is required in the pushed request
    no_redirect = _fapi_push(
        app_client, rp, key, {k: v for k, v in params.items() if k != "redirect_uri"}
    )
    assert no_redirect.json()["error"] == "invalid_request"
    # response_type code only
    assert (
        _fapi_push(app_client, rp, key, {**params, "response_type": "code id_token"}).json()[
            "error"
        ]
        == "unsupported_response_type"
    )
    pushed = _fapi_push(app_client, rp, key, params)
    assert pushed.status_code == 201, pushed.text
    query = _sign_in_from(
        app_client, _authorize_with(app_client, rp, pushed.json()["request_uri"]), rp, user
    )
    assert query["iss"] == ISSUER  # RFC 9207
    token = _fapi_token(app_client, rp, key, query["code"], verifier)
    assert token.status_code == 200, token.text


def _dpop_proof(key: ECKey, nonce: str | None) -> str:
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": "POST",
        "htu": ISSUER + "/token",
        "iat": int(time.time()),
    }
    if nonce:
        claims["nonce"] = nonce
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["ES256"])


def _fapi_token(client: TestClient, rp: RelyingParty, key: ECKey, code: str, verifier: str) -> Any:
    """The code exchanged as a FAPI 2.0 client does: private_key_jwt and a DPoP proof (with
    the server's nonce when it asks for one)."""
    dpop_key = ECKey.generate_key("P-256", private=True)
    nonce = None
    for _ in range(2):
        response = client.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": rp.redirect_uri,
                "code_verifier": verifier,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": _assertion(key, rp.client_id, aud=ISSUER),
            },
            headers={"DPoP": _dpop_proof(dpop_key, nonce)},
        )
        if response.status_code == 400 and response.json().get("error") == "use_dpop_nonce":
            nonce = response.headers["dpop-nonce"]
            continue
        return response
    return response


def test_fapi2_codes_live_at_most_60_seconds(
    backend: support.Backend, tmp_path: support.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from idp.app import create_app
    from idp.domain.secrets import sha256_hex

    settings = support.make_settings(backend, tmp_path, tokens={"authorization_code_ttl": 600})
    with TestClient(create_app(settings), base_url=ISSUER, follow_redirects=False) as client:
        services = client.app.state.ctx.services  # type: ignore[attr-defined]
        user = support.create_user(services)
        rp, key = _fapi_client(services)
        lifetimes: dict[str, int] = {}
        put = services.store.put

        def recording_put(key_: str, value: Any, ttl: int) -> None:
            lifetimes[key_] = ttl
            put(key_, value, ttl)

        monkeypatch.setattr(services.store, "put", recording_put)
        _verifier, challenge = support.pkce()
        pushed = _fapi_push(client, rp, key, support.authorize_params(rp, challenge))
        query = _sign_in_from(
            client, _authorize_with(client, rp, pushed.json()["request_uri"]), rp, user
        )
        assert 0 < lifetimes["code:" + sha256_hex(query["code"])] <= 60


def test_discovery_advertises_par_and_jar(app_client: TestClient) -> None:
    meta = app_client.get("/.well-known/openid-configuration").json()
    assert meta["pushed_authorization_request_endpoint"] == ISSUER + "/par"
    assert meta["require_pushed_authorization_requests"] is False
    assert meta["request_parameter_supported"] is True
    assert meta["request_uri_parameter_supported"] is False
    assert set(meta["request_object_signing_alg_values_supported"]) == {"ES256", "PS256", "RS256"}
    assert meta["authorization_response_iss_parameter_supported"] is True
