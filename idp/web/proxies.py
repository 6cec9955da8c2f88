"""Reverse proxies we trust: the client address they forward, and the connection's own peer.

uvicorn's own proxy-header handling is off; `apply_forwarded` applies X-Forwarded-For and
X-Forwarded-Proto only when the TCP peer is one of `server.trusted_proxies` (addresses, or
networks in CIDR notation for proxies whose address changes, as an ingress controller's pods'
do), and keeps the peer in `scope["state"]["peer"]`, so that headers a proxy sets (a verified
client certificate) can be believed only when that proxy really sent them.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import Scope

# What a trusted proxy's X-Request-ID may be (nginx's $request_id is 32 hex digits; a UUID
# fits too): anything else, or any value from another peer, is replaced by our own.
WELL_FORMED_ID = re.compile(rb"[0-9A-Za-z-]{8,64}")


class TrustedProxies:
    """`server.trusted_proxies`: exact addresses and networks (`10.42.0.0/16`, `fd00::/8`).
    A peer is looked up once per distinct address (a server sees few peers), then remembered."""

    MEMORY = 1024  # distinct peers remembered; more only means the networks are checked again

    def __init__(self, entries: Iterable[str]) -> None:
        # server.trusted_proxies was checked when the settings were read
        self._networks = [ipaddress.ip_network(entry.strip()) for entry in entries]
        self._seen: dict[str, bool] = {}

    def __contains__(self, peer: object) -> bool:
        if not isinstance(peer, str) or not peer:
            return False
        known = self._seen.get(peer)
        if known is None:
            known = self._match(peer)
            if len(self._seen) < self.MEMORY:
                self._seen[peer] = known
        return known

    def _match(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:  # a Unix socket's peer, a test client's name: never a proxy
            return False
        return any(address in network for network in self._networks)

    def __bool__(self) -> bool:
        return bool(self._networks)


def apply_forwarded(scope: Scope, trusted: TrustedProxies) -> None:
    peer = (scope.get("client") or ("", 0))[0]
    state = scope.setdefault("state", {})
    state["peer"] = peer
    state["from_proxy"] = peer in trusted  # decided once, here, for the whole request
    if state["from_proxy"]:
        headers = dict(scope["headers"])
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        if forwarded:
            scope["client"] = (forwarded.split(",")[-1].strip(), 0)
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1")
        if proto in ("http", "https"):
            scope["scheme"] = proto


def assign_request_id(scope: Scope) -> str:
    """One ID per request, in scope["state"]["request_id"] (after apply_forwarded): a trusted
    proxy's well-formed X-Request-ID (so nginx's log and ours agree), else 16 random hex
    digits. A client never chooses it: it would forge or garble the log's reference."""
    state = scope.setdefault("state", {})
    chosen = ""
    if state.get("from_proxy") is True:
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


def from_trusted_proxy(request: Request) -> bool:
    """Did this request reach us directly from one of our reverse proxies (as the edge found
    when it came in; a request that did not pass the edge did not)?"""
    return request.scope.get("state", {}).get("from_proxy") is True
