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
from idp.oidc.userinfo import userinfo_claims
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
    claims = await run_in_threadpool(userinfo_claims, c.server, access_token)
    if claims is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers=challenge)
    return JSONResponse(claims, headers=NO_STORE)


__all__ = ["OAuth2Error", "introspect", "revoke", "token", "userinfo"]
