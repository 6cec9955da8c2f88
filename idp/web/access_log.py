"""Structured access log: one JSON line per request, without query strings or bodies (they
can carry codes, tokens and personal data).

As `idp serve` deploys it (idp.logging_config), the "idp.access" logger's one handler is a
BatchHandler: the request's line is formatted once (orjson, bytes) and appended to an in-memory
queue; a background thread writes the queued lines in one write and one flush every `interval`
seconds (sooner once `batch` lines wait), and at shutdown (logging.shutdown → close). The
queue is bounded: when `capacity` lines wait, further lines are dropped, counted, and the count
logged on "idp" (a warning) by the writer thread, so a slow stdout never blocks a request. The
request path skips the logging module (no LogRecord, no handler lock, no syscall); any other
configuration (tests' caplog, a custom handler) gets an ordinary log record.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import IO

import orjson
from starlette.types import Scope

log = logging.getLogger("idp.access")
warnings = logging.getLogger("idp")


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def log_request(scope: Scope, status: int, started: float, request_id: str) -> None:
    client = scope.get("client") or ("-", 0)
    line = orjson.dumps(
        {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "ip": client[0],
            "request_id": request_id,
        }
    )
    handlers = log.handlers
    if len(handlers) == 1 and type(handlers[0]) is BatchHandler and not log.propagate:
        handlers[0].put(line)
    else:
        log.info(line.decode())


class BatchHandler(logging.Handler):
    """Lines queued in memory, written in batches by a daemon thread; bounded; flushed on close."""

    def __init__(
        self,
        stream: IO[str],
        capacity: int = 50_000,
        batch: int = 512,
        interval: float = 0.2,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.capacity, self.batch, self.interval = capacity, batch, interval
        # Lines refused because the queue was full: counted by the event loop, reported by the
        # writer; two counters, each written by one thread.
        self.dropped = self._reported = 0
        self._lines: collections.deque[bytes] = collections.deque()
        self._closed = False
        self._start()
        os.register_at_fork(after_in_child=self._start)  # threads do not survive a fork

    def _start(self) -> None:
        self._lines.clear()  # a forked child does not write its parent's lines again
        self._write_lock = threading.Lock()  # the writer thread and flush() never interleave
        self._wake = threading.Event()  # new, like the lock: a forked copy may be held
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def put(self, line: bytes) -> None:
        """Queue one line (no newline); never blocks. Called on the event loop."""
        if len(self._lines) >= self.capacity:
            self.dropped += 1
            return
        self._lines.append(line)
        if len(self._lines) == self.batch:
            self._wake.set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.put(self.format(record).encode())
        except Exception:
            self.handleError(record)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write every queued line now, then report the lines dropped since the last report."""
        with self._write_lock:
            lines = self._lines
            count = len(lines)
            if count:
                chunk = b"\n".join([lines.popleft() for _ in range(count)]) + b"\n"
                try:
                    buffer = getattr(self.stream, "buffer", None)
                    if buffer is not None:
                        self.stream.flush()  # text written before, in order
                        buffer.write(chunk)
                        buffer.flush()
                    else:
                        self.stream.write(chunk.decode())
                        self.stream.flush()
                except (OSError, ValueError):
                    pass  # stdout gone (closed pipe at shutdown): nothing left to tell
            dropped = self.dropped - self._reported
            self._reported += dropped
        if dropped:
            warnings.warning("access log: %d lines dropped (queue full)", dropped)

    def close(self) -> None:
        """Stop the writer thread and write what is left (logging.shutdown, at exit)."""
        self._closed = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()
        super().close()
