"""The sign-in pages at /login/{txn}: a sequence of pluggable steps (idp.web.step),
then the SSO session at the level that idp.login.assurance gives the factors proven.

The steps are listed once, in idp.bootstrap; nothing here changes when one is added.
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.errors import Message
from idp.login.completion import Verdict, verdict
from idp.login.transaction import LoginTransaction
from idp.web.context import WebContext, ctx
from idp.web.step import SignInStep, is_done, is_ready

EXPIRED = Message(
    "This sign-in has expired. Please start again from the application you were using.",
)
NOT_NOW = Message(
    "This account cannot sign in now. Please contact an officer.",
)
STALE_FORM = Message("The form was invalid or has expired. Please try again.")


def _current_step(request: Request, txn: LoginTransaction) -> SignInStep | None:
    """The first step ready, not done, that applies (in a worker thread: `applies` may ask
    the database, once: idp.web.step.standing)."""
    request.state.standing = {}
    return next(
        (
            step
            for step in ctx(request).steps
            if is_ready(step, txn) and not is_done(step, txn) and step.applies(request, txn)
        ),
        None,
    )


async def login_page(request: Request) -> Response:
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None:
        return c.render.error(request, EXPIRED)
    step = await run_in_threadpool(_current_step, request, txn)
    if step is None:
        return await _finish(request, txn)
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
        return c.render.error(request, STALE_FORM)
    if not c.render.csrf.valid(request, str(form.get("csrf_token") or "")):
        return c.render.error(request, STALE_FORM, status=403)
    step = await run_in_threadpool(_current_step, request, txn)
    if step is None:
        return await _finish(request, txn)
    response = await step.submit(request, txn)
    c.transactions.save(txn)
    if response is not None:
        return response
    if await run_in_threadpool(_current_step, request, txn) is not None:
        return RedirectResponse(f"/login/{txn.id}", status_code=303)
    return await _finish(request, txn)


async def _finish(request: Request, txn: LoginTransaction) -> Response:
    """No step is pending (some may have stopped applying, e.g. a renewal began elsewhere):
    complete the sign-in once, then just go on to where it leads."""
    if txn.fresh:
        return RedirectResponse(destination(txn), status_code=303)
    return await _complete(request, txn)


def destination(txn: LoginTransaction) -> str:
    return txn.return_to or f"/authorize/resume/{txn.id}"


def _judge(c: WebContext, request: Request, txn: LoginTransaction) -> Verdict:
    assert txn.user_id is not None
    return verdict(c.assurance, txn, c.account(txn.user_id), c.sso.current(request))


async def _complete(request: Request, txn: LoginTransaction) -> Response:
    """Every step done: the last check (idp.login.completion), then a fresh SSO session, and
    back to the authorization request."""
    c = ctx(request)
    assert txn.user_id is not None
    judged = await run_in_threadpool(_judge, c, request, txn)
    if judged is Verdict.START_OVER:  # a step-up whose session ended: from the password
        txn.start_over()
        c.transactions.save(txn)
        return RedirectResponse(f"/login/{txn.id}", status_code=303)
    if judged is Verdict.REFUSED:
        c.transactions.finish(txn)
        return c.render.error(request, NOT_NOW, status=403)
    txn.authenticated_at = int(time.time())
    c.transactions.save(txn)
    response = RedirectResponse(destination(txn), status_code=303)
    achieved = c.assurance.achieved(txn.factors_done)
    assert achieved is not None  # the password step comes first
    amr = c.assurance.amr(txn.factors_done, txn.reported_amr)
    c.sso.start(request, response, txn.user_id, achieved, amr, tuple(txn.factors_done))
    return response
