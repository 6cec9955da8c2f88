"""The first sign-in step: the user ID and the password (checked by idp.domain.authn, with
lockout; one message for a wrong user ID or password)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.domain.authn import Result
from idp.domain.errors import Message
from idp.login.factors.password import PASSWORD
from idp.login.transaction import LoginTransaction
from idp.oidc.adapter import origin_of
from idp.web.context import ctx

INVALID = Message("The user ID or password is incorrect.")
LOCKED = Message(
    "Too many wrong attempts: sign-in is locked for 5 minutes. Please try again later.",
)


class PasswordStep:
    name = "password"
    needs: tuple[str, ...] = ()
    provides = PASSWORD.name

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        return True

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
            c.passwords.check, username, password, origin_of(request)
        )
        if result is Result.LOCKED:
            return await self.show(request, txn, LOCKED, username)
        if result is Result.INVALID or user is None:
            return await self.show(request, txn, INVALID, username)
        txn.user_id = user.user_id
        txn.proved(self.provides)
        return None
