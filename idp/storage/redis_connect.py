"""How the expiring store and the wake-ups reach Redis: one server by URL, or the master that
Redis Sentinel names (redis-py's Sentinel support).

Through Sentinel every new connection asks the Sentinels for the master's address, and a
connection that fails is dropped; so after a failover the next operation reaches the promoted
replica, with no restart. While no master answers, operations raise redis's ConnectionError
(MasterNotFoundError is one), which the pages and APIs answer with 503 (idp.storage.outages).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from idp.settings import StoreSettings

# Seconds to wait for a Sentinel's answer (each is asked in turn) and for a master's TCP
# connection: a dead host must fail the request (503) quickly, not hang it.
SENTINEL_TIMEOUT = 0.5
CONNECT_TIMEOUT = 2.0


class MasterIdentity:
    """Which Redis server the connections reach, by its replication ID (`master_replid`): a
    server's own, changed when a replica is promoted or a server restarts (a replica that is
    in sync shares its master's). Every new connection asks for it (INFO replication, one
    round trip per connection, none per command); `generation` counts the changes, so a
    reader of the store can tell that it now talks to a server that may lack recent writes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: str | None = None
        self.generation = 0

    def observe(self, replid: str) -> None:
        with self._lock:
            if self._seen is not None and replid != self._seen:
                self.generation += 1
            self._seen = replid

    def sync_hook(self, connection: Any) -> None:
        """redis_connect_func of a blocking connection: the usual handshake, then the ID."""
        connection.on_connect_check_health(check_health=True)
        connection.send_command("INFO", "replication")
        self.observe(_replid(connection.read_response()))

    async def async_hook(self, connection: Any) -> None:
        """redis_connect_func of an asyncio connection."""
        await connection.on_connect_check_health(check_health=True)
        await connection.send_command("INFO", "replication")
        self.observe(_replid(await connection.read_response()))


def _replid(info: Any) -> str:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("master_replid:"):
            return line.split(":", 1)[1].strip()
    return ""


@dataclass(frozen=True)
class RedisTarget:
    """One Redis (url), or a Sentinel service: what to connect to, not a connection."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    password: str = ""
    sentinel_password: str = ""
    db: int = 0
    identity: MasterIdentity = field(default_factory=MasterIdentity, compare=False, repr=False)

    @classmethod
    def from_settings(cls, store: StoreSettings) -> RedisTarget:
        if store.kind == "sentinel":
            return cls(
                sentinels=tuple(store.sentinel_addresses()),
                service=store.sentinel_service,
                password=store.password,
                sentinel_password=store.sentinel_password,
                db=store.db,
            )
        return cls(url=store.url)

    def _master_kwargs(self, asyncio: bool = False) -> dict[str, Any]:
        """A few quick retries (each asks the Sentinels again), then the error: a request
        during a failover gets its 503 at once rather than holding a thread for seconds."""
        return {
            "db": self.db,
            "password": self.password or None,
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "retry": (AsyncRetry if asyncio else Retry)(ExponentialBackoff(0.2, 0.02), 3),
            **self._hook(asyncio),
        }

    def _hook(self, asyncio: bool = False) -> dict[str, Any]:
        return {
            "redis_connect_func": self.identity.async_hook if asyncio else self.identity.sync_hook
        }

    def _sentinel_kwargs(self, asyncio: bool = False) -> dict[str, Any]:
        """One try per Sentinel: redis-py asks the next one when a Sentinel fails."""
        return {
            "password": self.sentinel_password or None,
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            "retry": (AsyncRetry if asyncio else Retry)(NoBackoff(), 0),
        }

    def client(self, *, decode_responses: bool = False) -> redis.Redis[Any]:
        """A blocking client (for worker threads)."""
        if not self.sentinels:
            if decode_responses:
                return redis.Redis.from_url(self.url, decode_responses=True, **self._hook())
            return redis.Redis.from_url(self.url, **self._hook())
        sentinel = redis.sentinel.Sentinel(
            list(self.sentinels), sentinel_kwargs=self._sentinel_kwargs(), **self._master_kwargs()
        )
        return sentinel.master_for(self.service, decode_responses=decode_responses)

    def async_client(self) -> aioredis.Redis[Any]:
        """An asyncio client, for the event loop that calls this (connections belong to one)."""
        if not self.sentinels:
            return aioredis.Redis.from_url(self.url, **self._hook(asyncio=True))
        sentinel = aiosentinel.Sentinel(
            list(self.sentinels),
            sentinel_kwargs=self._sentinel_kwargs(asyncio=True),
            **self._master_kwargs(asyncio=True),
        )
        return sentinel.master_for(self.service)

    def async_pool(self) -> aioredis.ConnectionPool[AbstractConnection]:
        """An asyncio connection pool; through Sentinel its connections find the master when
        they connect. Keep the pool referenced while its connections are in use."""
        if not self.sentinels:
            return aioredis.ConnectionPool.from_url(self.url, **self._hook(asyncio=True))
        pool: aioredis.ConnectionPool[AbstractConnection] = self.async_client().connection_pool
        return pool
