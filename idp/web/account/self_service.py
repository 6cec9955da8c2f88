"""The account page: the record, the device, passkeys (idp.web.account.passkeys), signed-in
applications, recent security events, the language, and cancelling Soft Token (manual
chapter 5)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.lifecycle import Ability, Account, NotAllowed
from idp.domain.self_service import CANCEL_REASONS
from idp.domain.thai_dates import format_datetime
from idp.oidc.adapter import origin_of
from idp.web.account import passkeys
from idp.web.context import ctx
from idp.web.csrf import BAD_FORM
from idp.web.i18n import COOKIE
from idp.web.signin.next_step import next_step
from idp.web.signin.required import fresh_session, sign_in_first


async def account_page(request: Request, notice: str | None = None) -> Response:
    c = ctx(request)
    session = c.sso.current(request)
    if session is None:
        return sign_in_first(c, "/account")
    locale = c.render.locale(request)
    overview = await run_in_threadpool(c.accounts.overview, session.user_id)
    account = overview.account
    done = passkeys.NOTICES.get(request.query_params.get("done", ""))
    return c.render.page(
        request,
        "account.html",
        notice=notice or (done.text(locale) if done else None),
        passkeys=await run_in_threadpool(c.passkeys.book.all_of, session.user_id),
        when=lambda d: format_datetime(d, locale),
        reasons={k: m.text(locale) for k, m in CANCEL_REASONS.items()},
        overview=overview,
        may=lambda ability: isinstance(account, Account) and account.may(Ability(ability)),
        next_step=next_step(account) if isinstance(account, Account) else None,
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
    await run_in_threadpool(c.accounts.set_locale, session.user_id, locale)
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
        await run_in_threadpool(
            c.accounts.cancel_soft_token, session.user_id, form["reason"], origin
        )
    except NotAllowed as refused:
        return c.render.error(request, refused.message, 409)
    response = c.render.page(request, "cancelled.html")
    await c.back_channel.sign_out_everywhere(session.user_id, "soft_token_cancelled", origin)
    c.sso.end(request, response)
    return response
