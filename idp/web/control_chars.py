"""Control characters refused at the edge (issue #11, item 6): a NUL in a query parameter, a
path or a form field reached PostgreSQL (500) or Authlib's error text (500). Every request's
path and query, and the body of a URL-encoded form, are checked before any handler runs; a
form may keep TAB, LF and CR (a multi-line text), nothing else below space, and no DEL."""

from __future__ import annotations

import re

import orjson
from starlette.types import Message as AsgiMessage
from starlette.types import Receive

from idp.domain.errors import Message

IN_URL = re.compile(rb"%(?:[01][0-9A-Fa-f]|7[Ff])|[\x00-\x1f\x7f]")
IN_FORM = re.compile(rb"%(?:0[0-8BbCcEeFf]|1[0-9A-Fa-f]|7[Ff])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM_TYPE = b"application/x-www-form-urlencoded"
MAX_FORM = 1_048_576  # larger forms are the handlers' to refuse; they are not scanned whole
REFUSED = Message(
    "คำขอมีอักขระควบคุมที่ไม่อนุญาต กรุณาตรวจสอบข้อมูลแล้วลองใหม่",
    "the request contains control characters that are not allowed: check it and try again",
)
API_PREFIXES = ("/token", "/introspect", "/revoke", "/userinfo", "/admin/api/", "/push/")


def bad_url(path: str, query: bytes) -> bool:
    """A control character in the decoded path or anywhere in the query string."""
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path) or bool(IN_URL.search(query))


def bad_form(body: bytes) -> bool:
    return bool(IN_FORM.search(body))


def is_form(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"content-type" and value.startswith(FORM_TYPE) for name, value in headers)


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
