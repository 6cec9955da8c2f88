"""Where the token, introspection and revocation endpoints run: one strategy per server, chosen
when the server is built, so each route calls its endpoint one way (`server.dispatch`).

Authlib's server and our storage hooks are synchronous and may block (database, Redis,
a client's JWKS), so the plain way to run an endpoint is in a worker thread: `InThreads`.
`LoopFirst` runs the same endpoints the same way, except the requests that need nothing that
blocks, which it answers on the event loop: for them the thread hand-off was a third of the
cost (README, "Benchmarks"). Both give the same answers; tests/e2e/test_introspection.py runs
its cases on both paths and tests/unit/test_oidc_dispatch.py pins which path a request takes.
"""

from __future__ import annotations

from typing import Any, Protocol

import anyio.to_thread
from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from idp.oidc.endpoints import Introspection
from idp.oidc.models import OAuthClient
from idp.oidc.tokens import TokenService

Reply = tuple[int, Any, list[tuple[str, str]]]


class Server(Protocol):
    """What a strategy uses of the server that builds it (idp.oidc.server)."""

    tokens: TokenService
    introspection: Introspection

    def create_token_response(self, request: OAuth2Request) -> Reply: ...
    def create_endpoint_response(self, name: str, request: OAuth2Request) -> Reply: ...
    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str
    ) -> Any: ...
    def cached_client(self, client_id: str) -> OAuthClient | None: ...
    def handle_response(self, status: int, body: Any, headers: Any) -> Reply: ...
    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Reply: ...


class Dispatch(Protocol):
    """Answers a token, introspection or revocation request: (status, body, headers)."""

    async def token(self, request: OAuth2Request) -> Reply: ...
    async def introspect(self, request: OAuth2Request) -> Reply: ...
    async def revoke(self, request: OAuth2Request) -> Reply: ...


class InThreads:
    """Every request in a worker thread, through Authlib as it is."""

    def __init__(self, server: Server) -> None:
        self._server = server

    async def token(self, request: OAuth2Request) -> Reply:
        return await anyio.to_thread.run_sync(self._server.create_token_response, request)

    async def introspect(self, request: OAuth2Request) -> Reply:
        return await self._in_thread("introspection", request)

    async def revoke(self, request: OAuth2Request) -> Reply:
        return await self._in_thread("revocation", request)

    async def _in_thread(self, endpoint: str, request: OAuth2Request) -> Reply:
        create = self._server.create_endpoint_response
        return await anyio.to_thread.run_sync(create, endpoint, request)


class LoopFirst(InThreads):
    """On the event loop when a request needs nothing that blocks, else as InThreads:

    - token: `client_credentials` from a client in this process's cache that authenticates
      with a secret, without a DPoP proof (its replay check is a store write); the access
      token's signature is awaited from the signer process;
    - introspection: a JWT (refresh tokens have no dots) from such a client, authenticated
      before any token is checked; the revocation look-up is awaited, and the database (where
      refresh tokens live) is not needed.

    Anything else, a failed authentication included, goes to a thread, where Authlib answers
    it as usual. Revocation always writes to the database: in a thread.
    """

    async def token(self, request: OAuth2Request) -> Reply:
        simple = (
            request.payload.grant_type == "client_credentials" and "dpop" not in request.headers
        )
        if not simple or not self._cached(request):
            return await super().token(request)
        tokens = self._server.tokens
        with tokens.deferred_signing():
            status, body, headers = self._server.create_token_response(request)
        await tokens.finish_signing(body)
        return status, body, headers

    async def introspect(self, request: OAuth2Request) -> Reply:
        token = request.form.get("token", "")
        client = self._authenticated(request) if token.count(".") == 2 else None
        if client is None:
            return await super().introspect(request)
        checked = await self._server.tokens.check_access_token_async(token)
        try:
            reply = self._server.introspection.answer_checked(request, client, checked)
        except OAuth2Error as error:
            return self._server.handle_error_response(request, error)
        return self._server.handle_response(*reply)

    def _authenticated(self, request: OAuth2Request) -> OAuthClient | None:
        """The introspecting client, authenticated here (no I/O), or None if it is not a
        cached secret client or fails to authenticate."""
        if not self._cached(request):
            return None
        methods = Introspection.CLIENT_AUTH_METHODS
        try:
            client: OAuthClient = self._server.authenticate_client(
                request, methods, Introspection.ENDPOINT_NAME
            )
        except OAuth2Error:
            return None
        return client

    def _cached(self, request: OAuth2Request) -> bool:
        """The request's client is in this process's cache and authenticates with a secret,
        and the signing keys are loaded: neither the database nor the network is needed."""
        if self._server.tokens.keys_stale():  # reloading them reads the database
            return False
        client_id = request.payload.client_id or extract_basic_authorization(request.headers)[0]
        client = self._server.cached_client(client_id or "")
        return client is not None and client.record.token_endpoint_auth_method.startswith(
            "client_secret"
        )
