"""The SQL engine and session factory, and running the Alembic migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from idp.settings import REPO_ROOT

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
KEPT = "kept_on_rollback"
log = logging.getLogger(__name__)


def keep_on_rollback(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """Write this row even if the session's unit of work rolls back (see Database.session)."""
    session.info.setdefault(KEPT, []).append((model, values))


def make_engine(url: str, pool_size: int = 10, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping: a connection that PostgreSQL dropped (a restart, a failover, an idle
    # timeout) is replaced before a request uses it, so the first request after is no error.
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_pre_ping=True,
    )


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        target = Path(path) if Path(path).is_absolute() else REPO_ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def sqlite_url_for(url: str) -> str:
    """Relative SQLite paths are relative to the repository, whatever the working directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(REPO_ROOT / url[len(prefix) :])
    return url


class Database:
    def __init__(self, url: str, pool_size: int = 10, echo: bool = False) -> None:
        self.url = sqlite_url_for(url)
        self.engine = make_engine(self.url, pool_size, echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = self.engine
        if not self.url.startswith("sqlite"):
            self.read_engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_recycle=1800,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,
                pool_pre_ping=True,
            )
        self._readers = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error. Rows registered with
        keep_on_rollback (a refusal's audit row) are written in a transaction of their own
        when the unit of work rolls back."""
        with self._sessions() as session:
            try:
                with session.begin():
                    yield session
            except BaseException:
                kept = session.info.pop(KEPT, [])
                if kept:
                    self._write_kept(kept)
                raise

    def _write_kept(self, kept: list[tuple[type[Any], dict[str, Any]]]) -> None:
        try:
            with self._sessions() as session, session.begin():
                for model, values in kept:
                    session.add(model(**values))
        except Exception:
            log.exception("could not write %d rows kept from a rolled-back unit of work", len(kept))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Reads only, without a transaction round trip (autocommit) where the database allows."""
        with self._readers() as session:
            yield session

    def ping(self) -> None:
        """Raises unless the database answers a trivial query (readiness)."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
