"""HTTP handlers of the token, introspection, revocation and userinfo endpoints."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.oidc.adapter import (
    NO_STORE,
    BadRequestBody,
    build_request,
    oauth_error,
    read_form,
    to_response,
)
from idp.oidc.claims import release
from idp.storage.models import Client, Grant, User
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
    result = await run_in_threadpool(c.server.create_token_response, oreq)
    return to_response(*result)


async def introspect(request: Request) -> Response:
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
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
    with c.services.db.session() as session:
        checked = c.server.tokens.check_access_token(session, access_token)
        if checked is None or "openid" not in str(checked.claims.get("scope", "")).split():
            return None
        claims = checked.claims
        user = session.get(User, claims["sub"])
        client = session.get(Client, claims["client_id"])
        if user is None or user.disabled or client is None:
            return None
        grant = session.get(Grant, checked.grant_id) if checked.grant_id else None
        released = release(
            user,
            claims["scope"],
            client.allowed_claims,
            grant.claims_request if grant else None,
            "userinfo",
        )
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
