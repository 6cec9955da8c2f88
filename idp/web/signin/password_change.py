"""The forced password change (manual chapter 3): after the first Soft Token sign-in and after
any reset, before a relying party gets a token. Then every session ends and the user signs in
again with the new password."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.domain import password_policy
from idp.domain.errors import UserFacingError
from idp.domain.lifecycle import Ability
from idp.login.factors.password import PASSWORD
from idp.login.transaction import LoginTransaction
from idp.oidc.adapter import origin_of
from idp.web.context import ctx
from idp.web.step import standing


class PasswordChangeStep:
    name = "password_change"
    needs = (PASSWORD.name,)
    provides = None

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        if txn.user_id is None:
            return False
        return standing(request, txn.user_id).may(Ability.CHANGE_PASSWORD)

    async def show(
        self, request: Request, txn: LoginTransaction, problem: UserFacingError | None = None
    ) -> Response:
        c = ctx(request)
        locale = c.render.locale(request)
        return c.render.page(
            request,
            "change_password.html",
            status=400 if problem else 200,
            txn=txn,
            min_length=password_policy.MIN_LENGTH,
            problem=problem.message.text(locale) if problem else None,
            problem_field=problem.field if problem else None,
        )

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        c = ctx(request)
        form = {k: str(v) for k, v in (await request.form(max_fields=10)).items()}
        try:
            await run_in_threadpool(
                c.accounts.change_password,
                str(txn.user_id),
                form.get("current_password", ""),
                form.get("new_password", ""),
                form.get("confirm_password", ""),
                origin_of(request),
            )
        except UserFacingError as problem:
            return await self.show(request, txn, problem)
        user_id = str(txn.user_id)
        txn.start_over()  # sign in again, with the new password
        response = c.render.page(request, "password_changed.html", txn=txn)
        await c.back_channel.sign_out_everywhere(user_id, "password_change", origin_of(request))
        return response
