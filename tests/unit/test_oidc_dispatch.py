"""Where the server answers token, introspection and revocation requests (idp.oidc.dispatch):
on the event loop only when nothing blocks, else in a worker thread; and each grant uses its own
server's services (idp.oidc.server)."""

from __future__ import annotations

import base64
import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.datastructures import Headers

from idp.domain.audit import Origin
from idp.oidc.adapter import StarletteOAuth2Request
from idp.oidc.dispatch import Dispatch, InThreads, LoopFirst, Reply
from idp.oidc.server import IdPAuthorizationServer
from idp.services import Services, build_services
from tests import support
from tests.backends import embedded
from tests.support import RelyingParty

LOOP, THREAD = "event loop", "worker thread"


def _no_jwks(uri: str) -> dict[str, Any]:
    raise AssertionError(f"no JWKS is fetched in these tests ({uri})")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp: Path = tmp_path_factory.mktemp("dispatch")
    built = build_services(support.make_settings(embedded(tmp), tmp))
    yield built
    built.close()


@pytest.fixture(scope="module")
def rp(services: Services) -> RelyingParty:
    return support.create_client(services, grant_types=("client_credentials",))


def _server(services: Services, dispatch: Callable[..., Dispatch] = LoopFirst) -> Any:
    server = IdPAuthorizationServer(services, _no_jwks, dispatch)
    server.tokens.revocations.load()  # as the lifespan does: no look-up needs a thread later
    services.keys.snapshot()  # the signing keys loaded, as a running server's are
    return server


@pytest.fixture
def server(services: Services) -> Any:
    return _server(services)


def _request(path: str, form: dict[str, str], rp: RelyingParty, secret: str | None = None) -> Any:
    basic = base64.b64encode(f"{rp.client_id}:{secret or rp.secret}".encode()).decode()
    headers = Headers({"authorization": "Basic " + basic})
    return StarletteOAuth2Request(
        "POST", support.ISSUER + path, headers, [], list(form.items()), Origin()
    )


def _answer(server: Any, endpoint: str, request: Any) -> tuple[Reply, str]:
    """The strategy's answer (`endpoint`: token, introspect or revoke), and where it was made:
    the thread that called handle_response."""
    made_in: list[int] = []
    handle_response = server.handle_response

    def spy(*reply: Any) -> Reply:
        made_in.append(threading.get_ident())
        return handle_response(*reply)  # type: ignore[no-any-return]

    server.handle_response = spy

    async def run() -> tuple[Reply, int]:
        answer: Reply = await getattr(server.dispatch, endpoint)(request)
        return answer, threading.get_ident()

    reply, loop_thread = anyio.run(run)
    assert len(made_in) == 1
    return reply, LOOP if made_in[0] == loop_thread else THREAD


def _access_token(server: Any, rp: RelyingParty) -> str:
    client = server.query_client(rp.client_id)
    return str(server.tokens.generate("client_credentials", client, None, "gfmis")["access_token"])


CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": "gfmis"}


def test_the_server_runs_loop_first_unless_told(services: Services) -> None:
    assert isinstance(_server(services).dispatch, LoopFirst)
    assert type(_server(services, InThreads).dispatch) is InThreads


def test_client_credentials_of_a_cached_secret_client_are_answered_on_the_loop(
    server: Any, rp: RelyingParty
) -> None:
    assert server.query_client(rp.client_id) is not None  # now in this process's cache
    (status, body, _headers), where = _answer(
        server, "token", _request("/token", CLIENT_CREDENTIALS, rp)
    )
    assert (status, where) == (200, LOOP)
    assert isinstance(body["access_token"], str)  # signed, awaited
    assert server.tokens.check_access_token(body["access_token"]) is not None


def test_a_client_not_in_the_cache_is_answered_in_a_thread(server: Any, rp: RelyingParty) -> None:
    server.forget_client(rp.client_id)
    (status, _body, _headers), where = _answer(
        server, "token", _request("/token", CLIENT_CREDENTIALS, rp)
    )
    assert (status, where) == (200, THREAD)


def test_other_grants_are_answered_in_a_thread(server: Any, rp: RelyingParty) -> None:
    assert server.query_client(rp.client_id) is not None
    refresh = {"grant_type": "refresh_token", "refresh_token": "unknown"}
    (status, body, _headers), where = _answer(server, "token", _request("/token", refresh, rp))
    assert (status, where) == (400, THREAD)
    assert body["error"] == "unauthorized_client"


def test_a_private_key_jwt_client_is_answered_in_a_thread(server: Any, services: Services) -> None:
    jwt_rp = support.create_client(
        services,
        grant_types=("client_credentials",),
        auth_method="private_key_jwt",
        jwks_uri="https://rp.example/jwks",
    )
    assert server.query_client(jwt_rp.client_id) is not None
    form = {**CLIENT_CREDENTIALS, "client_id": jwt_rp.client_id}
    (status, _body, _headers), where = _answer(server, "token", _request("/token", form, jwt_rp))
    assert (status, where) == (401, THREAD)  # no assertion sent: refused by Authlib


