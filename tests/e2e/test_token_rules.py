"""Token endpoint rules: PKCE, single-use codes, code binding to the client, refresh rotation."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.domain import clients
from idp.domain.errors import UserFacingError
from idp.storage.models import RefreshToken
from tests import support
from tests.support import Person, RelyingParty, exchange, pkce, sign_in


def _code(app_client: TestClient, rp: RelyingParty, user: Person) -> tuple[str, str]:
    verifier, challenge = pkce()
    return sign_in(app_client, rp, user, challenge)["code"], verifier


def test_wrong_code_verifier_is_invalid_grant(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    code, _verifier = _code(app_client, rp, user)
    response = exchange(app_client, rp, code, pkce()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_code_verifier_is_rejected(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    code, _verifier = _code(app_client, rp, user)
    response = exchange(app_client, rp, code, None)
    assert response.json()["error"] == "invalid_request"


def test_code_reuse_fails_and_revokes_what_the_code_issued(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    code, verifier = _code(app_client, rp, user)
    first = exchange(app_client, rp, code, verifier).json()
    second = exchange(app_client, rp, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    bearer = {"Authorization": "Bearer " + first["access_token"]}
    assert app_client.get("/userinfo", headers=bearer).status_code == 401
    refreshed = app_client.post(
        "/token",
        auth=rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_code_used_by_another_client_fails(
    app_client: TestClient, rp: RelyingParty, user: Person, services: support.Services
) -> None:
    code, verifier = _code(app_client, rp, user)
    other = support.create_client(services)
    response = exchange(app_client, other, code, verifier)
    assert response.json()["error"] == "invalid_grant"
    # and the code is gone for its own client too
    assert exchange(app_client, rp, code, verifier).json()["error"] == "invalid_grant"


def test_expired_code_fails(backend: support.Backend, tmp_path: support.Path) -> None:
    from idp.app import create_app

    settings = support.make_settings(backend, tmp_path, tokens={"authorization_code_ttl": 1})
    with TestClient(
        create_app(settings), base_url=support.ISSUER, follow_redirects=False
    ) as client:
        services = client.app.state.ctx.services  # type: ignore[attr-defined]
        rp, user = support.create_client(services), support.create_user(services)
        code, verifier = _code(client, rp, user)
        time.sleep(2.1)
        assert exchange(client, rp, code, verifier).json()["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    code, verifier = _code(app_client, rp, user)
    first = exchange(app_client, rp, code, verifier).json()

    def refresh(token: str) -> dict[str, str]:
        return app_client.post(
            "/token", auth=rp.basic, data={"grant_type": "refresh_token", "refresh_token": token}
        ).json()

    second = refresh(first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert refresh(first["refresh_token"])["error"] == "invalid_grant"  # reuse
    assert refresh(second["refresh_token"])["error"] == "invalid_grant"  # family revoked
    bearer = {"Authorization": "Bearer " + second["access_token"]}
    assert app_client.get("/userinfo", headers=bearer).status_code == 401


def test_client_credentials_issues_a_jwt_access_token(
    app_client: TestClient, services: support.Services
) -> None:
    rp = support.create_client(
        services, grant_types=("client_credentials",), redirect_uris=[], scope="gfmis"
    )
    response = app_client.post(
        "/token", auth=rp.basic, data={"grant_type": "client_credentials", "scope": "gfmis"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    assert body["access_token"].count(".") == 2
    introspected = app_client.post(
        "/introspect", auth=rp.basic, data={"token": body["access_token"]}
    ).json()
    assert introspected["active"] is True
    assert introspected["sub"] == rp.client_id


def test_wrong_client_secret_is_invalid_client(app_client: TestClient, rp: RelyingParty) -> None:
    response = app_client.post(
        "/token", auth=(rp.client_id, "wrong"), data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_malformed_token_requests_get_oauth_errors_not_500(
    app_client: TestClient, rp: RelyingParty
) -> None:
    bad_bodies = [
        ({"content-type": "application/json"}, b'{"grant_type": "client_credentials"}'),
        ({"content-type": "application/x-www-form-urlencoded"}, b"%%%&&&=="),
        ({"content-type": "application/x-www-form-urlencoded"}, b"grant_type=unknown"),
        ({"content-type": "application/x-www-form-urlencoded"}, b""),
        ({"content-type": "application/x-www-form-urlencoded"}, b"grant_type=%FF%FE"),
        ({"content-type": "application/x-www-form-urlencoded"}, b"grant_type=\xff"),
        ({"content-type": "application/x-www-form-urlencoded"}, b"a=1&" * 101),
        ({"content-type": "application/x-www-form-urlencoded"}, b"a=" + b"x" * 70_000),
    ]
    for headers, body in bad_bodies:
        response = app_client.post("/token", content=body, headers=headers, auth=rp.basic)
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        assert response.json()["error"] in ("invalid_request", "unsupported_grant_type")


def test_a_client_can_have_shorter_token_lifetimes(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = support.create_client(
        services, access_token_ttl=120, id_token_ttl=90, refresh_token_ttl=600
    )
    code, verifier = _code(app_client, rp, user)
    tokens = exchange(app_client, rp, code, verifier).json()
    assert tokens["expires_in"] == 120
    access = jwt.decode(
        tokens["access_token"], KeySet.import_key_set(app_client.get("/jwks").json())
    )
    assert access.claims["exp"] - access.claims["iat"] == 120
    id_token = jwt.decode(tokens["id_token"], KeySet.import_key_set(app_client.get("/jwks").json()))
    assert id_token.claims["exp"] - id_token.claims["iat"] == 90
    with services.db.read() as session:
        row = session.scalars(
            select(RefreshToken).where(RefreshToken.client_id == rp.client_id)
        ).one()
        lifetime = (row.expires_at - row.issued_at).total_seconds()
    assert lifetime == 600


def test_client_lifetimes_can_only_be_shorter_than_the_deployments(
    services: support.Services,
) -> None:
    ceiling = clients.Lifetimes(access_token=600, id_token=600, refresh_token=86400)
    for field, value in (
        ("access_token_ttl", 601),
        ("id_token_ttl", 10),
        ("refresh_token_ttl", 86401),
    ):
        spec = clients.ClientSpec(
            client_id="rp-" + support.new_user_id().lower(),
            name="x",
            redirect_uris=[support.REDIRECT],
            **{field: value},
        )
        with pytest.raises(UserFacingError) as refused:
            clients.validate(spec, ceiling)
        assert refused.value.field == field
    with pytest.raises(UserFacingError):
        clients.validate(
            clients.ClientSpec(
                client_id="x", name="x", redirect_uris=[support.REDIRECT], min_acr="gold"
            ),
            ceiling,
        )
