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
    origin_of,
    read_form,
    to_response,
)
from idp.oidc.dpop import ALGS as DPOP_ALGS
from idp.oidc.dpop import DPoPError, bound_key
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


async def backchannel_authentication(request: Request) -> Response:
    """CIBA's backchannel authentication endpoint (idp.oidc.ciba)."""
    prepared = await _oauth_form(request)
    if isinstance(prepared, Response):
        return prepared
    c, oreq = prepared
    name = "backchannel_authentication"
    try:
        reply = await run_in_threadpool(c.server.create_endpoint_response, name, oreq)
    except OAuth2Error as error:  # raised before Authlib's own handling
        reply = c.server.handle_error_response(oreq, error)
    return to_response(*reply)


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


def _dpop_error(error: str, description: str, nonce: str | None = None) -> Response:
    """A refusal of a DPoP presentation (RFC 9449 §7.1), with the algorithms we accept."""
    algs = " ".join(DPOP_ALGS)
    challenge = f'DPoP error="{error}", error_description="{description}", algs="{algs}"'
    headers = {"WWW-Authenticate": challenge, **NO_STORE}
    if nonce:
        headers["DPoP-Nonce"] = nonce
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=401, headers=headers)


def _dpop_refusal(
    c: WebContext, request: Request, access_token: str, client_id: str, jkt: str
) -> Response | None:
    """None when the request's DPoP proof shows the key the access token is bound to."""
    try:
        c.server.dpop.at_resource(
            request.headers.getlist("dpop"),
            request.method,
            c.issuer + request.scope["path"],
            access_token,
            jkt,
            c.server.query_client(client_id),
            origin_of(request),
        )
    except DPoPError as error:
        return _dpop_error(error.error, error.description, error.nonce)
    return None


async def _presented(request: Request, c: WebContext) -> tuple[str | None, bool] | Response:
    """The access token and whether it came with the DPoP scheme, or the refusal. A
    DPoP-bound token is accepted only as `Authorization: DPoP` with its proof (RFC 9449 §7)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "dpop":
        access_token = value.strip()
        signed = c.server.tokens.signed_claims(access_token) if access_token else None
        jkt = bound_key(signed) if signed else None
        if signed is None or jkt is None:
            return _dpop_error("invalid_token", "the access token is not a valid DPoP token")
        client_id = str(signed.get("client_id"))
        refused = await run_in_threadpool(_dpop_refusal, c, request, access_token, client_id, jkt)
        return refused or (access_token, True)
    found = await _userinfo_token(request)
    if isinstance(found, Response):
        return found
    signed = c.server.tokens.signed_claims(found) if found else None
    if signed is not None and bound_key(signed) is not None:
        return _dpop_error("invalid_token", "a DPoP-bound token needs the DPoP scheme and a proof")
    return found, False


async def userinfo(request: Request) -> Response:
    c = ctx(request)
    presented = await _presented(request, c)
    if isinstance(presented, Response):
        return presented
    access_token, dpop = presented
    if not access_token:
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer", **NO_STORE},
        )
    claims = await run_in_threadpool(userinfo_claims, c.server, access_token)
    if claims is None:
        if dpop:
            return _dpop_error("invalid_token", "the access token is not valid")
        return _bearer_error("invalid_token", "the access token is not valid", 401)
    return JSONResponse(claims, headers=NO_STORE)


__all__ = ["OAuth2Error", "introspect", "revoke", "token", "userinfo"]
