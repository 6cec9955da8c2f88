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
    return to_response(*await c.server.dispatch.token(oreq))


async def introspect(request: Request) -> Response:
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
    return to_response(*await c.server.dispatch.introspect(oreq))


async def revoke(request: Request) -> Response:
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
    return to_response(*await c.server.dispatch.revoke(oreq))


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
