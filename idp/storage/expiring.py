"""One contract for all short-lived state: sessions, codes, counters, replay caches.

Values are JSON-serialisable dicts. Every write carries a time to live in seconds. ``consume``
reads and deletes in one atomic step, so a value can be taken exactly once even by racing
processes; ``increment`` is an atomic counter whose time to live starts when it is created.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from idp.storage.redis_batch import BatchedExists
from idp.storage.redis_connect import RedisTarget

Record = dict[str, Any]


class ExpiringStore(Protocol):
    def put(self, key: str, value: Record, ttl: int) -> None: ...
    def add(self, key: str, value: Record, ttl: int) -> bool: ...
    def get(self, key: str) -> Record | None: ...
    def consume(self, key: str) -> Record | None: ...
    def delete(self, key: str) -> None: ...
    def increment(self, key: str, ttl: int) -> int: ...
    def count_existing(self, keys: list[str]) -> int: ...
    async def count_existing_async(self, keys: list[str]) -> int: ...
    def generation(self) -> int: ...
    def close(self) -> None: ...
    async def close_async(self) -> None: ...


class MemoryStore:
    """In-process store for one worker (the embedded default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Any]] = {}

    def _live(self, key: str) -> Any | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._data[key]
            return None
        return item[1]

    def put(self, key: str, value: Record, ttl: int) -> None:
        with self._lock:
            self._data[key] = (self._clock() + ttl, json.dumps(value))

    def add(self, key: str, value: Record, ttl: int) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (self._clock() + ttl, json.dumps(value))
            return True

    def get(self, key: str) -> Record | None:
        with self._lock:
            raw = self._live(key)
        return None if raw is None else _decode(raw)

    def consume(self, key: str) -> Record | None:
        with self._lock:
            raw = self._live(key)
            self._data.pop(key, None)
        return None if raw is None else _decode(raw)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def increment(self, key: str, ttl: int) -> int:
        with self._lock:
            current = self._live(key)
            if current is None:
                self._data[key] = (self._clock() + ttl, 1)
                return 1
            expires_at = self._data[key][0]
            self._data[key] = (expires_at, int(current) + 1)
            return int(current) + 1

    def count_existing(self, keys: list[str]) -> int:
        with self._lock:
            return sum(1 for key in keys if self._live(key) is not None)

    async def count_existing_async(self, keys: list[str]) -> int:
        return self.count_existing(keys)

    def generation(self) -> int:
        """Always the same server: this process."""
        return 0

    def close(self) -> None:
        with self._lock:
            self._data.clear()

    async def close_async(self) -> None:
        """Nothing to release that close() does not."""


_INCREMENT = """
local value = redis.call('INCR', KEYS[1])
if value == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return value
"""


class RedisStore:
    """Redis-backed store shared by many processes and hosts: one Redis by URL, or the master
    that Redis Sentinel names (a RedisTarget), found again after a failover."""

    def __init__(self, target: str | RedisTarget, prefix: str) -> None:
        target = RedisTarget(url=target) if isinstance(target, str) else target
        self._identity = target.identity
        self._redis = target.client(decode_responses=True)
        self._prefix = prefix
        self._increment = self._redis.register_script(_INCREMENT)
        self._batched_exists = BatchedExists(target)

    def _k(self, key: str) -> str:
        return self._prefix + key

    def put(self, key: str, value: Record, ttl: int) -> None:
        self._redis.set(self._k(key), json.dumps(value), ex=ttl)

    def add(self, key: str, value: Record, ttl: int) -> bool:
        return bool(self._redis.set(self._k(key), json.dumps(value), ex=ttl, nx=True))

    def get(self, key: str) -> Record | None:
        raw = self._redis.get(self._k(key))
        return None if raw is None else _decode(str(raw))

    def consume(self, key: str) -> Record | None:
        raw = self._redis.getdel(self._k(key))
        return None if raw is None else _decode(str(raw))

    def delete(self, key: str) -> None:
        self._redis.delete(self._k(key))

    def increment(self, key: str, ttl: int) -> int:
        return int(self._increment(keys=[self._k(key)], args=[ttl]))

    def count_existing(self, keys: list[str]) -> int:
        return int(self._redis.exists(*(self._k(key) for key in keys))) if keys else 0

    async def count_existing_async(self, keys: list[str]) -> int:
        """count_existing from the event loop, without a thread (see idp.storage.redis_batch)."""
        return await self._batched_exists.count([self._k(key) for key in keys]) if keys else 0

    def generation(self) -> int:
        """How often the server behind the connections changed (a promoted replica, a restart):
        what it holds may lack writes made before (see idp.oidc.revocations)."""
        return self._identity.generation

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()

    async def close_async(self) -> None:
        """Close the event loop's connections (count_existing_async); call before close()."""
        await self._batched_exists.close()


def _decode(raw: str | int) -> Record:
    value = raw if isinstance(raw, int) else json.loads(raw)
    if isinstance(value, int):
        return {"count": value}  # a counter made by increment
    if not isinstance(value, dict):
        raise TypeError("expiring store holds dict records only")
    return value


def open_store(target: str | RedisTarget, prefix: str) -> ExpiringStore:
    """The store a URL (memory:// or redis://…) or a RedisTarget (say, Sentinel) names."""
    if isinstance(target, str) and target.startswith("memory"):
        return MemoryStore()
    return RedisStore(target, prefix)
