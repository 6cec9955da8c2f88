"""`make test` finds PostgreSQL and Redis on their default loopback ports without variables, and
says which backends ran and which were absent (tests/server_discovery.py)."""

from __future__ import annotations

import pytest

from tests import server_discovery as sd
from tests.backends import POSTGRES_ENV, REDIS_ENV, servers_missing


def test_variables_win_and_are_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sd, "postgres_answers", pytest.fail)
    monkeypatch.setattr(sd, "redis_answers", pytest.fail)
    environ = {POSTGRES_ENV: "postgresql://me:secret@db:5432/x", REDIS_ENV: "redis://r:6379/1"}
    found = sd.discover(environ)
    assert (found.postgres, found.redis) == ("variable", "variable")
    line = sd.header(found, environ)
    assert "postgresql://me:***@db:5432/x [variable]" in line
    assert "secret" not in line


def test_default_ports_are_used_when_they_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []

    def answers(url: str) -> bool:
        tried.append(url)
        return url == "postgresql://alice@127.0.0.1:5432/test"

    monkeypatch.setattr(sd, "_current_user", lambda: "alice")
    monkeypatch.setattr(sd, "postgres_answers", answers)
    monkeypatch.setattr(sd, "redis_answers", lambda url: url == sd.DEFAULT_REDIS)
    environ: dict[str, str] = {}
    found = sd.discover(environ)
    assert tried[:2] == [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://postgres@127.0.0.1:5432/postgres",
    ]
    assert environ == {
        POSTGRES_ENV: "postgresql://alice@127.0.0.1:5432/test",
        REDIS_ENV: "redis://127.0.0.1:6379/0",
    }
    assert found.complete
    assert "[default port]" in sd.header(found, environ)


def test_absent_servers_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sd, "postgres_answers", lambda url: False)
    monkeypatch.setattr(sd, "redis_answers", lambda url: True)
    environ: dict[str, str] = {}
    found = sd.discover(environ)
    assert not found.complete
    assert POSTGRES_ENV not in environ
    line = sd.header(found, environ)
    assert "production (PostgreSQL + Redis) ABSENT" in line
    assert "no PostgreSQL answers at 127.0.0.1:5432" in line


def test_probes_of_closed_ports_answer_no() -> None:
    assert not sd.postgres_answers("postgresql://postgres@127.0.0.1:1/test")
    assert not sd.redis_answers("redis://127.0.0.1:1/0")


def test_ci_fails_rather_than_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI never skips"):
        servers_missing("not found")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"127\.0\.0\.1:5432"):
        servers_missing("not found")


def test_backend_of_a_test_id() -> None:
    assert sd.backend_of("tests/x.py::test_a[production]") == "production"
    assert sd.backend_of("tests/x.py::test_a[embedded-th]") == "embedded"
    assert sd.backend_of("tests/x.py::test_a[th]") is None
    assert sd.backend_of("tests/x.py::test_a") is None
