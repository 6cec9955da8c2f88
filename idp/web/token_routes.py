"""HTTP handlers of the token, introspection, revocation and userinfo endpoints."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.domain.lifecycle import in_service
from idp.oidc.adapter import (
    NO_STORE,
    BadRequestBody,
    build_request,
    oauth_error,
    read_form,
    to_response,
)
from idp.oidc.claims import release, wants_verified_claims
from idp.oidc.endpoints import CheckedAccessToken, Introspection
from idp.oidc.tokens import grant_is_live
from idp.storage.models import Grant, User
from idp.web.context import WebContext, ctx


async def _oauth_form(request: Request) -> tuple[WebContext, Any] | Response:
    c = ctx(request)
    try:
        form = await read_form(request)
    except BadRequestBody as exc:
        return oauth_error("invalid_request", str(exc))
    return c, build_request(request, c.issuer, form)


async def token(request: Request) -> Response:
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
    if c.server.is_cpu_only(oreq):  # measured: the thread hand-off costs a third of this path
        with c.server.tokens.deferred_signing():
            status, body, headers = c.server.create_token_response(oreq)
        await c.server.tokens.finish_signing(body)  # the signature made in the signer process
        return to_response(status, body, headers)
    result = await run_in_threadpool(c.server.create_token_response, oreq)
    return to_response(*result)


async def introspect(request: Request) -> Response:
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
    token = oreq.form.get("token", "")
    methods = Introspection.CLIENT_AUTH_METHODS
    if token.count(".") == 2 and c.server.authenticate_here(oreq, "introspection", methods):
        # A JWT (refresh tokens have no dots) from a known client, authenticated first: checked
        # on the event loop, the revocation look-up awaited, no database, no thread hand-off.
        checked = await c.server.tokens.check_access_token_async(token)
        oreq.checked_access_token = CheckedAccessToken(token, checked)
        return to_response(*c.server.create_endpoint_response("introspection", oreq))
    result = await run_in_threadpool(c.server.create_endpoint_response, "introspection", oreq)
    return to_response(*result)


async def revoke(request: Request) -> Response:
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
    result = await run_in_threadpool(c.server.create_endpoint_response, "revocation", oreq)
    return to_response(*result)


def _bearer(request: Request, form: list[tuple[str, str]]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return dict(form).get("access_token")


def _userinfo_claims(c: WebContext, access_token: str) -> dict[str, Any] | None:
    """One query for the user and the token's grant; the client comes from the server's cache."""
    checked = c.server.tokens.check_access_token(access_token)
    if checked is None or "openid" not in str(checked.claims.get("scope", "")).split():
        return None
    claims = checked.claims
    client = c.server.query_client(str(claims.get("client_id")))
    if client is None:
        return None
    query = select(User, Grant).where(User.user_id == str(claims["sub"]))
    query = query.outerjoin(Grant, Grant.grant_id == (checked.grant_id or ""))
    with c.services.db.read() as session:
        row = session.execute(query).first()
    if row is None:
        return None
    user, grant = row
    if not in_service(user) or (checked.grant_id and not grant_is_live(grant)):
        return None
    claims_request = grant.claims_request if grant else None
    allowed = client.record.allowed_claims
    released = release(user, claims["scope"], allowed, claims_request, "userinfo")
    if wants_verified_claims(allowed, claims_request, "userinfo"):
        released.update(c.server.verified_claims_of(user.user_id, claims_request, "userinfo"))
    return {"sub": user.user_id, **released}


async def userinfo(request: Request) -> Response:
    c = ctx(request)
    try:
        form = await read_form(request)
    except BadRequestBody as exc:
        return oauth_error("invalid_request", str(exc))
    access_token = _bearer(request, form)
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"', **NO_STORE}
    if not access_token:
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer", **NO_STORE},
        )
    claims = await run_in_threadpool(_userinfo_claims, c, access_token)
    if claims is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers=challenge)
    return JSONResponse(claims, headers=NO_STORE)


__all__ = ["OAuth2Error", "introspect", "revoke", "token", "userinfo"]
