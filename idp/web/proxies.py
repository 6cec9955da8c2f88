"""Reverse proxies we trust: the client address they forward, and the connection's own peer.

uvicorn's own proxy-header handling is off; `apply_forwarded` applies X-Forwarded-For and
X-Forwarded-Proto only when the TCP peer is one of `server.trusted_proxies`, and keeps the
peer in `scope["state"]["peer"]`, so that headers a proxy sets (a verified client certificate)
can be believed only when that proxy really sent them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Scope


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


def from_trusted_proxy(request: Request, trusted: list[str]) -> bool:
    """Did this request reach us directly from one of our reverse proxies?"""
    peer = request.scope.get("state", {}).get("peer")
    return bool(peer) and peer in trusted
