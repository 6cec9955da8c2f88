"""RP-Initiated Logout at /logout: the SSO session ends, its grants are revoked, and the
relying parties are told by back-channel logout once the answer has gone."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.errors import Message
from idp.oidc.adapter import BadRequestBody, build_request, origin_of, read_form
from idp.web.context import ctx

BAD_LOGOUT = Message("The sign-out request is invalid")


async def end_session(request: Request) -> Response:
    c = ctx(request)
    try:
        form = await read_form(request)
    except BadRequestBody:
        return c.render.error(request, BAD_LOGOUT)
    oreq = build_request(request, c.issuer, form)
    try:
        validated = await run_in_threadpool(c.server.validate_endpoint_request, "end_session", oreq)
    except OAuth2Error:
        return c.render.error(request, BAD_LOGOUT)
    confirmed = request.method == "POST" and dict(form).get("confirm") == "yes"
    if confirmed and not c.render.csrf.valid(request, dict(form).get("csrf_token")):
        return c.render.error(request, BAD_LOGOUT, status=403)
    session = c.sso.current(request)
    if session is not None and validated.needs_confirmation and not confirmed:
        hidden = [(k, v) for k, v in oreq.params if k not in ("csrf_token", "confirm")]
        return c.render.page(request, "logout_confirm.html", hidden=hidden)
    if validated.redirect_uri:
        response: Response = RedirectResponse(validated.redirect_uri, status_code=303)
    else:
        response = c.render.page(request, "logged_out.html")
    ended = c.sso.end(request, response)
    if ended is not None:
        sign_out = c.back_channel.sign_out
        notices = await run_in_threadpool(sign_out.session_ended, ended, origin_of(request))
        if notices:
            response.background = BackgroundTask(c.back_channel.deliver, notices)
    return response
