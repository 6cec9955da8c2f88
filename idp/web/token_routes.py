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


FORM_TYPE = "application/x-www-form-urlencoded"


def _header_token(request: Request) -> str | None:
    """The access token in the `Authorization: Bearer` header (RFC 6750 §2.1), if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def _body_is_empty(request: Request) -> bool:
    async for chunk in request.stream():
        if chunk:
            return False
    return True


def _bearer_error(error: str, description: str, status: int) -> Response:
    challenge = f'Bearer error="{error}"'
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"WWW-Authenticate": challenge, **NO_STORE},
    )


async def _userinfo_token(request: Request) -> str | Response | None:
    """The access token of a userinfo request, by exactly one method (RFC 6750 §2): the
    header, with any body or none (OIDC Core §5.3.1 allows GET and POST), or a POST body that
    is a form (§2.2: the content-type rule binds only a token sent in the body)."""
    header = _header_token(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or (header is not None and content_type != FORM_TYPE):
        return header
    if header is None and content_type != FORM_TYPE and await _body_is_empty(request):
        return None  # no credentials at all: a plain challenge (RFC 6750 §3.1)
    try:
        form = await read_form(request)
    except BadRequestBody as exc:
        return _bearer_error("invalid_request", str(exc), 400)
    in_body = [value for key, value in form if key == "access_token"]
    if header is not None and in_body:
        return _bearer_error("invalid_request", "send the access token one way only", 400)
    if len(in_body) > 1:
        return _bearer_error("invalid_request", "access_token is repeated", 400)
    return header or (in_body[0] if in_body else None)


async def userinfo(request: Request) -> Response:
    c = ctx(request)
    access_token = await _userinfo_token(request)
    if isinstance(access_token, Response):
        return access_token
    if not access_token:
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer", **NO_STORE},
        )
    claims = await run_in_threadpool(userinfo_claims, c.server, access_token)
    if claims is None:
        return _bearer_error("invalid_token", "the access token is not valid", 401)
    return JSONResponse(claims, headers=NO_STORE)


__all__ = ["OAuth2Error", "introspect", "revoke", "token", "userinfo"]
