"""Revocation survives the loss of the expiring store (issue #11, item 1): every kind of revoked
access token is still refused at introspection and userinfo after the store lost everything,
and a live token still works (the markers are loaded again from the database)."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from idp.oidc.revocations import LOADED
from tests import support
from tests.e2e.test_introspection import PATHS, _introspector, _tokens
from tests.support import Person, RelyingParty


def _lose_everything(app_client: TestClient) -> None:
    """As a Redis that restarted empty (or an embedded process that restarted)."""
    store = app_client.app.state.ctx.services.store  # type: ignore[attr-defined]
    if hasattr(store, "_redis"):
        prefix = store._prefix
        for key in store._redis.scan_iter(match=prefix + "*", count=1000):
            store._redis.delete(key)
    else:
        store.close()  # the memory store clears itself
    assert store.count_existing([LOADED]) == 0


def _userinfo(app_client: TestClient, token: str) -> int:
    return app_client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.parametrize("path", PATHS)
def test_revoked_tokens_stay_revoked_when_the_store_is_lost(
    app_client: TestClient, rp: RelyingParty, user: Person, path: str
) -> None:
    introspect = _introspector(app_client, path)
    revoked_itself = _tokens(app_client, rp, user)
    assert (
        app_client.post(
            "/revoke", auth=rp.basic, data={"token": revoked_itself["access_token"]}
        ).status_code
        == 200
    )
    app_client.cookies.clear()
    family = _tokens(app_client, rp, user)  # its refresh token revoked: the family goes
    assert (
        app_client.post(
            "/revoke", auth=rp.basic, data={"token": family["refresh_token"]}
        ).status_code
        == 200
    )
    app_client.cookies.clear()
    reused = _tokens(app_client, rp, user)  # a refresh token used twice: the family goes
    refresh = {"grant_type": "refresh_token", "refresh_token": reused["refresh_token"]}
    assert app_client.post("/token", auth=rp.basic, data=refresh).status_code == 200
    assert app_client.post("/token", auth=rp.basic, data=refresh).status_code == 400
    app_client.cookies.clear()
    live = _tokens(app_client, rp, user)

    _lose_everything(app_client)

    for tokens in (revoked_itself, family, reused):
        assert introspect(rp, tokens["access_token"])["active"] is False
        assert _userinfo(app_client, tokens["access_token"]) == 401
    assert introspect(rp, live["access_token"])["active"] is True
    assert _userinfo(app_client, live["access_token"]) == 200


def test_when_the_record_cannot_be_read_tokens_are_refused(
    app_client: TestClient, rp: RelyingParty, user: Person, services: support.Services
) -> None:
    live = _tokens(app_client, rp, user)
    _lose_everything(app_client)
    revocations = app_client.app.state.ctx.server.tokens.revocations  # type: ignore[attr-defined]

    def database_down() -> None:
        raise ConnectionError("the database is down")

    revocations.load = database_down
    assert _userinfo(app_client, live["access_token"]) == 401  # unknown: refused, not accepted
    body = app_client.post("/introspect", auth=rp.basic, data={"token": live["access_token"]})
    assert body.json()["active"] is False


def test_a_marker_the_store_refused_is_written_when_it_takes_it_again(
    app_client: TestClient, rp: RelyingParty, user: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that was away and came back with its data: the family's marker is written again
    within seconds, so its access tokens stop working then, not an hour later."""
    tokens = _tokens(app_client, rp, user)
    store = app_client.app.state.ctx.services.store  # type: ignore[attr-defined]
    put = store.put
    refused: list[str] = []

    def away_once(key: str, value: dict[str, object], ttl: int) -> None:
        if key.startswith("revoked-grant:") and not refused:
            refused.append(key)
            raise ConnectionError("the store is away")
        put(key, value, ttl)

    monkeypatch.setattr(store, "put", away_once)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert app_client.post("/token", auth=rp.basic, data=refresh).status_code == 200
    reuse = app_client.post("/token", auth=rp.basic, data=refresh)
    assert reuse.status_code == 400  # the family is revoked in the database all the same
    assert refused
    deadline = time.monotonic() + 5
    while store.count_existing(refused) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _userinfo(app_client, tokens["access_token"]) == 401
