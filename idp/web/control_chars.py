"""Control characters refused at the edge (issue #11, item 6): a NUL in a query parameter, a
path or a form field reached PostgreSQL (500) or Authlib's error text (500). Every request's
path and query, and the body of a URL-encoded form, are checked before any handler runs
(the rules are idp.domain.validation's bad_url and bad_form); the OAuth endpoints check their
own forms as they parse them (idp.oidc.adapter.read_form)."""

from __future__ import annotations

import orjson
from starlette.types import Message as AsgiMessage
from starlette.types import Receive

from idp.domain.errors import Message
from idp.domain.validation import bad_form, bad_url

FORM_TYPE = b"application/x-www-form-urlencoded"
MAX_FORM = 1_048_576  # larger forms are the handlers' to refuse; they are not scanned whole
REFUSED = Message(
    "the request contains control characters that are not allowed: check it and try again",
)
OWN_FORM_CHECK = frozenset(
    {"/token", "/introspect", "/revoke", "/userinfo", "/authorize", "/par", "/bc-authorize"}
)
API_PREFIXES = (
    "/token",
    "/introspect",
    "/revoke",
    "/userinfo",
    "/par",
    "/bc-authorize",
    "/admin/api/",
    "/push/",
)


def checks_own_form(path: str) -> bool:
    """The OAuth endpoints parse their forms with idp.oidc.adapter.read_form, which refuses
    control characters itself: no second read of the body on their hot path."""
    return path in OWN_FORM_CHECK


def is_form(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"content-type" and value.lstrip().lower().startswith(FORM_TYPE)
        for name, value in headers
    )


def refusal(path: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of the 400 answer: JSON for APIs, a short bilingual page otherwise."""
    if path.startswith(API_PREFIXES):
        body = orjson.dumps({"error": "invalid_request", "error_description": REFUSED.en})
        return [(b"content-type", b"application/json")], body
    text = "<!doctype html><html lang='th'><meta charset='utf-8'><title>400</title>"
    text += f"<h1>{REFUSED.th}</h1><p lang='en'>{REFUSED.en}</p></html>"
    return [(b"content-type", b"text/html; charset=utf-8")], text.encode()


async def read_form(receive: Receive) -> tuple[bytes, Receive]:
    """The form's body (up to MAX_FORM) and a `receive` that hands it to the app unchanged."""
    chunks: list[bytes] = []
    size, more, last = 0, True, None
    while more and size <= MAX_FORM:
        message = await receive()
        if message["type"] != "http.request":
            last = message  # the client went away: the app will hear it
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    pending: list[AsgiMessage] = [{"type": "http.request", "body": body, "more_body": more}]
    if last is not None:
        pending.append(last)

    async def replay() -> AsgiMessage:
        return pending.pop(0) if pending else await receive()

    return body, replay


__all__ = ["bad_form", "bad_url", "checks_own_form", "is_form", "read_form", "refusal"]
