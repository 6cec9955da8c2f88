"""Introspection answers the same on both of its paths.

A JWT from a client this process already knows is checked on the event loop (the revocation
look-up awaited); anything else goes to a worker thread (the database). Each case runs on both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from idp.oidc.server import IdPAuthorizationServer
from idp.storage.models import SigningKey
from tests import support
from tests.support import Person, RelyingParty, exchange, pkce, sign_in

PATHS = ["event loop", "thread"]


def _server(app_client: TestClient) -> IdPAuthorizationServer:
    return app_client.app.state.ctx.server  # type: ignore[attr-defined,no-any-return]


def _introspector(app_client: TestClient, path: str) -> Callable[[RelyingParty, str], dict]:  # type: ignore[type-arg]
    server = _server(app_client)

    def introspect(rp: RelyingParty, token: str) -> dict:  # type: ignore[type-arg]
        if path == "event loop":
            assert server.query_client(rp.client_id) is not None  # now in this process's cache
        else:
            server.forget_client(rp.client_id)
        response = app_client.post("/introspect", auth=rp.basic, data={"token": token})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        return response.json()  # type: ignore[no-any-return]

    return introspect


def _tokens(app_client: TestClient, rp: RelyingParty, user: Person) -> dict[str, str]:
    verifier, challenge = pkce()
    code = sign_in(app_client, rp, user, challenge)["code"]
    return exchange(app_client, rp, code, verifier).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", PATHS)
def test_live_tokens_are_active_and_revoked_ones_are_not(
    app_client: TestClient, rp: RelyingParty, user: Person, path: str
) -> None:
    introspect = _introspector(app_client, path)
    tokens = _tokens(app_client, rp, user)
    for _ in range(2):  # the second answer comes from a remembered signature check
        body = introspect(rp, tokens["access_token"])
        assert body["active"] is True
        assert (body["sub"], body["client_id"], body["token_type"]) == (
            user.user_id,
            rp.client_id,
            "access_token",
        )
    assert introspect(rp, tokens["refresh_token"])["token_type"] == "refresh_token"
    revoked = app_client.post("/revoke", auth=rp.basic, data={"token": tokens["access_token"]})
    assert revoked.status_code == 200
    assert introspect(rp, tokens["access_token"]) == {"active": False}


@pytest.mark.parametrize("path", PATHS)
def test_a_revoked_grant_ends_its_access_tokens_at_once(
    app_client: TestClient, rp: RelyingParty, user: Person, path: str
) -> None:
    introspect = _introspector(app_client, path)
    tokens = _tokens(app_client, rp, user)
    assert introspect(rp, tokens["access_token"])["active"] is True
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert app_client.post("/token", auth=rp.basic, data=refresh).status_code == 200
    reuse = app_client.post("/token", auth=rp.basic, data=refresh)
    assert reuse.json()["error"] == "invalid_grant"  # reuse revokes the whole family
    assert introspect(rp, tokens["access_token"]) == {"active": False}


@pytest.mark.parametrize("path", PATHS)
def test_other_clients_tokens_and_forgeries_are_inactive(
    app_client: TestClient,
    services: support.Services,
    rp: RelyingParty,
    user: Person,
    path: str,
) -> None:
    introspect = _introspector(app_client, path)
    access = _tokens(app_client, rp, user)["access_token"]
    other = support.create_client(services)
    assert introspect(other, access) == {"active": False}
    header, payload, signature = access.split(".")
    assert introspect(rp, f"{header}.{payload}x.{signature}") == {"active": False}
    assert introspect(rp, "a.b.c") == {"active": False}
    assert introspect(rp, "not-a-token") == {"active": False}


def test_a_remembered_token_stops_verifying_when_its_key_is_withdrawn(
    app_client: TestClient, services: support.Services, rp: RelyingParty, user: Person
) -> None:
    introspect = _introspector(app_client, "event loop")
    access = _tokens(app_client, rp, user)["access_token"]
    assert introspect(rp, access)["active"] is True
    with services.db.session() as session:
        session.execute(
            update(SigningKey)
            .where(SigningKey.alg == "ES256")
            .values(state="retired", publish_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    services.keys.reload()
    assert introspect(rp, access) == {"active": False}


def test_a_wrong_secret_is_refused_before_any_token_is_checked(
    app_client: TestClient, rp: RelyingParty, user: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(app_client)
    access = _tokens(app_client, rp, user)["access_token"]
    assert server.query_client(rp.client_id) is not None  # the event-loop path's client

    async def must_not_run(token: str) -> None:
        raise AssertionError("a token was checked for an unauthenticated caller")

    monkeypatch.setattr(server.tokens, "check_access_token_async", must_not_run)
    response = app_client.post("/introspect", auth=(rp.client_id, "wrong"), data={"token": access})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
