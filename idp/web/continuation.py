"""Coming back to a relying party's request after a detour (registering Soft Token)."""

from __future__ import annotations

from urllib.parse import urlencode

from idp.domain.secrets import random_token
from idp.oidc.par import PushedRequests, options_of
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


def waiting(c: WebContext, user_id: str) -> bool:
    """A request waits for this user (the page offers "Continue": GET /continue)."""
    return c.services.store.get("reg-continue:" + user_id) is not None


def url(c: WebContext, user_id: str) -> str | None:
    """Where "Continue" goes, made when it is clicked: the request again, pushed anew (PAR)
    for a client that accepts only pushed requests."""
    pending = c.services.store.get("reg-continue:" + user_id)
    if not pending:
        return None
    # stored as JSON: the pairs come back as lists, which urlencode refuses
    params = [(str(k), str(v)) for k, v in pending["params"]]
    client_id = dict(params).get("client_id", "")
    client = c.server.query_client(client_id)
    if client is not None and options_of(client).require_pushed_authorization_requests:
        request_uri = PushedRequests(c.server).keep(client_id, params)
        return "/authorize?" + urlencode([("client_id", client_id), ("request_uri", request_uri)])
    return "/authorize?" + urlencode(params)
