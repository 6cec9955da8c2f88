"""After the password, a user who holds more than one second factor chooses which to use now
(the phone's push approval or a passkey). Only the factors that reach the level the request
asks for are offered (idp.login.assurance.able: a passkey alone for the phishing-resistant
level); when only one does, it is chosen without asking. The steps of the other factors then
stand aside (idp.web.step.is_ready)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.login.factors.password import PASSWORD
from idp.login.transaction import LoginTransaction
from idp.web.context import WebContext, ctx
from idp.web.step import standing


def _choices(c: WebContext, txn: LoginTransaction) -> tuple[str, ...]:
    held = c.second_factors(txn.user_id) if txn.user_id else ()
    return c.assurance.able(held, txn.wanted_acr)


class ChooseFactorStep:
    name = "choose_factor"
    needs = (PASSWORD.name,)
    provides = None

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        if txn.extra.get("factor") or len(txn.factors_done) > 1:
            return False
        assert txn.user_id is not None  # the password came first
        assurance = ctx(request).assurance
        held = assurance.holds(standing(request, txn.user_id))
        able = assurance.able(held, txn.wanted_acr)
        if len(able) == 1 and len(held) > 1:  # one factor reaches what is asked: no question
            txn.extra["factor"] = able[0]
            return False
        return len(able) > 1

    async def show(self, request: Request, txn: LoginTransaction, status: int = 200) -> Response:
        c = ctx(request)
        choices = await run_in_threadpool(_choices, c, txn)
        return c.render.page(
            request,
            "choose_factor.html",
            status=status,
            txn=txn,
            factors=[c.assurance.factor(name) for name in choices],
        )

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        c = ctx(request)
        chosen = str((await request.form(max_fields=10)).get("factor") or "")
        if chosen not in await run_in_threadpool(_choices, c, txn):
            return await self.show(request, txn, status=400)
        txn.extra["factor"] = chosen
        return None
