"""The account page: the record, the device, signed-in applications, recent security events,
the language, and cancelling Soft Token (manual chapter 5)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.audit import Origin
from idp.domain.errors import Message
from idp.domain.lifecycle import Ability, Account, NotAllowed
from idp.domain.thai_dates import format_datetime
from idp.oidc.adapter import origin_of
from idp.storage.models import AuditEvent, Client, Grant, User
from idp.web.activation import fresh_session, sign_in_first
from idp.web.context import WebContext, ctx
from idp.web.i18n import COOKIE
from idp.web.uploads import BAD_FORM

CANCEL_REASONS = {
    "details_changed": Message("ข้อมูลของผู้ใช้งานเปลี่ยนแปลง", "my own details changed"),
    "holder_changed": Message("ผู้ถือ Soft Token ลาออกหรือย้ายหน่วยงาน", "the holder resigned or moved"),
    "email_changed": Message("เปลี่ยนอีเมล", "change of email"),
    "new_phone": Message("เปลี่ยนโทรศัพท์มือถือเครื่องใหม่", "a new phone"),
}
SHOWN_EVENTS = (
    "login.password",
    "account.lockout",
    "password.change",
    "password.reset",
    "device.activate",
    "device.revoke",
    "device.certificate_renewed",
    "push.not_me",
    "sessions.end_all",
    "registration.approve",
    "registration.reject",
)


def _overview(c: WebContext, user_id: str) -> dict[str, object]:
    with c.services.db.read() as session:
        user = session.get(User, user_id)
        grants = session.execute(
            select(Grant, Client.name)
            .join(Client, Client.client_id == Grant.client_id)
            .where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
            .order_by(Grant.created_at.desc())
            .limit(20)
        ).all()
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject == user_id, AuditEvent.action.in_(SHOWN_EVENTS))
                .order_by(AuditEvent.id.desc())
                .limit(20)
            )
        )
        account = c.services.lifecycle.account(session, user) if user else None
    device = c.push.devices.active_for(user_id)
    return {"user": user, "grants": grants, "events": events, "device": device, "account": account}


async def account_page(request: Request, notice: str | None = None) -> Response:
    c = ctx(request)
    session = c.sso.current(request)
    if session is None:
        return sign_in_first(c, "/account")
    locale = c.render.locale(request)
    data = await run_in_threadpool(_overview, c, session.user_id)
    account = data["account"]
    return c.render.page(
        request,
        "account.html",
        notice=notice,
        when=lambda d: format_datetime(d, locale),
        reasons={k: m.text(locale) for k, m in CANCEL_REASONS.items()},
        overview=data,
        may=lambda ability: isinstance(account, Account) and account.may(Ability(ability)),
    )


async def sign_out_all(request: Request) -> Response:
    c = ctx(request)
    session = c.sso.current(request)
    form = await ctx(request).render.csrf.checked_form(request)
    if session is None or form is None:
        return c.render.error(request, BAD_FORM, 403)
    response = RedirectResponse("/account", status_code=303)
    await c.back_channel.sign_out_everywhere(session.user_id, "user_request", origin_of(request))
    return response


async def set_language(request: Request) -> Response:
    c = ctx(request)
    session = c.sso.current(request)
    form = await ctx(request).render.csrf.checked_form(request)
    locale = (form or {}).get("locale")
    if session is None or form is None or locale not in ("th", "en"):
        return c.render.error(request, BAD_FORM, 403)
    await run_in_threadpool(_save_locale, c, session.user_id, locale)
    response = RedirectResponse("/account", status_code=303)
    response.set_cookie(
        COOKIE,
        locale,
        max_age=31_536_000,
        samesite="lax",
        secure=c.services.settings.is_https,
        path="/",
    )
    return response


def _save_locale(c: WebContext, user_id: str, locale: str) -> None:
    with c.services.db.session() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.locale = locale


async def cancel_soft_token(request: Request) -> Response:
    """Manual chapter 5: revoke the device, end every session, tell relying parties, email."""
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/account")
    form = await ctx(request).render.csrf.checked_form(request)
    if form is None or form.get("reason") not in CANCEL_REASONS or form.get("confirm") != "yes":
        return c.render.error(request, BAD_FORM, 403 if form is None else 400)
    origin = origin_of(request)
    try:
        await run_in_threadpool(_cancel, c, session.user_id, form["reason"], origin)
    except NotAllowed as refused:
        return c.render.error(request, refused.message, 409)
    response = c.render.page(request, "cancelled.html")
    await c.back_channel.sign_out_everywhere(session.user_id, "soft_token_cancelled", origin)
    c.sso.end(request, response)
    return response


def _cancel(c: WebContext, user_id: str, reason: str, origin: Origin) -> None:
    with c.services.db.session() as session:
        user, _account = c.services.lifecycle.user(session, user_id)
        c.services.lifecycle.cancel_soft_token(
            session,
            user,
            reason,
            revoke=lambda: c.push.revoke(user_id, "self:" + reason, actor=user_id),
            enqueue=c.mail.enqueue,
            message=CANCEL_REASONS[reason],
            link=c.issuer + "/register",
            origin=origin,
        )
    c.mail.wake()
