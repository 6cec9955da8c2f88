"""The passkey sign-in step (idp.login.factors.passkey): after the password, the browser asks
the user's authenticator to sign this sign-in's challenge (user verification required); the
server checks the answer. A refusal shows why, in Thai and English, with a new challenge."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.domain.errors import Message
from idp.login.factors.passkey import PASSKEY, PasskeyRefused
from idp.login.factors.password import PASSWORD
from idp.login.transaction import LoginTransaction
from idp.oidc.adapter import origin_of
from idp.web.context import ctx
from idp.web.step import standing

CHALLENGE = "passkey_challenge"  # this sign-in's challenge, kept in the transaction


class PasskeyStep:
    name = "passkey"
    needs = (PASSWORD.name,)
    provides = PASSKEY.name

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        assert txn.user_id is not None  # the password came first
        return PASSKEY.held(standing(request, txn.user_id))

    async def show(
        self, request: Request, txn: LoginTransaction, error: Message | None = None
    ) -> Response:
        c = ctx(request)
        assert txn.user_id is not None
        challenge, options = await run_in_threadpool(c.passkeys.sign_in_options, txn.user_id)
        txn.extra[CHALLENGE] = challenge
        return c.render.page(
            request,
            "passkey.html",
            status=400 if error else 200,
            txn=txn,
            options=options,
            error=error.text(c.render.locale(request)) if error else None,
        )

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        c = ctx(request)
        assert txn.user_id is not None
        form = await request.form(max_fields=10)
        credential = str(form.get("credential") or "")
        challenge = str(txn.extra.pop(CHALLENGE, "") or "")
        if not credential:  # the browser gave nothing (cancelled, no script): ask again
            return await self.show(request, txn)
        try:
            amr = await run_in_threadpool(
                c.passkeys.sign_in, txn.user_id, challenge, credential, origin_of(request)
            )
        except PasskeyRefused as refused:
            return await self.show(request, txn, refused.message)
        txn.proved(self.provides, amr)
        return None
