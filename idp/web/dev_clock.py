"""The development clock (localhost issuers with development.movable_clock only): move the
lifecycle clock forward to show the renewal warning and the forced renewal, and run the
scheduled jobs (renewal reminders) at the moved time."""

from __future__ import annotations

from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.errors import Message
from idp.domain.thai_dates import format_datetime
from idp.jobs import run_all
from idp.web.context import ctx
from idp.web.csrf import BAD_FORM

MAX_DAYS = 3650
BAD_DAYS = Message("days must be a whole number from 1 to {MAX_DAYS}", MAX_DAYS=MAX_DAYS)


async def clock_page(request: Request, notice: str | None = None, status: int = 200) -> Response:
    c = ctx(request)
    clock = c.services.clock
    locale = c.render.locale(request)
    return c.render.page(
        request,
        "dev_clock.html",
        status=status,
        now=format_datetime(clock.now(), locale),
        offset_days=round(clock.offset.total_seconds() / 86_400, 2),
        notice=notice,
    )


async def move_clock(request: Request) -> Response:
    c = ctx(request)
    form = await c.render.csrf.checked_form(request, max_fields=5)
    if form is None:
        return c.render.error(request, BAD_FORM, 403)
    locale = c.render.locale(request)
    if form.get("action") == "jobs":
        result = await run_in_threadpool(run_all, c.services, c.push, c.mail)
        return await clock_page(request, notice=str(result))
    raw = form.get("days", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        return await clock_page(request, notice=BAD_DAYS.text(locale), status=400)
    c.services.clock.advance(timedelta(days=int(raw)))
    return RedirectResponse("/dev/clock", status_code=303)
