"""Login by Token (manual chapter 0): legacy GFMIS token-key users get initial Soft Token
credentials. The certificate the user presented (read by .certificate) must match the
fingerprint on file. The initial password is shown once (never emailed) and works for one
sign-in, which forces a password change and leads on to registration step 1."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.domain.errors import Message
from idp.oidc.adapter import origin_of
from idp.web.context import ctx
from idp.web.csrf import BAD_FORM
from idp.web.token_login.certificate import presented_fingerprint

NO_TOKEN = Message(
    "no GFMIS token-key certificate was presented: insert your token key and try again",
)
UNKNOWN_TOKEN = Message(
    (
        "this certificate does not belong to a user on file: contact the "
        "Comptroller General's Department"
    ),
)


async def token_page(request: Request) -> Response:
    c = ctx(request)
    fingerprint = presented_fingerprint(c, request)
    if fingerprint is None:
        return c.render.error(request, NO_TOKEN, 401)
    user = await run_in_threadpool(c.token_login.holder, fingerprint)
    if user is None:
        return c.render.error(request, UNKNOWN_TOKEN, 403)
    return c.render.page(request, "token_login.html", user=user, password=None)


async def issue_initial_password(request: Request) -> Response:
    c = ctx(request)
    if await c.render.csrf.checked_form(request, max_fields=5) is None:
        return c.render.error(request, BAD_FORM, 403)
    fingerprint = presented_fingerprint(c, request)
    if fingerprint is None:
        return c.render.error(request, NO_TOKEN, 401)
    issued = await run_in_threadpool(
        c.token_login.issue_initial_password, fingerprint, origin_of(request)
    )
    if issued is None:
        return c.render.error(request, UNKNOWN_TOKEN, 403)
    user_id, password = issued
    response = c.render.page(request, "token_login.html", user_id=user_id, password=password)
    response.headers["Cache-Control"] = "no-store"
    return response
