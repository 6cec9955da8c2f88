"""Forgot password pages (manual chapter 4)."""

from __future__ import annotations

import asyncio
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain import recovery
from idp.domain.errors import UserFacingError
from idp.oidc.adapter import origin_of
from idp.web.context import ctx
from idp.web.csrf import BAD_FORM

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
        result = await run_in_threadpool(
            c.forgot.request,
            form.get("user_id", ""),
            form.get("national_id", ""),
            form.get("email", ""),
            origin_of(request),
        )
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


async def code_page(
    request: Request, problem: UserFacingError | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    locale = c.render.locale(request)
    flow = request.path_params["flow"]
    return c.render.page(
        request,
        "forgot_code.html",
        status=status,
        flow=flow,
        resend_wait=await run_in_threadpool(c.forgot.resend_wait, flow),
        problem=problem.message.text(locale) if problem else None,
        sent=recovery.SENT.text(locale),
    )


async def resend(request: Request) -> Response:
    c = ctx(request)
    if await ctx(request).render.csrf.checked_form(request) is None:
        return c.render.error(request, BAD_FORM, 403)
    try:
        await run_in_threadpool(c.forgot.resend, request.path_params["flow"])
    except UserFacingError as problem:
        return await code_page(request, problem, 400)
    return RedirectResponse(f"/forgot/{request.path_params['flow']}", status_code=303)


async def verify(request: Request) -> Response:
    c = ctx(request)
    form = await ctx(request).render.csrf.checked_form(request)
    if form is None:
        return c.render.error(request, BAD_FORM, 403)
    try:
        user_id = await run_in_threadpool(
            c.forgot.complete, request.path_params["flow"], form.get("otp", ""), origin_of(request)
        )
    except UserFacingError as problem:
        return await code_page(request, problem, 400)
    response = c.render.page(request, "forgot_done.html")
    await c.back_channel.sign_out_everywhere(user_id, "password_reset", origin_of(request))
    return response
