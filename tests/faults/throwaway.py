"""Throwaway servers on loopback for fault tests: a Redis of the test's own that it may kill
and restart (never the machine's shared one)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.backends import Backend, ProductionServers, production
from tests.live import free_port


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian package redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI never skips the fault tests")
        pytest.skip(message)
    return found


class ThrowawayRedis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """A Redis that keeps nothing on disk: a restart comes back empty."""
        self._process = subprocess.Popen(
            [
                _binary("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("the throwaway Redis did not start")

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None


@contextmanager
def throwaway_redis(folder: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def backend_on(servers: ProductionServers, own: ThrowawayRedis, prefix: str) -> Backend:
    """The run's PostgreSQL database with this test's own Redis."""
    return dataclasses.replace(
        production(servers), store_url=own.url, redis_url=own.url, run_prefix=prefix
    )
