"""Waking long-polls when a challenge arrives: in one process, or across processes via Redis.

`notify` is called from worker threads; `wait` runs on the event loop. The Redis variant
publishes on one channel per deployment and each process listens once, waking its own waiters.
A waiter also re-checks on its own every few seconds, so a lost message only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)


class LocalWakeup:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self.draining = False

    def drain(self) -> None:
        """The process is shutting down: wake every waiter now, and from now on (on the event
        loop's thread)."""
        self.draining = True
        for device_id in list(self._waiters):
            self._wake_local(device_id)

    def _wake_local(self, device_id: str) -> None:
        for event in list(self._waiters.get(device_id, ())):
            event.set()

    def notify(self, device_id: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_local, device_id)

    @contextlib.asynccontextmanager
    async def listen(self, device_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when `notify(device_id)` is called, from now until the block ends.
        Listen first, then check for work, then wait: no notification falls in between."""
        self._loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._waiters[device_id].add(event)
        try:
            yield event
        finally:
            self._waiters[device_id].discard(event)
            if not self._waiters[device_id]:
                self._waiters.pop(device_id, None)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        return None


class RedisWakeup(LocalWakeup):
    """Wake-ups across processes through one Redis channel.

    `publisher` is a blocking client (notify runs in worker threads); `subscriber` makes an
    asyncio client for the listener, anew after each lost connection, so a client that finds
    its server through Redis Sentinel subscribes again on the promoted master after a failover.
    Until it has, a waiter is woken only by its own re-check.
    """

    def __init__(
        self,
        channel: str,
        publisher: redis.Redis[Any],
        subscriber: Callable[[], aioredis.Redis[Any]],
        retry_seconds: float = 1.0,
    ) -> None:
        super().__init__()
        self._channel = channel
        self._publisher = publisher
        self._subscriber = subscriber
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.subscriptions = 0  # how many times the listener has subscribed (1 + recoveries)

    @classmethod
    def from_url(cls, url: str, channel: str) -> RedisWakeup:
        return cls(channel, redis.Redis.from_url(url), lambda: aioredis.Redis.from_url(url))

    def notify(self, device_id: str) -> None:
        self._publisher.publish(self._channel, device_id)

    async def start(self) -> None:
        await super().start()
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready))
        await asyncio.wait_for(ready.wait(), 5)

    async def _listen(self, ready: asyncio.Event) -> None:
        while True:
            client: aioredis.Redis[Any] | None = None
            try:
                client = self._subscriber()
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.subscriptions += 1
                    if self.subscriptions > 1:
                        log.warning("wake-up listener subscribed again after losing Redis")
                    ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake_local(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone, or no master yet: try again, for ever
                log.warning("wake-up listener lost Redis (%s); retrying", type(exc).__name__)
                ready.set()
                await asyncio.sleep(self._retry_seconds)
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.aclose()  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._publisher.close()
