"""The storage backends every backend-marked test runs on, made fresh for each test run.

Embedded: a SQLite file in a temporary folder and the in-memory store. Production: a new
PostgreSQL database and a new Redis key prefix, both removed when the run ends. The servers are
found through SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL, or on their default
loopback ports when those are unset (tests/server_discovery.py). When they are not found or not
reachable, the tests that need them fail under CI and are skipped with the reason elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis

POSTGRES_ENV = "SOFTTOKEN_TEST_POSTGRES_URL"
REDIS_ENV = "SOFTTOKEN_TEST_REDIS_URL"


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    store_url: str
    redis_url: str | None = None
    run_prefix: str = ""

    def store_prefix(self) -> str:
        """A fresh key prefix per test, under this run's prefix."""
        return f"{self.run_prefix}{secrets.token_hex(4)}:"


def servers_missing(reason: str) -> None:
    message = f"PostgreSQL/Redis test servers unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI never skips these tests)")
    pytest.skip(
        message
        + f" (start them on 127.0.0.1:5432 and :6379, or set {POSTGRES_ENV} and {REDIS_ENV})"
    )


@dataclass
class ProductionServers:
    admin_url: str
    redis_url: str
    database: str
    run_prefix: str

    @property
    def database_url(self) -> str:
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{self.database}".replace("postgresql://", "postgresql+psycopg://", 1)


def create_production(tmp: Path) -> ProductionServers | str:
    admin_url, redis_url = os.environ.get(POSTGRES_ENV), os.environ.get(REDIS_ENV)
    if not admin_url or not redis_url:
        return f"{POSTGRES_ENV} or {REDIS_ENV} is not set"
    run = secrets.token_hex(4)
    database = f"idp_test_{run}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError) as exc:
        return str(exc)
    return ProductionServers(admin_url, redis_url, database, f"idp-test-{run}:")


def require_production(servers: ProductionServers | str) -> ProductionServers:
    """The run's PostgreSQL and Redis, or the test fails (CI) / is skipped with the reason."""
    if isinstance(servers, str):
        servers_missing(servers)
    assert isinstance(servers, ProductionServers)
    return servers


def drop_production(servers: ProductionServers) -> None:
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{servers.database}" WITH (FORCE)')
    client = redis.Redis.from_url(servers.redis_url)
    for key in client.scan_iter(match=servers.run_prefix + "*", count=1000):
        client.delete(key)
    client.close()


def embedded(tmp: Path) -> Backend:
    return Backend("embedded", f"sqlite:///{tmp / 'idp.sqlite3'}", "memory://")


def production(servers: ProductionServers) -> Backend:
    return Backend(
        "production", servers.database_url, servers.redis_url, servers.redis_url, servers.run_prefix
    )


@contextmanager
def own_database(backend: Backend, tmp_path: Path) -> Iterator[Backend]:
    """A database of this test's own (a SQLite file, or a PostgreSQL database dropped after):
    nothing another test left running (a mail sender, say) can touch it."""
    if backend.name == "embedded":
        yield dataclasses.replace(backend, database_url=f"sqlite:///{tmp_path / 'journey.db'}")
        return
    admin_url = os.environ[POSTGRES_ENV]
    base, run_database = backend.database_url.rsplit("/", 1)
    name = f"{run_database}_j{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield dataclasses.replace(backend, database_url=f"{base}/{name}")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