def test_introspecting_a_jwt_for_a_cached_client_is_answered_on_the_loop(
    server: Any, rp: RelyingParty
) -> None:
    token = _access_token(server, rp)
    (status, body, _headers), where = _answer(
        server, "introspect", _request("/introspect", {"token": token}, rp)
    )
    assert (status, where) == (200, LOOP)
    assert (body["active"], body["client_id"]) == (True, rp.client_id)


def test_an_unsupported_hint_is_refused_on_the_loop_as_in_a_thread(
    services: Services, rp: RelyingParty
) -> None:
    answers = []
    for dispatch in (LoopFirst, InThreads):
        server = _server(services, dispatch)
        form = {"token": _access_token(server, rp), "token_type_hint": "id_token"}
        answers.append(_answer(server, "introspect", _request("/introspect", form, rp)))
    assert [where for _reply, where in answers] == [LOOP, THREAD]
    assert answers[0][0] == answers[1][0]
    assert answers[0][0][1]["error"] == "unsupported_token_type"


def test_both_strategies_give_the_same_introspection_answers(
    services: Services, rp: RelyingParty
) -> None:
    other = support.create_client(services, grant_types=("client_credentials",))
    issuer = _server(services)
    for token in (_access_token(issuer, rp), _access_token(issuer, other)):
        replies = []
        for dispatch in (LoopFirst, InThreads):
            server = _server(services, dispatch)
            assert server.query_client(rp.client_id) is not None
            request = _request("/introspect", {"token": token}, rp)
            replies.append(_answer(server, "introspect", request))
        assert [where for _reply, where in replies] == [LOOP, THREAD]
        assert replies[0][0] == replies[1][0]


def _count_checks(server: Any) -> list[str]:
    """The tokens checked on the event loop from now on."""
    checked: list[str] = []

    async def check(value: str) -> None:
        checked.append(value)

    server.tokens.check_access_token_async = check
    return checked


def test_a_token_that_is_no_jwt_is_introspected_in_a_thread(server: Any, rp: RelyingParty) -> None:
    checked = _count_checks(server)
    assert server.query_client(rp.client_id) is not None
    request = _request("/introspect", {"token": "a-refresh-token-has-no-dots"}, rp)
    (status, body, _headers), where = _answer(server, "introspect", request)
    assert (status, body, where, checked) == (200, {"active": False}, THREAD, [])


def test_a_wrong_secret_is_refused_in_a_thread_before_any_token_is_checked(
    server: Any, rp: RelyingParty
) -> None:
    checked = _count_checks(server)
    assert server.query_client(rp.client_id) is not None
    request = _request("/introspect", {"token": _access_token(server, rp)}, rp, "wrong")
    (status, body, _headers), where = _answer(server, "introspect", request)
    assert (status, body["error"], where, checked) == (401, "invalid_client", THREAD, [])


def test_revocation_is_answered_in_a_thread(server: Any, rp: RelyingParty) -> None:
    token = _access_token(server, rp)
    assert server.query_client(rp.client_id) is not None
    (status, _body, _headers), where = _answer(
        server, "revoke", _request("/revoke", {"token": token}, rp)
    )
    assert (status, where) == (200, THREAD)
    assert server.tokens.check_access_token(token) is None


def test_in_threads_answers_everything_in_a_thread(services: Services, rp: RelyingParty) -> None:
    server = _server(services, InThreads)
    assert server.query_client(rp.client_id) is not None
    (status, _body, _headers), where = _answer(
        server, "token", _request("/token", CLIENT_CREDENTIALS, rp)
    )
    assert (status, where) == (200, THREAD)


def test_each_servers_grants_use_that_servers_services(services: Services) -> None:
    first = _server(services)
    second = _server(dataclasses.replace(services))
    code = {"grant_type": "authorization_code", "code": "x", "redirect_uri": support.REDIRECT}
    for server in (first, second, first):
        grant = server.get_token_grant(_request("/token", code, RelyingParty("rp", "s")))
        assert grant.services is server.services
        assert grant.tokens is server.tokens
    assert first.services is not second.services


def test_stale_signing_keys_are_reloaded_in_a_thread(server: Any, rp: RelyingParty) -> None:
    """Reloading the key snapshot reads the database: never on the event loop."""
    assert server.query_client(rp.client_id) is not None
    server.services.keys._loaded_at -= 3600  # the refresh interval has passed
    (status, _body, _headers), where = _answer(
        server, "token", _request("/token", CLIENT_CREDENTIALS, rp)
    )
    assert (status, where) == (200, THREAD)
