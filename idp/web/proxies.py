"""Reverse proxies we trust: the client address they forward, and the connection's own peer.

uvicorn's own proxy-header handling is off; `apply_forwarded` applies X-Forwarded-For and
X-Forwarded-Proto only when the TCP peer is one of `server.trusted_proxies`, and keeps the
peer in `scope["state"]["peer"]`, so that headers a proxy sets (a verified client certificate)
can be believed only when that proxy really sent them.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.types import Scope

# What a trusted proxy's X-Request-ID may be (nginx's $request_id is 32 hex digits; a UUID
# fits too): anything else, or any value from another peer, is replaced by our own.
WELL_FORMED_ID = re.compile(rb"[0-9A-Za-z-]{8,64}")


def apply_forwarded(scope: Scope, trusted: frozenset[str]) -> None:
    peer = (scope.get("client") or ("", 0))[0]
    scope.setdefault("state", {})["peer"] = peer
    if peer in trusted:
        headers = dict(scope["headers"])
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        if forwarded:
            scope["client"] = (forwarded.split(",")[-1].strip(), 0)
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1")
        if proto in ("http", "https"):
            scope["scheme"] = proto


def assign_request_id(scope: Scope, trusted: frozenset[str]) -> str:
    """One ID per request, in scope["state"]["request_id"] (after apply_forwarded): a trusted
    proxy's well-formed X-Request-ID (so nginx's log and ours agree), else 16 random hex
    digits. A client never chooses it: it would forge or garble the log's reference."""
    state = scope.setdefault("state", {})
    chosen = ""
    if state.get("peer") in trusted:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                chosen = value.decode("ascii") if WELL_FORMED_ID.fullmatch(value) else ""
                break
    state["request_id"] = chosen or secrets.token_hex(8)
    return str(state["request_id"])


def request_id(request: Request) -> str:
    """The request's ID (idp.web.edge gave it); a fresh one outside the edge (unit tests)."""
    state = request.scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = secrets.token_hex(8)
    return str(state["request_id"])


def from_trusted_proxy(request: Request, trusted: list[str]) -> bool:
    """Did this request reach us directly from one of our reverse proxies?"""
    peer = request.scope.get("state", {}).get("peer")
    return bool(peer) and peer in trusted
