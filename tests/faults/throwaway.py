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
from collections.abc import Callable, Iterator
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
    def __init__(self, folder: Path, *extra: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.extra = list(extra)  # more redis-server options (say, --replicaof)
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
                *self.extra,
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


SENTINEL_SERVICE = "idp-fault"


class ThrowawaySentinels:
    """A Redis master, one replica and three Sentinels (quorum 2), each on a free loopback port
    in a folder of its own; quick to notice a dead master (1 s) and to fail over."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "master").mkdir()
        (folder / "replica").mkdir()
        self.master = ThrowawayRedis(folder / "master")
        self.replica = ThrowawayRedis(
            folder / "replica", "--replicaof", "127.0.0.1", str(self.master.port)
        )
        self.ports = [free_port() for _ in range(3)]
        self.addresses = [f"127.0.0.1:{port}" for port in self.ports]
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        for port in self.ports:
            folder = self.folder / f"sentinel-{port}"
            folder.mkdir()
            conf = folder / "sentinel.conf"  # Sentinel rewrites its own file
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000\n"
                f"sentinel failover-timeout {SENTINEL_SERVICE} 5000\n"
            )
            self._processes.append(
                subprocess.Popen(
                    [_binary("redis-server"), str(conf), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        self._wait(self._ready, 20, "the Sentinels did not find each other and the replica")

    def sentinel(self, port: int) -> redis.Redis:  # type: ignore[type-arg]
        return redis.Redis(port=port, socket_timeout=0.5, decode_responses=True)

    def _ready(self) -> bool:
        """Every Sentinel knows the other two and the replica, and the replica is in sync."""
        for port in self.ports:
            with self.sentinel(port) as client:
                master = client.sentinel_master(SENTINEL_SERVICE)
                replicas = client.sentinel_slaves(SENTINEL_SERVICE)
            if int(master["num-other-sentinels"]) < 2 or not replicas:
                return False
        with redis.Redis(port=self.replica.port) as replica:
            return replica.info("replication").get("master_link_status") == "up"

    def master_port(self) -> int:
        """The master's port as the first Sentinel that answers sees it."""
        for port in self.ports:
            try:
                with self.sentinel(port) as client:
                    return int(client.sentinel_get_master_addr_by_name(SENTINEL_SERVICE)[1])
            except redis.RedisError:
                continue
        raise RuntimeError("no Sentinel answers")

    def wait_for_promotion(self, timeout: float = 20) -> float:
        """Seconds until the Sentinels name the replica as master and it acts as one."""
        started = time.monotonic()

        def promoted() -> bool:
            if self.master_port() != self.replica.port:
                return False
            with redis.Redis(port=self.replica.port) as replica:
                return replica.info("replication").get("role") == "master"

        self._wait(promoted, timeout, "the Sentinels did not promote the replica")
        return time.monotonic() - started

    @staticmethod
    def _wait(check: Callable[[], bool], timeout: float, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except (redis.RedisError, KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(failure)

    def stop(self) -> None:
        for process in self._processes:
            process.kill()
            process.wait(timeout=10)
        self._processes = []
        self.replica.kill()
        self.master.kill()


@contextmanager
def throwaway_sentinels(folder: Path) -> Iterator[ThrowawaySentinels]:
    cluster = ThrowawaySentinels(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


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
    Given a running `primary`, the cluster is its streaming standby instead (`pg_basebackup -R`),
    which `promote` makes a primary.
    """

    def __init__(self, primary: ThrowawayPostgres | None = None) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="idp-fault-pg-"))  # not under a 0700 tmp
        self.data = self.folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._user = "postgres" if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None
        if self._user is not None:
            shutil.chown(self.folder, user=self._user)
        if primary is not None:
            copy = [_postgres_binary("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port)]
            copy += ["-U", "postgres", "-D", str(self.data), "-R", "-X", "stream", "--no-sync"]
            subprocess.run(
                copy, user=self._user, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            return
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

    def stop(self) -> None:
        """Fast shutdown, as an operator stops it: sessions end, the standbys get the last WAL."""
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)
            self._process.wait(timeout=30)
            self._process = None

    def promote(self) -> None:
        """A standby becomes a primary (it was started from a `primary`'s base backup)."""
        subprocess.run(
            [_postgres_binary("pg_ctl"), "promote", "-w", "-t", "20", "-D", str(self.data)],
            user=self._user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

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
