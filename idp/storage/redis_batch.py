"""EXISTS look-ups from the event loop, the look-ups of one loop iteration sent as one pipeline.

Introspection asks Redis, for every request, whether the token or its grant was revoked. With
redis-py's asyncio client one awaited command per request costs about 50 µs of the event loop's
time; the same commands queued during one iteration of the loop and sent together as a pipeline
cost about 16 µs each (measured with 32 concurrent callers). Every caller still gets an answer
from Redis itself: nothing is cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio as aioredis


class BatchedExists:
    def __init__(self, url: str) -> None:
        self._url = url
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: aioredis.Redis[bytes] | None = None
        self._pending: list[tuple[Sequence[str], asyncio.Future[int]]] = []

    def _client_for(self, loop: asyncio.AbstractEventLoop) -> aioredis.Redis[bytes]:
        """One client per event loop (a client's connections belong to the loop that made them)."""
        if self._loop is not loop or self._client is None:
            self._loop, self._client = loop, aioredis.Redis.from_url(self._url)
            self._pending = []
        return self._client

    async def count(self, keys: Sequence[str]) -> int:
        """How many of keys exist, as Redis's EXISTS counts them."""
        loop = asyncio.get_running_loop()
        self._client_for(loop)
        future: asyncio.Future[int] = loop.create_future()
        self._pending.append((keys, future))
        if len(self._pending) == 1:  # the first of this iteration sends them all, soon after
            loop.call_soon(self._send_pending)
        return await future

    def _send_pending(self) -> None:
        batch, self._pending = self._pending, []
        assert self._loop is not None
        self._loop.create_task(self._send(batch))

    async def _send(self, batch: list[tuple[Sequence[str], asyncio.Future[int]]]) -> None:
        assert self._client is not None
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for keys, _future in batch:
                    pipe.exists(*keys)
                results = await pipe.execute()
        except Exception as exc:  # every caller of this batch sees Redis's failure
            for _keys, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_keys, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(int(result))

    async def close(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
