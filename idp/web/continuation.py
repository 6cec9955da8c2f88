"""Coming back to a relying party's request after a detour (registering Soft Token)."""

from __future__ import annotations

from urllib.parse import urlencode

from idp.domain.secrets import random_token
from idp.web.context import WebContext

CONTINUE_TTL = 86_400


def park(c: WebContext, params: list[tuple[str, str]]) -> str:
    """Keep an authorization request; the token goes into the detour's link."""
    token = random_token(18)
    c.services.store.put("continue:" + token, {"params": params}, CONTINUE_TTL)
    return token


def adopt(c: WebContext, user_id: str, token: str) -> None:
    """The signed-in user took the detour: the request is now theirs to continue."""
    if len(token) < 64 and (pending := c.services.store.consume("continue:" + token)):
        c.services.store.put("reg-continue:" + user_id, pending, CONTINUE_TTL)


def url(c: WebContext, user_id: str) -> str | None:
    pending = c.services.store.get("reg-continue:" + user_id)
    if not pending:
        return None
    # stored as JSON: the pairs come back as lists, which urlencode refuses
    return "/authorize?" + urlencode([(str(k), str(v)) for k, v in pending["params"]])
