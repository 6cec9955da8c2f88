"""Claims follow scopes, the `claims` parameter and the client's allowed claims."""

from __future__ import annotations

import json

from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from tests import support
from tests.support import Person, RelyingParty, exchange, pkce, sign_in


def _tokens(client: TestClient, rp: RelyingParty, user: Person, **extra: str) -> dict[str, str]:
    verifier, challenge = pkce()
    code = sign_in(client, rp, user, challenge, **extra)["code"]
    return exchange(client, rp, code, verifier).json()  # type: ignore[no-any-return]


def _userinfo(client: TestClient, access_token: str) -> dict[str, object]:
    response = client.get("/userinfo", headers={"Authorization": "Bearer " + access_token})
    return response.json()  # type: ignore[no-any-return]


def test_userinfo_follows_scopes(app_client: TestClient, rp: RelyingParty, user: Person) -> None:
    tokens = _tokens(app_client, rp, user, scope="openid email")
    info = _userinfo(app_client, tokens["access_token"])
    assert set(info) == {"sub", "email", "email_verified"}


def test_claims_parameter_puts_claims_in_the_id_token(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    claims = json.dumps({"id_token": {"email": None, "gfmis_user_id": {"essential": True}}})
    tokens = _tokens(app_client, rp, user, scope="openid email gfmis", claims=claims)
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    id_claims = jwt.decode(tokens["id_token"], keys).claims
    assert id_claims["email"].endswith("@example.go.th")
    assert id_claims["gfmis_user_id"] == user.user_id
    assert "ministry" not in id_claims


def test_claims_parameter_releases_claims_without_their_scope(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    """OIDC Core §5.5: a claims request is a request for those claims, essential or not,
    with or without `value`/`values`, whatever the scope."""
    claims = json.dumps(
        {
            "userinfo": {"phone_number": None, "ministry": {"essential": True}},
            "id_token": {
                "email": {"value": "someone@example.go.th"},
                "gfmis_user_id": {"essential": True, "values": [user.user_id]},
            },
        }
    )
    tokens = _tokens(app_client, rp, user, scope="openid", claims=claims)
    info = _userinfo(app_client, tokens["access_token"])
    assert set(info) == {"sub", "phone_number", "ministry"}
    assert str(info["phone_number"]).startswith("+66")
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    id_claims = jwt.decode(tokens["id_token"], keys).claims
    assert id_claims["email"].endswith("@example.go.th")  # the user's own, not the value asked
    assert id_claims["gfmis_user_id"] == user.user_id
    assert "phone_number" not in id_claims
    assert "email_verified" not in id_claims


def test_claims_parameter_stays_within_the_allowed_claims(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = support.create_client(services, allowed_claims=("email", "email_verified"))
    claims = json.dumps({"userinfo": {"phone_number": None, "email": None}})
    tokens = _tokens(app_client, rp, user, scope="openid", claims=claims)
    assert set(_userinfo(app_client, tokens["access_token"])) == {"sub", "email"}


def test_claims_parameter_stays_within_the_registered_scopes(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = support.create_client(services, scope="openid email")
    claims = json.dumps(
        {"userinfo": {"phone_number": None, "ministry": None}, "id_token": {"gfmis_user_id": None}}
    )
    tokens = _tokens(app_client, rp, user, scope="openid", claims=claims)
    assert set(_userinfo(app_client, tokens["access_token"])) == {"sub"}
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    assert "gfmis_user_id" not in jwt.decode(tokens["id_token"], keys).claims


def test_unknown_claims_are_ignored(app_client: TestClient, rp: RelyingParty, user: Person) -> None:
    claims = json.dumps({"userinfo": {"national_id": None, "favourite_colour": None}})
    tokens = _tokens(app_client, rp, user, scope="openid", claims=claims)
    assert set(_userinfo(app_client, tokens["access_token"])) == {"sub"}


def test_allowed_claims_restrict_what_a_client_receives(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = support.create_client(services)
    from idp.storage.models import Client

    with services.db.session() as session:
        record = session.get(Client, rp.client_id)
        assert record is not None
        record.allowed_claims = ["email"]
    tokens = _tokens(app_client, rp, user, scope="openid email profile")
    assert set(_userinfo(app_client, tokens["access_token"])) == {"sub", "email"}


def test_revoked_access_token_is_refused_at_userinfo_and_inactive(
    app_client: TestClient, rp: RelyingParty, user: Person, services: support.Services
) -> None:
    tokens = _tokens(app_client, rp, user)
    other = support.create_client(services)
    foreign = app_client.post(
        "/introspect", auth=other.basic, data={"token": tokens["access_token"]}
    ).json()
    assert foreign == {"active": False}
    revoked = app_client.post("/revoke", auth=rp.basic, data={"token": tokens["access_token"]})
    assert revoked.status_code == 200
    assert (
        app_client.get(
            "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
        ).status_code
        == 401
    )
    introspected = app_client.post(
        "/introspect", auth=rp.basic, data={"token": tokens["access_token"]}
    ).json()
    assert introspected == {"active": False}
