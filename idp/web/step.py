"""What a sign-in step is: a page that proves a factor (the password, a push approval) or
that the account's state calls for (a forced password change, a renewal warning).

A step declares the factors it `needs` proven before it, and the factor it `provides` (None for
a step that proves none). The sign-in shows the first step that is ready, not done, and
`applies` to this account now; when none is left, the session starts (idp.web.signin.login).
`applies` runs in a worker thread: it may ask a service that reads the database.
`submit` returns a response to stay on the step (an error, say) or None when the step is done.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from idp.core import Core
from idp.domain.lifecycle import Account
from idp.login.transaction import LoginTransaction


class SignInStep(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def needs(self) -> tuple[str, ...]: ...
    @property
    def provides(self) -> str | None: ...

    def applies(self, request: Request, txn: LoginTransaction) -> bool: ...
    async def show(self, request: Request, txn: LoginTransaction) -> Response: ...
    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None: ...


def is_done(step: SignInStep, txn: LoginTransaction) -> bool:
    if step.provides is not None:
        return step.provides in txn.factors_done
    return step.name in txn.steps_done


def is_ready(step: SignInStep, txn: LoginTransaction) -> bool:
    chosen = txn.extra.get("factor")  # the user picked one of several second factors
    if step.provides is not None and chosen and step.provides not in (chosen, "password"):
        return False
    return all(factor in txn.factors_done for factor in step.needs)


def standing(request: Request, user_id: str) -> Account:
    """Where the signing-in account stands, read once per choice of step: every step's
    `applies` sees the same snapshot (one database read, not one per step)."""
    cache: dict[str, Account] | None = getattr(request.state, "standing", None)
    if cache is None:
        cache = request.state.standing = {}
    if user_id not in cache:
        core: Core = request.app.state.ctx
        cache[user_id] = core.account(user_id)
    return cache[user_id]
