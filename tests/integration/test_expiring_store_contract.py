"""One contract for the expiring store, run against memory and Redis."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from idp.storage.expiring import ExpiringStore, open_store
from tests.backends import Backend, ProductionServers, production, servers_missing


@pytest.fixture
def store(backend: Backend) -> Iterator[ExpiringStore]:
    opened = open_store(backend.store_url, backend.store_prefix())
    yield opened
    opened.close()


def test_put_get_delete(store: ExpiringStore) -> None:
    store.put("a", {"x": 1, "t": "ไทย"}, 10)
    assert store.get("a") == {"x": 1, "t": "ไทย"}
    store.delete("a")
    assert store.get("a") is None


def test_values_expire(store: ExpiringStore) -> None:
    store.put("short", {"x": 1}, 1)
    time.sleep(1.2)
    assert store.get("short") is None


def test_consume_is_exactly_once_under_races(store: ExpiringStore) -> None:
    store.put("code", {"v": 42}, 10)
    winners: list[object] = []
    barrier = threading.Barrier(16)

    def take() -> None:
        barrier.wait()
        if (value := store.consume("code")) is not None:
            winners.append(value)

    threads = [threading.Thread(target=take) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert winners == [{"v": 42}]


def test_add_only_when_absent(store: ExpiringStore) -> None:
    assert store.add("jti", {}, 10) is True
    assert store.add("jti", {}, 10) is False


def test_increment_is_atomic_and_expires(store: ExpiringStore) -> None:
    barrier = threading.Barrier(10)

    def bump() -> None:
        barrier.wait()
        for _ in range(10):
            store.increment("n", 1)

    threads = [threading.Thread(target=bump) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("n") == {"count": 100}
    time.sleep(1.2)
    assert store.increment("n", 1) == 1


def test_redis_prefixes_keep_runs_apart(production_servers: ProductionServers | str) -> None:
    if isinstance(production_servers, str):
        servers_missing(production_servers)
        return
    backend = production(production_servers)
    one, two = (open_store(backend.store_url, backend.store_prefix()) for _ in range(2))
    one.put("k", {"who": 1}, 10)
    assert two.get("k") is None
    one.close()
    two.close()


def test_count_existing_counts_live_keys_in_one_call(store: ExpiringStore) -> None:
    store.put("a", {}, 10)
    store.put("b", {}, 1)
    assert store.count_existing([]) == 0
    assert store.count_existing(["a", "b", "c"]) == 2
    time.sleep(1.2)
    assert store.count_existing(["a", "b", "c"]) == 1


def test_count_existing_async_answers_each_concurrent_caller(store: ExpiringStore) -> None:
    """Concurrent callers on one event loop share pipelines (Redis) but get their own answers."""
    for n in range(0, 40, 2):
        store.put(f"k{n}", {}, 10)

    async def ask_all() -> list[int]:
        asks = [store.count_existing_async([f"k{n}", f"k{n + 1}", "k0"]) for n in range(40)]
        answers = await asyncio.gather(*asks)
        assert await store.count_existing_async([]) == 0
        await store.close_async()
        return answers

    for _ in range(2):  # a second event loop gets its own connections
        answers = asyncio.run(ask_all())
        expected = [sum(1 for m in (n, n + 1, 0) if m % 2 == 0 and m < 40) for n in range(40)]
        assert answers == expected


def test_count_existing_async_reports_a_redis_failure(
    production_servers: ProductionServers | str,
) -> None:
    if isinstance(production_servers, str):
        servers_missing(production_servers)
        return
    unreachable = open_store("redis://127.0.0.1:1/0", "nowhere:")

    async def ask() -> int:
        return await unreachable.count_existing_async(["a"])

    with pytest.raises(redis.ConnectionError):
        asyncio.run(ask())
