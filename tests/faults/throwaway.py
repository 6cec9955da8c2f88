"""Throwaway servers on loopback for fault tests: a Redis and a PostgreSQL of the test's own
that it may kill and restart (never the machine's shared ones)."""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from tests.backends import Backend, ProductionServers, production
from tests.live import free_port


def _binary(name: str, package: str = "redis-server") -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian package {package})"
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


def _postgres_binary(name: str) -> str:
    """Debian keeps the server's programs out of PATH, under its major version."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else _binary(name, "postgresql")


class ThrowawayPostgres:
    """A PostgreSQL cluster of the test's own, in a fresh folder, on a free loopback port.

    PostgreSQL refuses to run as root: under root it runs as the `postgres` account that
    Debian's package creates. `crash` is an immediate shutdown (every backend gone at once, as
    when the host dies; the next start replays the log), `start` brings it back on its data.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="idp-fault-pg-"))  # not under a 0700 tmp
        self.data = self.folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._user = "postgres" if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None
        if self._user is not None:
            shutil.chown(self.folder, user=self._user)
        initdb = [_postgres_binary("initdb"), "-D", str(self.data), "-U", "postgres"]
        subprocess.run(
            [*initdb, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"],
            user=self._user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        options = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "fsync": "off",  # a crash here is a process crash: the files stay
            "max_connections": "60",
        }
        command = [_postgres_binary("postgres"), "-D", str(self.data), "-p", str(self.port)]
        for name, value in options.items():
            command += ["-c", f"{name}={value}"]
        with (self.folder / "server.log").open("ab") as log:  # the server keeps its own copy
            self._process = subprocess.Popen(command, user=self._user, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(dsn, connect_timeout=1):
                    return
            except psycopg.OperationalError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"the throwaway PostgreSQL did not start: {self.folder}/server.log")

    def crash(self) -> None:
        """Immediate shutdown: the postmaster and every backend end now, nothing is flushed."""
        if self._process is not None:
            self._process.send_signal(signal.SIGQUIT)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def remove(self) -> None:
        self.crash()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def backend_on_postgres(servers: ProductionServers, own: ThrowawayPostgres, prefix: str) -> Backend:
    """This test's own PostgreSQL with the run's Redis (under a key prefix of its own)."""
    return dataclasses.replace(
        production(servers), database_url=own.url, run_prefix=servers.run_prefix + prefix
    )
