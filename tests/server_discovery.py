"""Finding the PostgreSQL and Redis test servers for `make test` (issue #16).

SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL win when set. When one is unset, the
server on its default loopback port is tried once (PostgreSQL 127.0.0.1:5432, database `test`
then `postgres`, as `postgres` then as the current user; Redis 127.0.0.1:6379/0) and used when
it answers: the variable is then set for this run, so every test and every subprocess finds the
same server. What was found, and what is absent, is said in pytest's header and summary.
"""

from __future__ import annotations

import getpass
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import psycopg
import pytest
import redis
from _pytest.terminal import TerminalReporter

from tests.backends import POSTGRES_ENV, REDIS_ENV

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PROBE_SECONDS = 2


def postgres_candidates(user: str | None = None) -> list[str]:
    users = dict.fromkeys(["postgres", user or _current_user()])
    return [f"postgresql://{u}@127.0.0.1:5432/{db}" for u in users for db in ("test", "postgres")]


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "postgres"


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=PROBE_SECONDS):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_SECONDS, socket_timeout=PROBE_SECONDS
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class Found:
    """Where each server came from: "variable", "default port", or None (absent)."""

    postgres: str | None = None
    redis: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.postgres is not None and self.redis is not None


def discover(environ: MutableMapping[str, str]) -> Found:
    """Fill in the unset variables from the default loopback ports when a server answers."""
    found = Found()
    if environ.get(POSTGRES_ENV):
        found.postgres = "variable"
    else:
        url = next((u for u in postgres_candidates() if postgres_answers(u)), None)
        if url is not None:
            environ[POSTGRES_ENV] = url
            found.postgres = "default port"
        else:
            found.notes.append(
                f"no PostgreSQL answers at 127.0.0.1:5432 and {POSTGRES_ENV} is unset"
            )
    if environ.get(REDIS_ENV):
        found.redis = "variable"
    elif redis_answers(DEFAULT_REDIS):
        environ[REDIS_ENV] = DEFAULT_REDIS
        found.redis = "default port"
    else:
        found.notes.append(f"no Redis answers at 127.0.0.1:6379 and {REDIS_ENV} is unset")
    return found


def header(found: Found, environ: MutableMapping[str, str]) -> str:
    """pytest's header line: which backends this run tests."""
    if found.complete:
        return (
            "backends: embedded (SQLite + memory) and production (PostgreSQL "
            f"{_safe(environ[POSTGRES_ENV])} [{found.postgres}] + Redis "
            f"{_safe(environ[REDIS_ENV])} [{found.redis}])"
        )
    return (
        "backends: embedded (SQLite + memory) only; production (PostgreSQL + Redis) ABSENT: "
        + "; ".join(found.notes)
    )


def _safe(url: str) -> str:
    """A URL without its password."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def backend_of(nodeid: str) -> str | None:
    """ "embedded" or "production" for a backend-parametrised test's ID."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    ids = nodeid.rsplit("[", 1)[1][:-1].split("-")
    return next((b for b in ("production", "embedded") if b in ids), None)


class BackendReport:
    """A pytest plugin: the header says which backends run, the summary what they did."""

    def __init__(self, found: Found, environ: MutableMapping[str, str]) -> None:
        self.found = found
        self.line = header(found, environ)
        self.counts: dict[str, dict[str, int]] = {}

    def pytest_report_header(self) -> str:
        return self.line

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        backend = backend_of(report.nodeid)
        if backend is None or not (report.when == "call" or report.outcome != "passed"):
            return
        if report.when == "teardown" and report.outcome == "skipped":
            return
        tally = self.counts.setdefault(backend, {})
        tally[report.outcome] = tally.get(report.outcome, 0) + 1

    def pytest_terminal_summary(self, terminalreporter: TerminalReporter) -> None:
        terminalreporter.section("storage backends")
        terminalreporter.write_line(self.line)
        for backend in ("embedded", "production"):
            tally = self.counts.get(backend)
            if tally:
                done = ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
                terminalreporter.write_line(f"  {backend}: {done}")
        if not self.found.complete and self.counts.get("production"):
            terminalreporter.write_line(
                "  the production backend's tests did not run: start PostgreSQL and Redis on "
                f"their default ports or set {POSTGRES_ENV} and {REDIS_ENV} (CI=true fails them)"
            )
