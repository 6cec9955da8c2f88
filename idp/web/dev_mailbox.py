"""The development mailbox: messages as they would have been sent (localhost issuers only)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.web.context import ctx


async def mailbox(request: Request) -> Response:
    c = ctx(request)
    messages = await run_in_threadpool(c.mail.recent)
    return c.render.page(request, "dev_mailbox.html", messages=messages)
