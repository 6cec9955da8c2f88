"""What a page that needs a signed-in user asks: the SSO session, fresh for a change to the
user's authenticators (registering, activating, cancelling), or else a sign-in first that
comes back to the page."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.login.sso import SsoSession
from idp.web.context import WebContext

FRESH_SIGN_IN = 900  # changing authenticators needs a sign-in in the last 15 minutes


def fresh_session(c: WebContext, request: Request) -> SsoSession | None:
    session = c.sso.current(request)
    if session is None or time.time() - session.auth_time > FRESH_SIGN_IN:
        return None
    return session


def sign_in_first(c: WebContext, return_to: str) -> Response:
    """Sign in (the steps at /login), then back to `return_to`."""
    txn = c.transactions.start([], "", return_to=return_to)
    return RedirectResponse(f"/login/{txn.id}", status_code=303)
