"""Graceful shutdown on SIGTERM (or Ctrl-C).

uvicorn (`idp serve`, `timeout_graceful_shutdown` = server.shutdown_timeout) stops accepting
connections at once and waits for the open requests to finish, then runs the lifespan's
shutdown. A long-poll would hold that wait for up to 25 s, so the signal also *drains* the
process as soon as it arrives: every waiting long-poll answers 204 at once (the device polls
again, reaching another process), and the outbox sender sends what it has claimed and claims
nothing more. The lifespan's shutdown then gives the sender what remains of the limit.

The handler is chained in front of uvicorn's own (which it still calls); signals can be
handled only on the main thread, so a server run in a thread (the tests' live servers) or by
the test client is drained only by its lifespan's end.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Drain:
    """Runs its callbacks once, on the event loop, when the process is told to stop."""

    def __init__(self, timeout: float, callbacks: list[Callable[[], None]]) -> None:
        self.timeout = timeout
        self._callbacks = callbacks
        self._started: float | None = None
        self._previous: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def started(self) -> bool:
        return self._started is not None

    def run(self) -> None:
        """Drain now (idempotent); call on the event loop's thread."""
        if self._started is not None:
            return
        self._started = time.monotonic()
        log.info("shutting down: long-polls answered, outbox finishing")
        for callback in self._callbacks:
            try:
                callback()
            except Exception:
                log.exception("a shutdown step failed")

    def remaining(self) -> float:
        """Seconds left of the limit since the drain started (the whole limit before)."""
        if self._started is None:
            return self.timeout
        return max(0.0, self.timeout - (time.monotonic() - self._started))

    def install(self) -> None:
        """Chain the handler in front of the current SIGTERM/SIGINT handlers (main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._handle:
                signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.run)
        previous = self._previous.get(sig)
        if callable(previous):
            previous(sig, frame)
