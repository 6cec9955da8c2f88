"""A relying party's back-channel logout endpoint on loopback that keeps what it receives."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class LogoutReceiver:
    """Serve `app` (tests.live.serve) and point a client's backchannel_logout_uri at /bcl."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.app = Starlette(routes=[Route("/bcl", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> PlainTextResponse:
        self.received.append(str((await request.form())["logout_token"]))
        return PlainTextResponse("ok")

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[str]:
        """The logout tokens, once there are `count` of them (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)
