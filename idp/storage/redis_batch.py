"""EXISTS look-ups from the event loop, sent to Redis in batches over one connection.

Introspection asks Redis, for every request, whether the token or its grant was revoked. With
redis-py's asyncio client one awaited command per request costs about 50 µs of the event loop's
time. Here the look-ups wait in a queue while one batch is on the wire; when its answers are
back, everything queued meanwhile goes out as the next batch (written at once, answers read in
order). Under load the batches grow by themselves; when idle a look-up goes out alone, after
the current iteration of the event loop. Every caller still gets Redis's own answer: nothing
is cached.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection

from idp.storage.redis_connect import RedisTarget

# A batch not answered within this many seconds fails (Redis unreachable or stuck).
BATCH_TIMEOUT = 5.0

Waiting = tuple[Sequence[str], "asyncio.Future[int]"]


class BatchedExists:
    def __init__(self, target: str | RedisTarget) -> None:
        self._target = RedisTarget(url=target) if isinstance(target, str) else target
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: aioredis.ConnectionPool[AbstractConnection] | None = None
        self._connection: AbstractConnection | None = None
        self._waiting: list[Waiting] = []
        self._drainer: asyncio.Task[None] | None = None  # the task sending batches, if any

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connections belong to the event loop that made them: a new loop starts afresh."""
        if self._loop is not loop:
            self._loop, self._pool, self._connection = loop, None, None
            self._waiting, self._drainer = [], None

    async def count(self, keys: Sequence[str]) -> int:
        """How many of keys exist, as Redis's EXISTS counts them."""
        loop = asyncio.get_running_loop()
        self._bind(loop)
        future: asyncio.Future[int] = loop.create_future()
        self._waiting.append((keys, future))
        if self._drainer is None:  # it starts after this iteration, whose look-ups join in
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._send(batch)
        finally:
            self._drainer = None

    async def _send(self, batch: list[Waiting]) -> None:
        try:
            connection = await self._connected()
            commands = [("EXISTS", *keys) for keys, _future in batch]
            async with asyncio.timeout(BATCH_TIMEOUT):  # one timer a batch, not one per answer
                await connection.send_packed_command(connection.pack_commands(commands))
                answers: list[Any] = [
                    await connection.read_response(timeout=math.inf) for _ in batch
                ]
        except BaseException as exc:  # the connection's state is unknown: start a new one
            self._connection = None
            failure = exc if isinstance(exc, Exception) else ConnectionError("cancelled")
            for _keys, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for (_keys, future), answer in zip(batch, answers, strict=True):
            if not future.done():
                future.set_result(int(answer))

    async def _connected(self) -> AbstractConnection:
        if self._connection is None:
            if self._pool is None:
                self._pool = self._target.async_pool()  # through Sentinel: finds the master
            connection = self._pool.make_connection()
            await connection.connect()
            self._connection = connection
        return self._connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._loop, self._pool = None, None
        if connection is not None:
            await connection.disconnect()
