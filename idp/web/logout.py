"""Sign-out: RP-Initiated Logout at /logout, and back-channel notices to relying parties."""

from __future__ import annotations

import asyncio

from authlib.oauth2 import OAuth2Error
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.errors import Message
from idp.oidc.adapter import BadRequestBody, build_request, origin_of, read_form
from idp.oidc.backchannel import LogoutNotice, deliver
from idp.storage.models import Client, Grant
from idp.web.context import WebContext, ctx
from idp.web.sso import SsoSession

BAD_LOGOUT = Message("คำขอออกจากระบบไม่ถูกต้อง", "The sign-out request is invalid")


def end_sso_grants(c: WebContext, ended: SsoSession, origin: Origin) -> list[LogoutNotice]:
    """Revoke the session's online grants; list the clients to notify by back-channel."""
    with c.services.db.session() as session:
        grants = list(session.scalars(select(Grant).where(Grant.sid == ended.sid)))
        notices = _revoke(c, session, grants, "logout", origin, keep_offline=True)
        audit.record(
            session,
            "logout",
            actor=ended.user_id,
            subject=ended.user_id,
            origin=origin,
            sid=ended.sid,
        )
    return notices


def sign_out_everywhere(
    c: WebContext, user_id: str, reason: str, origin: Origin
) -> list[LogoutNotice]:
    """Every SSO session of the user ends and every grant is revoked (offline ones too); the
    relying parties to tell by back-channel are returned."""
    c.sso.end_all(user_id)
    with c.services.db.session() as session:
        grants = list(
            session.scalars(
                select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
            )
        )
        notices = _revoke(c, session, grants, reason, origin, keep_offline=False)
        audit.record(
            session,
            "sessions.end_all",
            actor=user_id,
            subject=user_id,
            origin=origin,
            reason=reason,
        )
    return notices


def _revoke(
    c: WebContext,
    session: Session,
    grants: list[Grant],
    reason: str,
    origin: Origin,
    keep_offline: bool,
) -> list[LogoutNotice]:
    notices: dict[tuple[str, str | None], LogoutNotice] = {}
    for grant in grants:
        offline = "offline_access" in grant.scope.split()
        if grant.revoked_at is None and not (keep_offline and offline):
            c.server.tokens.revoke_grant(session, grant.grant_id, reason, origin)
        client = session.get(Client, grant.client_id)
        if client is not None and client.backchannel_logout_uri:
            notices[(client.client_id, grant.sid)] = LogoutNotice(
                client.client_id,
                client.backchannel_logout_uri,
                client.id_token_signed_response_alg,
                grant.user_id,
                grant.sid,
            )
    return list(notices.values())


_deliveries: set[asyncio.Task[None]] = set()  # kept referenced until each one ends


async def sign_out_and_notify(c: WebContext, user_id: str, reason: str, origin: Origin) -> int:
    """Sign the user out everywhere and tell every relying party by back-channel logout
    (delivered in the background); the number of relying parties told."""
    notices = await run_in_threadpool(sign_out_everywhere, c, user_id, reason, origin)
    if notices:
        task = asyncio.create_task(deliver(c.services.keys, c.services.db, c.issuer, notices))
        _deliveries.add(task)
        task.add_done_callback(_deliveries.discard)
    return len(notices)


def notify_in_background(c: WebContext, response: Response, notices: list[LogoutNotice]) -> None:
    if notices:
        response.background = BackgroundTask(
            deliver, c.services.keys, c.services.db, c.issuer, notices
        )


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
        notices = await run_in_threadpool(end_sso_grants, c, ended, origin_of(request))
        notify_in_background(c, response, notices)
    return response
