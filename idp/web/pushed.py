"""HTTP handler of the pushed authorization request endpoint (RFC 9126, idp.oidc.par)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.oidc.adapter import BadRequestBody, build_request, oauth_error, read_form, to_response
from idp.oidc.par import PushedRequests
from idp.web.context import ctx

TOO_LARGE = "the body is too large"


async def par(request: Request) -> Response:
    c = ctx(request)
    try:
        form = await read_form(request)
    except BadRequestBody as exc:
        status = 413 if str(exc) == TOO_LARGE else 400  # RFC 9126 §2.3
        return oauth_error("invalid_request", str(exc), status)
    oreq = build_request(request, c.issuer, form)
    pushed = PushedRequests(c.server)
    return to_response(*await run_in_threadpool(pushed.push, oreq, form))
