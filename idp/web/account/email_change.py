"""The link an officer's email change sends to the new address: opening it confirms it."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.domain.errors import Message
from idp.oidc.adapter import origin_of
from idp.web.context import ctx

EXPIRED = Message("this link has expired or was used")


async def confirm_email(request: Request) -> Response:
    c = ctx(request)
    token = request.path_params["token"]
    changed = None
    if len(token) < 64:
        changed = await run_in_threadpool(c.accounts.confirm_email, token, origin_of(request))
    if changed is None:
        return c.render.error(request, EXPIRED)
    return c.render.page(request, "email_changed.html", email=changed)
