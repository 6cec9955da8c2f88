"""Activating the Soft Token app (manual 2.5): a QR code on the desktop, status polled."""

from __future__ import annotations

import io

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from idp.domain.lifecycle import Ability
from idp.web import continuation
from idp.web.context import WebContext, ctx
from idp.web.signin.required import fresh_session, sign_in_first
from push_auth.activation import Activation
from push_auth.errors import PushError


async def activate_page(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(
            c, "/activate" + (f"?{request.url.query}" if request.url.query else "")
        )
    if token := request.query_params.get("next"):  # from an application that needs Soft Token
        continuation.adopt(c, session.user_id, token)
    account = await run_in_threadpool(c.account, session.user_id)
    if account.has_device:
        waiting = await run_in_threadpool(continuation.waiting, c, session.user_id)
        return c.render.page(
            request, "activated.html", continue_url="/continue" if waiting else None
        )
    try:
        activation = await run_in_threadpool(_pending_or_new, c, session.user_id)
    except PushError as exc:
        problem = exc.th if c.render.locale(request) == "th" else exc.en
        return c.render.page(
            request,
            "activate.html",
            problem=problem,
            register=account.may(Ability.REGISTER),
            status=403,
        )
    return c.render.page(
        request,
        "activate.html",
        code=activation.code,
        qr_data_uri=segno.make(activation.qr_text, error="m").svg_data_uri(scale=6),
    )


def _pending_or_new(c: WebContext, user_id: str) -> Activation:
    return c.push.current_activation(user_id) or c.push.start_activation(user_id)


async def activation_qr_png(request: Request) -> Response:
    """The same QR code as a PNG image (for the reference authenticator's `activate FILE`)."""
    c = ctx(request)
    session = fresh_session(c, request)
    activation = c.push.current_activation(session.user_id) if session else None
    if activation is None:
        return Response(status_code=404)
    buffer = io.BytesIO()
    segno.make(activation.qr_text, error="m").save(buffer, kind="png", scale=6)
    return Response(
        buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"}
    )


async def activation_status(request: Request) -> Response:
    c = ctx(request)
    session = c.sso.current(request)
    if session is None:
        return JSONResponse({"status": "gone"}, status_code=401)
    status = await run_in_threadpool(c.push.activation_status, session.user_id)
    return JSONResponse({"status": status}, headers={"Cache-Control": "no-store"})


async def continue_request(request: Request) -> Response:
    """ "Continue" after the detour: back to the relying party's request (made now: a pushed
    request lives a minute), or the account page when none waits."""
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/activate")
    target = await run_in_threadpool(continuation.url, c, session.user_id)
    return RedirectResponse(target or "/account", status_code=303)
