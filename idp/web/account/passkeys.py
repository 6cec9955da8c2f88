"""Passkeys on the account page: add one (after a push step-up: a sign-in approved on the
phone in the last 15 minutes), rename, remove. The ceremony is idp.login.factors.passkey,
the records idp.domain.passkeys (each change audited and emailed)."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.errors import Message, UserFacingError
from idp.login.factors.passkey import PasskeyRefused
from idp.login.factors.password import PASSWORD
from idp.login.factors.push import for_mode
from idp.login.sso import SsoSession
from idp.oidc.adapter import origin_of
from idp.web.context import WebContext, ctx
from idp.web.csrf import BAD_FORM
from idp.web.signin.required import FRESH_SIGN_IN, sign_in_first

NEW = "/account/passkeys/new"
ADDED = Message("The passkey was added.")
RENAMED = Message("The passkey was renamed.")
REMOVED = Message("The passkey was removed.")
NEEDS_RECENT = Message(
    "Sign in again with Soft Token or a passkey before changing your passkeys.",
)


def _push_name(c: WebContext) -> str:
    return for_mode(c.services.settings.push.mode).name


def _recent(session: SsoSession | None) -> bool:
    return session is not None and time.time() - session.auth_time <= FRESH_SIGN_IN


def _pushed_recently(c: WebContext, session: SsoSession | None) -> bool:
    """The push step-up adding a passkey needs: approved on the phone within 15 minutes."""
    return _recent(session) and session is not None and _push_name(c) in session.factors


def _push_step_up(c: WebContext, session: SsoSession) -> Response:
    """Keep the session's password, prove the push again, then come back to the page."""
    txn = c.transactions.start(
        [],
        "",
        return_to=NEW,
        user_id=session.user_id,
        factors_done=[PASSWORD.name],
        session_sid=session.sid,
        extra={"factor": _push_name(c)},
    )
    return RedirectResponse(f"/login/{txn.id}", status_code=303)


async def new_passkey(request: Request, error: Message | None = None) -> Response:
    """The page that creates a passkey in the browser (after the push step-up)."""
    c = ctx(request)
    session = c.sso.current(request)
    if session is None:
        return sign_in_first(c, "/account")
    if not _pushed_recently(c, session):
        return _push_step_up(c, session)
    overview = await run_in_threadpool(c.accounts.overview, session.user_id)
    user = overview.user
    name = f"{user.name_th} ({user.user_id})" if user else session.user_id
    locale = c.render.locale(request)
    try:
        options = await run_in_threadpool(c.passkeys.registration_options, session.user_id, name)
    except PasskeyRefused as refused:
        return c.render.error(request, refused.message, 409)
    return c.render.page(
        request,
        "passkey_add.html",
        status=400 if error else 200,
        options=options,
        error=error.text(locale) if error else None,
    )


async def add_passkey(request: Request) -> Response:
    c = ctx(request)
    session = c.sso.current(request)
    form = await c.render.csrf.checked_form(request)
    if session is None or form is None:
        return c.render.error(request, BAD_FORM, 403)
    if not _pushed_recently(c, session):
        return _push_step_up(c, session)
    credential, name = str(form.get("credential") or ""), str(form.get("name") or "")
    if not credential:
        return await new_passkey(request)
    try:
        await run_in_threadpool(
            c.passkeys.register, session.user_id, credential, name, origin_of(request)
        )
    except PasskeyRefused as refused:
        return await new_passkey(request, refused.message)
    except UserFacingError as refused:  # a bad name, too many passkeys
        return await new_passkey(request, refused.message)
    return RedirectResponse("/account?done=passkey_added", status_code=303)


async def rename_passkey(request: Request) -> Response:
    return await _change(request, rename=True)


async def remove_passkey(request: Request) -> Response:
    return await _change(request, rename=False)


async def _change(request: Request, rename: bool) -> Response:
    """Rename or remove: a sign-in at the push level or above in the last 15 minutes."""
    c = ctx(request)
    session = c.sso.current(request)
    form = await c.render.csrf.checked_form(request)
    if session is None or form is None:
        return c.render.error(request, BAD_FORM, 403)
    if not _recent(session) or len(session.factors) < 2:
        return c.render.error(request, NEEDS_RECENT, 403)
    credential_id = str(form.get("credential_id") or "")[:1400]
    origin = origin_of(request)
    book = c.passkeys.book
    try:
        if rename:
            await run_in_threadpool(
                book.rename,
                session.user_id,
                credential_id,
                str(form.get("name") or ""),
                session.user_id,
                origin,
            )
        else:
            await run_in_threadpool(
                book.remove, session.user_id, credential_id, session.user_id, origin
            )
    except UserFacingError as refused:
        return c.render.error(request, refused.message, 400)
    done = "passkey_renamed" if rename else "passkey_removed"
    return RedirectResponse(f"/account?done={done}", status_code=303)


NOTICES = {"passkey_added": ADDED, "passkey_renamed": RENAMED, "passkey_removed": REMOVED}
