"""The hosted sign-in: a sequence of pluggable steps, then the SSO session.

A step is anything with `name`, `pending(txn)`, `show(request, txn)` and `submit(request, txn)`.
`submit` returns a response to stay on the step (an error, say) or None when the step is done.
Later issues add steps (push approval, forced password change, renewal warning) to the list
that create_app builds; nothing here changes.
"""

from __future__ import annotations

import time
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain import acr
from idp.domain.authn import Result, authenticate
from idp.domain.errors import Message
from idp.oidc.adapter import origin_of
from idp.web.context import ctx
from idp.web.transactions import LoginTransaction

INVALID = Message("รหัสผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "The user ID or password is incorrect.")
LOCKED = Message(
    "ใส่รหัสผ่านผิดเกินกำหนด บัญชีถูกระงับชั่วคราว 5 นาที กรุณาลองใหม่ภายหลัง",
    "Too many wrong attempts: sign-in is locked for 5 minutes. Please try again later.",
)
EXPIRED = Message(
    "หมดเวลาการเข้าสู่ระบบ กรุณาเริ่มใหม่จากระบบที่ต้องการใช้งาน",
    "This sign-in has expired. Please start again from the application you were using.",
)
BAD_FORM = Message(
    "คำขอไม่ถูกต้องหรือหมดอายุ กรุณาลองใหม่", "The form was invalid or has expired. Please try again."
)


class SignInStep(Protocol):
    name: str

    def pending(self, request: Request, txn: LoginTransaction) -> bool: ...
    async def show(self, request: Request, txn: LoginTransaction) -> Response: ...
    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None: ...


class PasswordStep:
    name = "password"

    def pending(self, request: Request, txn: LoginTransaction) -> bool:
        return self.name not in txn.done

    async def show(
        self,
        request: Request,
        txn: LoginTransaction,
        error: Message | None = None,
        username: str = "",
    ) -> Response:
        c = ctx(request)
        locale = c.render.locale(request)
        return c.render.page(
            request,
            "login.html",
            status=401 if error else 200,
            txn=txn,
            username=username,
            error=error.text(locale) if error else None,
        )

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        c = ctx(request)
        form = await request.form(max_fields=10)
        username = str(form.get("username") or "")[:64]
        password = str(form.get("password") or "")[:1024]
        result, user = await run_in_threadpool(
            authenticate, c.services.db, c.lockout, username, password, origin_of(request)
        )
        if result is Result.LOCKED:
            return await self.show(request, txn, LOCKED, username)
        if result is Result.INVALID or user is None:
            return await self.show(request, txn, INVALID, username)
        txn.user_id = user.user_id
        txn.amr = sorted({*txn.amr, "pwd"})
        txn.done.append(self.name)
        return None


def _current_step(request: Request, txn: LoginTransaction) -> SignInStep | None:
    return next((step for step in ctx(request).steps if step.pending(request, txn)), None)


async def login_page(request: Request) -> Response:
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None:
        return c.render.error(request, EXPIRED)
    step = _current_step(request, txn)
    if step is None:
        return _finish(request, txn)
    response = await step.show(request, txn)
    c.transactions.save(txn)  # a step may have noted something (a challenge, say)
    return response


async def login_submit(request: Request) -> Response:
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None:
        return c.render.error(request, EXPIRED)
    try:
        form = await request.form(max_fields=10)
    except Exception:
        return c.render.error(request, BAD_FORM)
    if not c.render.csrf.valid(request, str(form.get("csrf_token") or "")):
        return c.render.error(request, BAD_FORM, status=403)
    step = _current_step(request, txn)
    if step is None:
        return _finish(request, txn)
    response = await step.submit(request, txn)
    c.transactions.save(txn)
    if response is not None:
        return response
    if _current_step(request, txn) is not None:
        return RedirectResponse(f"/login/{txn.id}", status_code=303)
    return _finish(request, txn)


def _finish(request: Request, txn: LoginTransaction) -> Response:
    """No step is pending (some may have stopped applying, e.g. a renewal began elsewhere):
    complete the sign-in once, then just go on to where it leads."""
    if txn.authenticated_at is not None and txn.authenticated_at >= txn.created:
        return RedirectResponse(destination(txn), status_code=303)
    return _complete(request, txn)


def destination(txn: LoginTransaction) -> str:
    return txn.return_to or f"/authorize/resume/{txn.id}"


def _complete(request: Request, txn: LoginTransaction) -> Response:
    """Every step done: start a fresh SSO session and go back to the authorization request."""
    c = ctx(request)
    assert txn.user_id is not None
    txn.authenticated_at = int(time.time())
    c.transactions.save(txn)
    response = RedirectResponse(destination(txn), status_code=303)
    achieved = str(txn.extra.get("acr", acr.ACR_PASSWORD))
    c.sso.start(
        response, txn.user_id, achieved, txn.amr, previous=request.cookies.get(c.sso.cookie)
    )
    return response
