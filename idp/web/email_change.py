"""The link an officer's email change sends to the new address: opening it confirms it."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.domain import audit
from idp.domain.errors import Message
from idp.domain.lifecycle import latest_registration
from idp.oidc.adapter import origin_of
from idp.storage.models import User
from idp.web.context import WebContext, ctx

EXPIRED = Message("ลิงก์นี้หมดอายุหรือถูกใช้แล้ว", "this link has expired or was used")


async def confirm_email(request: Request) -> Response:
    c = ctx(request)
    token = request.path_params["token"]
    changed = await run_in_threadpool(_confirm, c, token, request) if len(token) < 64 else None
    if changed is None:
        return c.render.error(request, EXPIRED)
    return c.render.page(request, "email_changed.html", email=changed)


def _confirm(c: WebContext, token: str, request: Request) -> str | None:
    pending = c.services.store.consume("email-change:" + token)
    if pending is None:
        return None
    with c.services.db.session() as session:
        user = session.get(User, pending["user_id"])
        if user is None:
            return None
        user.email = str(pending["email"])
        user.updated_at = datetime.now(UTC)
        latest = latest_registration(session, user.user_id)
        if latest is not None and latest.email_verified_at is not None:
            latest.email, latest.email_verified_at = user.email, datetime.now(UTC)
        audit.record(
            session,
            "user.email_changed",
            actor=user.user_id,
            subject=user.user_id,
            origin=origin_of(request),
        )
        return user.email
