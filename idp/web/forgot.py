"""Forgot password pages (manual chapter 4)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain import recovery
from idp.domain.errors import UserFacingError
from idp.domain.recovery import ResetRequest
from idp.domain.thai_dates import format_datetime
from idp.oidc.adapter import origin_of
from idp.web.context import WebContext, ctx
from idp.web.uploads import BAD_FORM

ANSWER_FLOOR = 0.25  # seconds: longer than the slowest matching request takes


async def forgot_page(request: Request) -> Response:
    return ctx(request).render.page(request, "forgot.html")


async def forgot_submit(request: Request) -> Response:
    c = ctx(request)
    form = await ctx(request).render.csrf.checked_form(request)
    if form is None:
        return c.render.error(request, BAD_FORM, 403)
    started = time.monotonic()
    try:
        result = await run_in_threadpool(_request, c, form, request)
        # The same time whether or not the details matched (the work differs: a code is
        # emailed only to a match): no account enumeration by the clock.
        await asyncio.sleep(max(0.0, ANSWER_FLOOR - (time.monotonic() - started)))
    except UserFacingError as problem:
        return c.render.page(
            request,
            "forgot.html",
            status=429,
            problem=problem.message.text(c.render.locale(request)),
        )
    return RedirectResponse(f"/forgot/{result.flow_id}", status_code=303)


def _request(c: WebContext, form: dict[str, str], request: Request) -> ResetRequest:
    user_id = form.get("user_id", "")
    with c.services.db.session() as session:
        result = c.recovery.request(
            session, user_id, form.get("national_id", ""), form.get("email", ""), origin_of(request)
        )
        _send_code(c, session, result, user_id.strip().upper())
    c.mail.wake()
    return result


def _send_code(c: WebContext, session: Session, result: ResetRequest, user_id: str) -> None:
    if result.code is None or result.email is None:
        return
    expires = datetime.fromtimestamp(datetime.now(UTC).timestamp() + recovery.FLOW_TTL, UTC)
    c.mail.enqueue(
        session,
        "reset_otp",
        result.email,
        otp=result.code,
        user_id=user_id,
        expires_th=format_datetime(expires, "th"),
        expires_en=format_datetime(expires, "en"),
    )


async def code_page(
    request: Request, problem: UserFacingError | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    locale = c.render.locale(request)
    return c.render.page(
        request,
        "forgot_code.html",
        status=status,
        flow=request.path_params["flow"],
        problem=problem.message.text(locale) if problem else None,
        sent=recovery.SENT.text(locale),
    )


async def resend(request: Request) -> Response:
    c = ctx(request)
    if await ctx(request).render.csrf.checked_form(request) is None:
        return c.render.error(request, BAD_FORM, 403)
    try:
        await run_in_threadpool(_resend, c, request.path_params["flow"])
    except UserFacingError as problem:
        return await code_page(request, problem, 400)
    return RedirectResponse(f"/forgot/{request.path_params['flow']}", status_code=303)


def _resend(c: WebContext, flow_id: str) -> None:
    result = c.recovery.resend(flow_id)
    with c.services.db.session() as session:
        flow = c.services.store.get("forgot:" + flow_id) or {}
        _send_code(c, session, result, str(flow.get("user_id") or ""))
    c.mail.wake()


async def verify(request: Request) -> Response:
    c = ctx(request)
    form = await ctx(request).render.csrf.checked_form(request)
    if form is None:
        return c.render.error(request, BAD_FORM, 403)
    try:
        user_id = await run_in_threadpool(
            _complete, c, request.path_params["flow"], form.get("otp", ""), request
        )
    except UserFacingError as problem:
        return await code_page(request, problem, 400)
    response = c.render.page(request, "forgot_done.html")
    await c.back_channel.sign_out_everywhere(user_id, "password_reset", origin_of(request))
    return response


def _complete(c: WebContext, flow_id: str, code: str, request: Request) -> str:
    origin = origin_of(request)
    with c.services.db.session() as session:
        user, password, email = c.recovery.complete(session, flow_id, code, origin)
        now = datetime.now(UTC)
        c.mail.enqueue(session, "password_new", email, user_id=user.user_id, password=password)
        c.mail.enqueue(
            session,
            "password_reset_notice",
            email,
            user_id=user.user_id,
            ip=origin.ip or "-",
            when_th=format_datetime(now, "th"),
            when_en=format_datetime(now, "en"),
        )
        user_id = str(user.user_id)
    c.mail.wake()
    return user_id
